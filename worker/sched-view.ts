/**
 * Scheduler view: per-CPU task slices (who ran when), wakeup latency and per-task totals, all
 * computed incrementally from sched_switch and sched_waking/wakeup/wakeup_new records.
 *
 * Cross-CPU order. A wakeup on CPU 0 and the switch-in it causes on CPU 1 arrive in different
 * pages, in any interleaving. Each page's sched records are extracted into a small per-CPU
 * pending queue; they are processed in global (ts, cpu) order only up to the *horizon*: the
 * oldest "last timestamp seen" over the CPUs that are still talking. So the answer does not
 * depend on how pages of different CPUs interleave. A CPU that stays `quietLagNs` behind the
 * newest CPU (idle, nothing traced) stops holding the horizon; records it delivers later are
 * processed on arrival and counted as `lateRecords`. `flush()` processes everything (end of a
 * replay, tests).
 *
 * Task states (per pid, pid 0 = idle excluded from task totals):
 *   sleeping ──waking/wakeup──▶ runnable(wakeup) ──switch-in──▶ running ──switch-out──┐
 *       ▲                       runnable(preempted, prev_state R) ◀──────────────────┤
 *       └──────────────────────────────────────────── prev_state S/D/… ◀─────────────┘
 * Wakeup latency = switch-in − first wakeup after the task went to sleep; it goes into the
 * histogram of the CPU the task was switched in on.
 */
import type {CommTable} from './comm-table.ts';
import {ColumnSet, type Column} from './growable.ts';
import {LatencyHistogram, type HistogramData} from './latency-histogram.ts';
import type {DecodedPage, PageSink} from './page-sink.ts';
import {SchedKind, type SchedSchema} from './sched-schema.ts';

/** How a slice's task came to run: what `waitNs` measures. */
export const WaitKind = {UNKNOWN: 0, WAKEUP: 1, PREEMPTED: 2, START: 3} as const;
const RUNNING = 1;
const RUNNABLE = 2;
const SLEEPING = 3;
/** prev_state bits of real sleep states (TASK_REPORT); 0 = running (preempted). */
const STATE_SLEEP_MASK = 0xff;

export const DEFAULT_QUIET_LAG_NS = 1e9;

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

/** Per-CPU running slices. endState = prev_state at switch-out (-1 while still running). */
export class SliceTable {
  readonly rows = new ColumnSet();
  readonly startNs = this.rows.add(Float64Array);
  readonly endNs = this.rows.add(Float64Array);
  readonly pid = this.rows.add(Int32Array);
  readonly endState = this.rows.add(Int32Array);
  /** Time runnable before this slice (wakeup latency or preempted wait), -1 unknown. */
  readonly waitNs = this.rows.add(Float64Array);
  readonly waitKind = this.rows.add(Uint8Array);
}

class CpuState {
  readonly slices = new SliceTable();
  readonly histogram = new LatencyHistogram();
  // pending sched records of this CPU, in arrival order
  readonly pending = new ColumnSet();
  readonly pTs: Column<Float64Array> = this.pending.add(Float64Array);
  readonly pKind: Column<Uint8Array> = this.pending.add(Uint8Array);
  readonly pA: Column<Int32Array> = this.pending.add(Int32Array);
  readonly pB: Column<Int32Array> = this.pending.add(Int32Array);
  readonly pState: Column<Int32Array> = this.pending.add(Int32Array);
  firstTsNs = Infinity;
  lastTsNs = -Infinity;
  /** The task on the CPU since the last processed switch (-1: none seen yet). */
  curPid = -1;
  curStartNs = 0;
  curWaitNs = -1;
  curWaitKind: number = WaitKind.START;
  constructor(readonly cpu: number) {}
}

export interface SliceColumnsOut {
  length: number;
  startNs: Float64Array;
  endNs: Float64Array;
  pid: Int32Array;
  endState: Int32Array;
  waitNs: Float64Array;
  waitKind: Uint8Array;
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

export interface SchedData {
  /** Records before this time (all CPUs) are processed. */
  horizonNs: number;
  pendingRecords: number;
  lateRecords: number;
  cpus: {cpu: number; slices: SliceColumnsOut; histogram: HistogramData}[];
  tasks: TaskTotals;
}

export class SchedView implements PageSink {
  private schema: SchedSchema | undefined;
  private le = true;
  private cpuStates: (CpuState | undefined)[] = [];
  private knownCpus: number[] = [];
  private tasks = new Map<number, TaskRec>();
  private globalFirstTsNs = Infinity;
  private lastProcessedTsNs = -Infinity;
  horizonNs = -Infinity;
  lateRecords = 0;
  /** Switches whose prev_pid was not the task we thought was on that CPU (lost events). */
  mismatchedSwitches = 0;

  constructor(
    readonly comms: CommTable,
    public quietLagNs = DEFAULT_QUIET_LAG_NS,
  ) {}

  setSchema(schema: SchedSchema | undefined, littleEndian: boolean): void {
    this.schema = schema;
    this.le = littleEndian;
  }

  /** CPUs the source has: each holds the horizon until it delivers or goes quiet. */
  setCpus(cpus: number[]): void {
    this.knownCpus = cpus.slice().sort((a, b) => a - b);
  }

  reset(): void {
    this.cpuStates = [];
    this.tasks.clear();
    this.globalFirstTsNs = Infinity;
    this.lastProcessedTsNs = -Infinity;
    this.horizonNs = -Infinity;
    this.lateRecords = 0;
    this.mismatchedSwitches = 0;
  }

  private stateOf(cpu: number): CpuState {
    let s = this.cpuStates[cpu];
    if (!s) this.cpuStates[cpu] = s = new CpuState(cpu);
    return s;
  }

  handlePage(page: DecodedPage): void {
    const n = page.columns.length;
    if (n === 0) return;
    const cs = this.stateOf(page.cpu);
    const ts = page.columns.tsNs;
    if (ts[0] < cs.firstTsNs) cs.firstTsNs = ts[0];
    if (ts[n - 1] > cs.lastTsNs) cs.lastTsNs = ts[n - 1];
    if (ts[0] < this.globalFirstTsNs) this.globalFirstTsNs = ts[0];
    const sc = this.schema;
    if (sc) this.extract(page, cs, sc);
    this.advance(false);
  }

  private extract(page: DecodedPage, cs: CpuState, sc: SchedSchema): void {
    const b = page.bytes;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const le = this.le;
    const {tsNs, payloadOffset, payloadLen} = page.columns;
    const kinds = sc.kindById;
    for (let i = 0; i < page.columns.length; i++) {
      const o = payloadOffset[i];
      if (payloadLen[i] < 8) continue;
      const kind = kinds[le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1]];
      if (kind === SchedKind.NONE) continue;
      const len = payloadLen[i];
      let a: number;
      let bb = 0;
      let state = 0;
      if (kind === SchedKind.SWITCH) {
        if (sc.nextPid + 4 > len || sc.prevState + 4 > len) continue;
        a = v.getInt32(o + sc.prevPid, le);
        bb = v.getInt32(o + sc.nextPid, le);
        // Low 32 bits of the long (the high word in big-endian order comes first).
        const so = o + sc.prevState + (!le && sc.prevStateSize === 8 ? 4 : 0);
        state = v.getInt32(so, le);
        if (sc.prevComm >= 0) this.comms.setFromBytes(a, b, o + sc.prevComm, 16);
        if (sc.nextComm >= 0) this.comms.setFromBytes(bb, b, o + sc.nextComm, 16);
      } else {
        if (sc.wakePid + 4 > len) continue;
        a = v.getInt32(o + sc.wakePid, le);
        if (sc.wakeComm >= 0) this.comms.setFromBytes(a, b, o + sc.wakeComm, 16);
      }
      const row = cs.pending.beginRow();
      cs.pTs.array[row] = tsNs[i];
      cs.pKind.array[row] = kind;
      cs.pA.array[row] = a;
      cs.pB.array[row] = bb;
      cs.pState.array[row] = state;
    }
  }

  /** Process every pending record, horizon or not (end of stream). */
  flush(): void {
    this.advance(true);
  }

  private computeHorizon(): number {
    let maxLast = -Infinity;
    for (const cs of this.cpuStates) if (cs && cs.lastTsNs > maxLast) maxLast = cs.lastTsNs;
    const cpus = this.knownCpus.length > 0 ? this.knownCpus : this.seenCpus();
    let h = Infinity;
    for (const cpu of cpus) {
      const cs = this.cpuStates[cpu];
      const last = cs && cs.lastTsNs > -Infinity ? cs.lastTsNs : this.globalFirstTsNs;
      if (maxLast - last > this.quietLagNs) continue; // quiet: does not hold the horizon
      if (!cs || cs.lastTsNs === -Infinity) return -Infinity; // never delivered, not yet quiet
      if (last < h) h = last;
    }
    return h === Infinity ? maxLast : h;
  }

  private seenCpus(): number[] {
    const out: number[] = [];
    this.cpuStates.forEach((cs, cpu) => cs && out.push(cpu));
    return out;
  }

  private advance(all: boolean): void {
    const h = all ? Infinity : this.computeHorizon();
    if (h > this.horizonNs) this.horizonNs = h;
    const states = this.cpuStates.filter((s): s is CpuState => s !== undefined);
    for (;;) {
      let best: CpuState | undefined;
      let bestTs = Infinity;
      for (const cs of states) {
        const p = cs.pending;
        if (p.head < p.length) {
          const t = cs.pTs.array[p.head];
          if (t < bestTs) {
            bestTs = t;
            best = cs;
          }
        }
      }
      // Strictly before the horizon: a CPU may still deliver another record at exactly `h`.
      if (!best || !(bestTs < h || all)) break;
      const p = best.pending;
      const r = p.head;
      if (bestTs < this.lastProcessedTsNs) this.lateRecords++;
      else this.lastProcessedTsNs = bestTs;
      if (best.pKind.array[r] === SchedKind.SWITCH) {
        this.onSwitch(best, bestTs, best.pA.array[r], best.pB.array[r], best.pState.array[r]);
      } else {
        this.onWakeup(bestTs, best.pA.array[r]);
      }
      p.dropBefore(r + 1);
    }
  }

  private task(pid: number): TaskRec {
    let t = this.tasks.get(pid);
    if (!t) this.tasks.set(pid, (t = new TaskRec()));
    return t;
  }

  private onWakeup(ts: number, pid: number): void {
    if (pid === 0) return;
    const t = this.task(pid);
    if (t.state === RUNNING) return;
    if (t.state === RUNNABLE) return; // already woken (waking then wakeup) or preempted
    if (t.state === SLEEPING) t.sleepingNs += ts - t.sinceNs;
    t.state = RUNNABLE;
    t.sinceNs = ts;
    t.waitKind = WaitKind.WAKEUP;
    t.wakeups++;
  }

  private onSwitch(cs: CpuState, ts: number, prev: number, next: number, state: number): void {
    // Close the running slice of this CPU.
    const sl = cs.slices;
    if (cs.curPid >= 0 || cs.firstTsNs < ts) {
      if (cs.curPid >= 0 && cs.curPid !== prev) this.mismatchedSwitches++;
      const row = sl.rows.beginRow();
      sl.startNs.array[row] = cs.curPid >= 0 ? cs.curStartNs : cs.firstTsNs;
      sl.endNs.array[row] = ts;
      sl.pid.array[row] = cs.curPid >= 0 ? cs.curPid : prev;
      sl.endState.array[row] = state;
      sl.waitNs.array[row] = cs.curPid >= 0 ? cs.curWaitNs : -1;
      sl.waitKind.array[row] = cs.curPid >= 0 ? cs.curWaitKind : WaitKind.START;
    }
    if (prev !== 0) {
      const t = this.task(prev);
      if (t.state === RUNNING) t.runningNs += ts - t.sinceNs;
      t.state = (state & STATE_SLEEP_MASK) === 0 ? RUNNABLE : SLEEPING;
      t.waitKind = t.state === RUNNABLE ? WaitKind.PREEMPTED : WaitKind.UNKNOWN;
      t.sinceNs = ts;
    }
    let waitNs = -1;
    let waitKind: number = WaitKind.UNKNOWN;
    if (next !== 0) {
      const t = this.task(next);
      if (t.state === RUNNABLE) {
        waitNs = ts - t.sinceNs;
        waitKind = t.waitKind;
        t.runnableNs += waitNs;
        if (waitKind === WaitKind.WAKEUP) {
          cs.histogram.add(waitNs);
          t.latencyCount++;
          t.latencySumNs += waitNs;
          if (waitNs > t.latencyMaxNs) t.latencyMaxNs = waitNs;
        }
      } else if (t.state === SLEEPING) {
        t.sleepingNs += ts - t.sinceNs;
      }
      t.state = RUNNING;
      t.sinceNs = ts;
      t.switchIns++;
    }
    cs.curPid = next;
    cs.curStartNs = ts;
    cs.curWaitNs = waitNs;
    cs.curWaitKind = waitKind;
  }

  /** Drop slices that ended before `tsNs` on `cpu` (the window's oldest event). */
  trim(cpu: number, tsNs: number): void {
    const cs = this.cpuStates[cpu];
    if (!cs) return;
    const rows = cs.slices.rows;
    const end = cs.slices.endNs.array;
    let h = rows.head;
    while (h < rows.length && end[h] < tsNs) h++;
    rows.dropBefore(h);
  }

  /** Live slice table of `cpu` (no copy; rows head..length-1) and the open slice. */
  slicesOf(
    cpu: number,
  ):
    | {
        table: SliceTable;
        open:
          | {startNs: number; endNs: number; pid: number; waitNs: number; waitKind: number}
          | undefined;
      }
    | undefined {
    const cs = this.cpuStates[cpu];
    if (!cs) return undefined;
    let open;
    if (cs.curPid >= 0) {
      const p = cs.pending;
      const nextPending = p.head < p.length ? cs.pTs.array[p.head] : Infinity;
      const endNs = Math.min(cs.lastTsNs, nextPending);
      if (endNs > cs.curStartNs) {
        open = {
          startNs: cs.curStartNs,
          endNs,
          pid: cs.curPid,
          waitNs: cs.curWaitNs,
          waitKind: cs.curWaitKind,
        };
      }
    }
    return {table: cs.slices, open};
  }

  cpus(): number[] {
    return this.seenCpus();
  }

  data(): SchedData {
    let pendingRecords = 0;
    const cpus: SchedData['cpus'] = [];
    for (const cs of this.cpuStates) {
      if (!cs) continue;
      pendingRecords += cs.pending.count;
      cpus.push({cpu: cs.cpu, slices: this.copySlices(cs.cpu), histogram: cs.histogram.data()});
    }
    return {
      horizonNs: this.horizonNs,
      pendingRecords,
      lateRecords: this.lateRecords,
      cpus,
      tasks: this.taskTotals(),
    };
  }

  /** Slices of `cpu` as fresh columns (the open slice last, endState -1). */
  copySlices(cpu: number): SliceColumnsOut {
    const s = this.slicesOf(cpu);
    const rows = s ? s.table.rows : undefined;
    const n = (rows ? rows.count : 0) + (s?.open ? 1 : 0);
    const out: SliceColumnsOut = {
      length: n,
      startNs: new Float64Array(n),
      endNs: new Float64Array(n),
      pid: new Int32Array(n),
      endState: new Int32Array(n),
      waitNs: new Float64Array(n),
      waitKind: new Uint8Array(n),
    };
    if (!s || !rows) return out;
    const t = s.table;
    const h = rows.head;
    const m = rows.count;
    out.startNs.set(t.startNs.array.subarray(h, h + m));
    out.endNs.set(t.endNs.array.subarray(h, h + m));
    out.pid.set(t.pid.array.subarray(h, h + m));
    out.endState.set(t.endState.array.subarray(h, h + m));
    out.waitNs.set(t.waitNs.array.subarray(h, h + m));
    out.waitKind.set(t.waitKind.array.subarray(h, h + m));
    if (s.open) {
      out.startNs[m] = s.open.startNs;
      out.endNs[m] = s.open.endNs;
      out.pid[m] = s.open.pid;
      out.endState[m] = -1;
      out.waitNs[m] = s.open.waitNs;
      out.waitKind[m] = s.open.waitKind;
    }
    return out;
  }

  taskTotals(): TaskTotals {
    const pids = [...this.tasks.keys()].sort((a, b) => a - b);
    const n = pids.length;
    const out: TaskTotals = {
      length: n,
      pid: Int32Array.from(pids),
      runningNs: new Float64Array(n),
      runnableNs: new Float64Array(n),
      sleepingNs: new Float64Array(n),
      switchIns: new Float64Array(n),
      wakeups: new Float64Array(n),
      latencyCount: new Float64Array(n),
      latencySumNs: new Float64Array(n),
      latencyMaxNs: new Float64Array(n),
    };
    pids.forEach((pid, i) => {
      const t = this.tasks.get(pid)!;
      out.runningNs[i] = t.runningNs;
      out.runnableNs[i] = t.runnableNs;
      out.sleepingNs[i] = t.sleepingNs;
      out.switchIns[i] = t.switchIns;
      out.wakeups[i] = t.wakeups;
      out.latencyCount[i] = t.latencyCount;
      out.latencySumNs[i] = t.latencySumNs;
      out.latencyMaxNs[i] = t.latencyMaxNs;
    });
    return out;
  }
}
