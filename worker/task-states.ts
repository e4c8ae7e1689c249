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
 * the interval a task is in now is added when it ends.
 */

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
}

export interface TaskTotals {
  length: number;
  pid: Int32Array;
  runningNs: Float64Array;
  runnableNs: Float64Array;
  sleepingNs: Float64Array;
  switchIns: Float64Array;
  wakeups: Float64Array;
  latencyCount: Float64Array;
  latencySumNs: Float64Array;
  latencyMaxNs: Float64Array;
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

  clear(): void {
    this.tasks.clear();
  }

  private task(pid: number): TaskRec {
    let t = this.tasks.get(pid);
    if (!t) this.tasks.set(pid, (t = new TaskRec()));
    return t;
  }

  wakeup(ts: number, pid: number): void {
    if (pid === 0) return;
    const t = this.task(pid);
    // Running: nothing to do. Runnable: already woken (waking, then wakeup) or preempted.
    if (t.state === RUNNING || t.state === RUNNABLE) return;
    if (t.state === SLEEPING) t.sleepingNs += ts - t.sinceNs;
    t.state = RUNNABLE;
    t.sinceNs = ts;
    t.waitKind = WaitKind.WAKEUP;
    t.wakeups++;
  }

  /** `pid` left a CPU with `prevState` (sched_switch prev_state). */
  switchOut(ts: number, pid: number, prevState: number): void {
    if (pid === 0) return;
    const t = this.task(pid);
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
  switchIn(ts: number, pid: number): number {
    this.waitNs = -1;
    this.waitKind = WaitKind.UNKNOWN;
    if (pid === 0) return -1;
    const t = this.task(pid);
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
      }
    } else if (t.state === SLEEPING) {
      t.sleepingNs += ts - t.sinceNs;
    }
    t.state = RUNNING;
    t.sinceNs = ts;
    t.switchIns++;
    return latency;
  }

  /** Totals of every task seen, by pid ascending, as fresh columns. */
  totals(): TaskTotals {
    const pids = [...this.tasks.keys()].sort((a, b) => a - b);
    const n = pids.length;
    const out = {length: n, pid: Int32Array.from(pids)} as TaskTotals;
    for (const k of TOTAL_FIELDS) out[k] = new Float64Array(n);
    pids.forEach((pid, i) => {
      const t = this.tasks.get(pid)!;
      for (const k of TOTAL_FIELDS) out[k][i] = t[k];
    });
    return out;
  }
}
