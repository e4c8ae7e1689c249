/**
 * Per-task scheduler state and totals, driven by wakeups and switches in global time order
 * (sched-view.ts does the ordering). pid 0 is the per-CPU idle task and is not tracked.
 *
 *   sleeping ──waking/wakeup──▶ runnable(wakeup) ──switch-in──▶ running ──switch-out──┐
 *       ▲                       runnable(preempted, prev_state R) ◀──────────────────┤
 *       └──────────────────────────────────────────── prev_state S/D/… ◀─────────────┘
 *
 * Wakeup latency = switch-in − the first wakeup after the task went to sleep (a sched_wakeup
 * after sched_waking for the same wakeup changes nothing). Totals count closed intervals only:
 * the interval a task is in now is added when it ends. Each task also keeps a log2 histogram of
 * its wakeup latencies (the buckets of latency-histogram.ts).
 *
 * A task's state only moves forward in time: a record older than the state it would leave
 * (possible only when a quiet CPU delivers late, see sched-view.ts) is stale and is counted in
 * `staleRecords` instead of applied, so no interval is ever negative.
 */
import {LATENCY_BUCKETS, LatencyHistogram, latencyBucketLowNs} from './latency-histogram.ts';

/** How a task came to run: what a slice's `waitNs` measures. */
export const WaitKind = {UNKNOWN: 0, WAKEUP: 1, PREEMPTED: 2, START: 3} as const;

const RUNNING = 1;
const RUNNABLE = 2;
const SLEEPING = 3;
/** prev_state bits of real sleep states (TASK_REPORT); 0 = still runnable (preempted). */
const STATE_SLEEP_MASK = 0xff;

class TaskRec {
  state = 0;
  sinceNs = 0;
  waitKind: number = WaitKind.UNKNOWN;
  runningNs = 0;
  runnableNs = 0;
  sleepingNs = 0;
  switchIns = 0;
  wakeups = 0;
  latencyCount = 0;
  latencySumNs = 0;
  latencyMaxNs = 0;
  /** Comm (string index) the task's latest record carried, -1 none. */
  comm = -1;
  /** Wakeup latency counts per log2 bucket (allocated at the first latency). */
  latencyBuckets: Float64Array | undefined;
}

export interface TaskTotals {
  length: number;
  pid: Int32Array;
  /** Comm of each pid (saved_cmdlines, then the newest sched record), '' when unknown. */
  comm: string[];
  runningNs: Float64Array;
  runnableNs: Float64Array;
  sleepingNs: Float64Array;
  switchIns: Float64Array;
  wakeups: Float64Array;
  latencyCount: Float64Array;
  latencySumNs: Float64Array;
  latencyMaxNs: Float64Array;
  /** Lower bound (ns) of each latency bucket, as in the per-CPU histograms. */
  bucketLowNs: Float64Array;
  /** Per-task wakeup latency histograms, row-major: task i's counts are at [i·B, (i+1)·B). */
  latencyHistograms: Float64Array;
  /** B: buckets per task row. */
  buckets: number;
}

const TOTAL_FIELDS = [
  'runningNs',
  'runnableNs',
  'sleepingNs',
  'switchIns',
  'wakeups',
  'latencyCount',
  'latencySumNs',
  'latencyMaxNs',
] as const;

export class TaskStates {
  private tasks = new Map<number, TaskRec>();
  /** Set by `switchIn`: how long the task waited and why (-1 / UNKNOWN when not known). */
  waitNs = -1;
  waitKind: number = WaitKind.UNKNOWN;
  /** Records older than their task's current state, not applied (see the header). */
  staleRecords = 0;

  clear(): void {
    this.tasks.clear();
    this.staleRecords = 0;
  }

  private task(pid: number): TaskRec {
    let t = this.tasks.get(pid);
    if (!t) this.tasks.set(pid, (t = new TaskRec()));
    return t;
  }

  wakeup(ts: number, pid: number, comm = -1): void {
    if (pid === 0) return;
    const t = this.task(pid);
    if (ts < t.sinceNs) {
      this.staleRecords++;
      return;
    }
    if (comm >= 0) t.comm = comm;
    // Running: nothing to do. Runnable: already woken (waking, then wakeup) or preempted.
    if (t.state === RUNNING || t.state === RUNNABLE) return;
    if (t.state === SLEEPING) t.sleepingNs += ts - t.sinceNs;
    t.state = RUNNABLE;
    t.sinceNs = ts;
    t.waitKind = WaitKind.WAKEUP;
    t.wakeups++;
  }

  /** `pid` left a CPU with `prevState` (sched_switch prev_state). */
  switchOut(ts: number, pid: number, prevState: number, comm = -1): void {
    if (pid === 0) return;
    const t = this.task(pid);
    if (ts < t.sinceNs) {
      this.staleRecords++;
      return;
    }
    if (comm >= 0) t.comm = comm;
    if (t.state === RUNNING) t.runningNs += ts - t.sinceNs;
    const preempted = (prevState & STATE_SLEEP_MASK) === 0;
    t.state = preempted ? RUNNABLE : SLEEPING;
    t.waitKind = preempted ? WaitKind.PREEMPTED : WaitKind.UNKNOWN;
    t.sinceNs = ts;
  }

  /**
   * `pid` got a CPU. Sets `waitNs`/`waitKind`; returns the wakeup latency (ns) when it was
   * woken, else -1.
   */
  switchIn(ts: number, pid: number, comm = -1): number {
    this.waitNs = -1;
    this.waitKind = WaitKind.UNKNOWN;
    if (pid === 0) return -1;
    const t = this.task(pid);
    if (ts < t.sinceNs) {
      this.staleRecords++;
      return -1;
    }
    if (comm >= 0) t.comm = comm;
    let latency = -1;
    if (t.state === RUNNABLE) {
      this.waitNs = ts - t.sinceNs;
      this.waitKind = t.waitKind;
      t.runnableNs += this.waitNs;
      if (t.waitKind === WaitKind.WAKEUP) {
        latency = this.waitNs;
        t.latencyCount++;
        t.latencySumNs += latency;
        if (latency > t.latencyMaxNs) t.latencyMaxNs = latency;
        t.latencyBuckets ??= new Float64Array(LATENCY_BUCKETS);
        t.latencyBuckets[LatencyHistogram.bucketOf(latency)]++;
      }
    } else if (t.state === SLEEPING) {
      t.sleepingNs += ts - t.sinceNs;
    }
    t.state = RUNNING;
    t.sinceNs = ts;
    t.switchIns++;
    return latency;
  }

  /**
   * Totals of every task seen, by pid ascending, as fresh columns. A task's comm is the one its
   * latest record (in time order) carried, `commString` of that index; else `commOfPid`.
   */
  totals(
    commString: (index: number) => string = () => '',
    commOfPid: (pid: number) => string | undefined = () => undefined,
  ): TaskTotals {
    const pids = [...this.tasks.keys()].sort((a, b) => a - b);
    const n = pids.length;
    const out = {
      length: n,
      pid: Int32Array.from(pids),
      comm: pids.map((pid) => {
        const c = this.tasks.get(pid)!.comm;
        return c >= 0 ? commString(c) : (commOfPid(pid) ?? '');
      }),
      bucketLowNs: latencyBucketLowNs(),
      latencyHistograms: new Float64Array(n * LATENCY_BUCKETS),
      buckets: LATENCY_BUCKETS,
    } as TaskTotals;
    for (const k of TOTAL_FIELDS) out[k] = new Float64Array(n);
    pids.forEach((pid, i) => {
      const t = this.tasks.get(pid)!;
      for (const k of TOTAL_FIELDS) out[k][i] = t[k];
      if (t.latencyBuckets) out.latencyHistograms.set(t.latencyBuckets, i * LATENCY_BUCKETS);
    });
    return out;
  }
}
