/**
 * Where the CPU went during a measured run, per thread: time running and time waiting in the
 * run queue (`/proc/<pid>/task/<tid>/schedstat`, fields 1 and 2, ns). On a saturated machine a
 * latency tail is made by threads that are runnable but not running; a CPU profile cannot show
 * that (it charges the wait to whatever function runs when the thread resumes), this can.
 * Also, from `/proc/<pid>/task/<tid>/stat`, the part of the running time spent in the kernel
 * (stime, in clock ticks) and the minor page faults: on the project VM a first write to fresh
 * memory costs 10–60 µs per 4 KiB, and the page's workers spent up to half their time there
 * (docs/benchmarks.md, session 12), which a V8 profile shows only inside whatever JS wrote.
 *
 * Take `snapshotThreads()` at the start and end of the window (while the processes of interest
 * are still alive: a thread that exited before the second snapshot is not counted) and print
 * `formatSchedSplit(schedSplit(a, b))`.
 */
import {readdirSync, readFileSync} from 'node:fs';

export interface ThreadSample {
  pid: number;
  tid: number;
  /** Process name / thread name (`comm` of each). */
  name: string;
  runNs: number;
  waitNs: number;
  /** Time in the kernel (stime), ms; tick-grained (10 ms at USER_HZ 100). */
  sysMs: number;
  /** Minor page faults (minflt). */
  minorFaults: number;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux, fixed by the ABI). */
const USER_HZ = 100;

/**
 * Field `n` (1-based, as in proc(5)) of a `/proc/<pid>[/task/<tid>]/stat` line, for n ≥ 3.
 * comm (field 2) may hold spaces and parentheses: the fields after it start after the last ") ".
 */
export function statField(line: string, n: number): number {
  return Number(line.slice(line.lastIndexOf(') ') + 2).split(' ')[n - 3]);
}

/** minflt and stime of a `/proc/<pid>/task/<tid>/stat` line (fields 10 and 15). */
export function parseTaskStat(line: string): {minorFaults: number; sysMs: number} {
  return {minorFaults: statField(line, 10), sysMs: (statField(line, 15) * 1000) / USER_HZ};
}

/** Every thread of every process whose command line matches `cmdline` (default: all). */
export function snapshotThreads(cmdline: RegExp = /./): Map<number, ThreadSample> {
  const out = new Map<number, ThreadSample>();
  for (const p of readdirSync('/proc')) {
    const pid = Number(p);
    if (!Number.isInteger(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (!cmdline.test(cmd)) continue;
      const proc = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      for (const t of readdirSync(`/proc/${pid}/task`)) {
        const tid = Number(t);
        const thread = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
        const stat = parseTaskStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
        out.set(tid, {
          pid,
          tid,
          name: `${proc}/${thread}`,
          runNs: Number(run),
          waitNs: Number(wait),
          ...stat,
        });
      }
    } catch {
      // The process or thread ended while we looked: it is simply not in this snapshot.
    }
  }
  return out;
}

export interface SchedRow {
  pid: number;
  tid: number;
  name: string;
  runMs: number;
  waitMs: number;
  /** Of runMs, in the kernel. */
  sysMs: number;
  minorFaults: number;
}

/** Run and wait time per thread between two snapshots, busiest first; below `minMs` left out. */
export function schedSplit(
  before: Map<number, ThreadSample>,
  after: Map<number, ThreadSample>,
  minMs = 20,
): SchedRow[] {
  const rows: SchedRow[] = [];
  for (const [tid, b] of after) {
    const a = before.get(tid);
    if (!a || a.pid !== b.pid) continue; // a new thread (or a reused tid): no start to count from
    const runMs = (b.runNs - a.runNs) / 1e6;
    const waitMs = (b.waitNs - a.waitNs) / 1e6;
    const sysMs = b.sysMs - a.sysMs;
    const minorFaults = b.minorFaults - a.minorFaults;
    if (runMs + waitMs >= minMs)
      rows.push({pid: b.pid, tid, name: b.name, runMs, waitMs, sysMs, minorFaults});
  }
  return rows.sort((x, y) => y.runMs - x.runMs);
}

/**
 * A table of the rows and their totals, with the window's length for scale. `procNames` names
 * processes whose own name says little (every Node process is "node").
 */
export function formatSchedSplit(
  rows: SchedRow[],
  windowMs: number,
  label = '',
  procNames: ReadonlyMap<number, string> = new Map(),
): string {
  const nameOf = (r: SchedRow) => {
    const own = procNames.get(r.pid);
    return own ? `${own}/${r.name.slice(r.name.indexOf('/') + 1)}` : r.name;
  };
  const lines = rows.map(
    (r) =>
      `  ${nameOf(r).padEnd(34)} tid ${String(r.tid).padStart(7)}  run ${r.runMs.toFixed(0).padStart(6)} ms` +
      `  waiting ${r.waitMs.toFixed(0).padStart(6)} ms` +
      `  kernel ${r.sysMs.toFixed(0).padStart(5)} ms  minor faults ${String(r.minorFaults).padStart(6)}`,
  );
  const run = rows.reduce((n, r) => n + r.runMs, 0);
  const wait = rows.reduce((n, r) => n + r.waitMs, 0);
  const sys = rows.reduce((n, r) => n + r.sysMs, 0);
  const faults = rows.reduce((n, r) => n + r.minorFaults, 0);
  return (
    `${label}threads over ${(windowMs / 1000).toFixed(1)} s (run = on a CPU, waiting = runnable ` +
    `in the run queue, kernel = the part of run in the kernel):\n${lines.join('\n')}\n` +
    `  total run ${run.toFixed(0)} ms (kernel ${sys.toFixed(0)}), waiting ${wait.toFixed(0)} ms, ` +
    `minor faults ${faults}`
  );
}

/**
 * Snapshots `fromMs` and `toMs` after now (every process; a few ms of this process's time
 * each), resolving to the table between them. For a window inside a load that is running.
 */
export function schedWindow(
  fromMs: number,
  toMs: number,
  label = '',
  procNames: ReadonlyMap<number, string> = new Map(),
): Promise<string> {
  return new Promise((resolve) => {
    let before: Map<number, ThreadSample> | undefined;
    let at = 0;
    setTimeout(() => {
      before = snapshotThreads();
      at = performance.now();
    }, fromMs);
    setTimeout(
      () => {
        const after = snapshotThreads();
        const rows = schedSplit(before!, after);
        resolve(formatSchedSplit(rows, performance.now() - at, label, procNames));
      },
      Math.max(fromMs + 1, toMs),
    );
  });
}

/**
 * The table for a load of `secs` that starts now (markgen's run in the live benches): from 0.3 s
 * in to 0.3 s before its end, while its threads are alive; the server and this process (the
 * bench and its Node consumer) are named as such.
 */
export function schedDuringLoad(secs: number, label: string, serverPid: number): Promise<string> {
  const names = new Map([
    [serverPid, 'server'],
    [process.pid, 'bench+consumer'],
  ]);
  return schedWindow(300, secs * 1000 - 300, label, names);
}
