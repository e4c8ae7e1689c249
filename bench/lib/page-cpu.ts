/**
 * How much CPU a process tree (the browser and every process it started) used over a window:
 * the sum of its threads' time on a CPU (`/proc/<pid>/task/<tid>/schedstat`), as a share of one
 * core, and its busiest thread. Threads that start or end inside the window are not counted
 * (there is no start or end to count from); a page's threads live as long as the page.
 *
 * Why: the dashboard shares the machine it watches. On the project VM the page's threads took
 * most of a core at 1k events/s, and under heavy load that CPU is what the page waits for
 * (docs/benchmarks.md, Session 14).
 */
import {processTree} from './page-nice.ts';
import {schedSplit, snapshotThreads, type ThreadSample} from './sched-split.ts';

/** Every thread of `root` and its descendants now. */
export function snapshotTree(root: number): Map<number, ThreadSample> {
  const pids = new Set(processTree(root));
  const out = new Map<number, ThreadSample>();
  for (const [tid, s] of snapshotThreads()) if (pids.has(s.pid)) out.set(tid, s);
  return out;
}

export interface CpuShare {
  /** All counted threads' time on a CPU over the window, in % of one core. */
  pctOfCore: number;
  /** The thread that ran the most (`process/thread` name) and its share, % of one core. */
  busiest: {name: string; pctOfCore: number};
}

/** The tree's CPU between two snapshots taken `windowMs` apart. */
export function cpuShare(
  before: Map<number, ThreadSample>,
  after: Map<number, ThreadSample>,
  windowMs: number,
): CpuShare {
  const rows = schedSplit(before, after, 0);
  const pct = (ms: number) => (100 * ms) / windowMs;
  const top = rows[0];
  return {
    pctOfCore: pct(rows.reduce((a, r) => a + r.runMs, 0)),
    busiest: top ? {name: top.name, pctOfCore: pct(top.runMs)} : {name: '', pctOfCore: 0},
  };
}

/** Start a window over `root`'s tree; `stop()` gives its CPU share. */
export function cpuWindow(root: number): {stop(): CpuShare} {
  const before = snapshotTree(root);
  const t0 = performance.now();
  return {stop: () => cpuShare(before, snapshotTree(root), performance.now() - t0)};
}
