/**
 * Scheduler view: per-CPU task slices (who ran when), wakeup latency and per-task totals, all
 * computed incrementally from sched_switch and sched_waking/wakeup/wakeup_new records.
 *
 * Cross-CPU order. A wakeup on CPU 0 and the switch-in it causes on CPU 1 arrive in different
 * pages, in any interleaving. Each page's sched records are extracted into a small per-CPU
 * pending queue; they are processed in global (ts, cpu) order only up to the *horizon*: the
 * oldest "last timestamp seen" over the CPUs that are still talking. So the answer does not
 * depend on how pages of different CPUs interleave.
 *
 * Quiet CPUs. An idle CPU traces nothing and would hold the horizon forever, so a CPU stops
 * holding it when it is *quiet*: `quietLagNs` behind the newest CPU in trace time AND silent
 * (no page) for `quietWallMs` of arrival time AND not known to have unread data (its last
 * META said entries − overrun − read > 0). Trace-time lag alone is not evidence of idleness:
 * the sources drain one CPU up to a whole ring per read, so after a pause (client connecting,
 * slow socket) CPU 0 can deliver seconds of data before CPU 1 delivers its first page. Treating
 * CPU 1 as quiet then processed CPU 0's wakeups before CPU 1's older switch-ins (negative
 * runnable times and wakeup latencies). Records a quiet CPU delivers later are processed on
 * arrival and counted as `lateRecords`; task-states.ts drops what is older than a task's
 * current state (`staleTaskRecords`), so no duration is ever negative. `flush()` processes
 * everything (end of a replay, tests).
 *
 * Per-task states and totals live in task-states.ts, slices in slice-table.ts; each wakeup
 * latency also goes into the histogram of the CPU the task was switched in on.
 */
import type {CommTable} from './comm-table.ts';
import {ColumnSet, type Column} from './growable.ts';
import {LatencyHistogram, type HistogramData} from './latency-histogram.ts';
import type {DecodedPage, PageSink} from './page-sink.ts';
import {SchedKind, type SchedSchema} from './sched-schema.ts';
import {SliceTable, copySlices, type OpenSlice, type SliceColumnsOut} from './slice-table.ts';
import {TaskStates, WaitKind, type TaskTotals} from './task-states.ts';

export {WaitKind};
export type {SliceColumnsOut, TaskTotals};

export const DEFAULT_QUIET_LAG_NS = 1e9;
export const DEFAULT_QUIET_WALL_MS = 1000;

const defaultNow = (): number => performance.now();

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
  /** Comm string indexes (CommTable.strings) of pid A / B as the record carried them, or -1. */
  readonly pCommA: Column<Int32Array> = this.pending.add(Int32Array);
  readonly pCommB: Column<Int32Array> = this.pending.add(Int32Array);
  firstTsNs = Infinity;
  lastTsNs = -Infinity;
  /** Arrival time (wall clock, ms) of the CPU's last page. */
  arrivedMs = -Infinity;
  /** The CPU's last META said it had unread events: it is behind, not idle. */
  backlogged = false;
  /** The task on the CPU since the last processed switch (-1: none seen yet). */
  curPid = -1;
  curStartNs = 0;
  curWaitNs = -1;
  curWaitKind: number = WaitKind.START;
  constructor(readonly cpu: number) {}
}

export interface SchedData {
  /** Records before this time (all CPUs) are processed. */
  horizonNs: number;
  pendingRecords: number;
  lateRecords: number;
  /** Records older than the task's known state (from late CPUs), not applied to task totals. */
  staleTaskRecords: number;
  cpus: {cpu: number; slices: SliceColumnsOut; histogram: HistogramData}[];
  tasks: TaskTotals;
}

export class SchedView implements PageSink {
  private schema: SchedSchema | undefined;
  private le = true;
  private cpuStates: (CpuState | undefined)[] = [];
  private knownCpus: number[] = [];
  private readonly tasks = new TaskStates();
  private globalFirstTsNs = Infinity;
  private lastProcessedTsNs = -Infinity;
  private firstArrivalMs = -Infinity;
  horizonNs = -Infinity;
  lateRecords = 0;
  /** Switches whose prev_pid was not the task we thought was on that CPU (lost events). */
  mismatchedSwitches = 0;

  constructor(
    readonly comms: CommTable,
    public quietLagNs = DEFAULT_QUIET_LAG_NS,
    /** Wall clock (ms) for the arrival-time half of the quiet rule; injectable for tests. */
    private readonly now: () => number = defaultNow,
    public quietWallMs = DEFAULT_QUIET_WALL_MS,
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
    this.firstArrivalMs = -Infinity;
    this.horizonNs = -Infinity;
    this.lateRecords = 0;
    this.mismatchedSwitches = 0;
  }

  /** A META of `cpu`: `unreadEvents` = entries − overrun − read (kernel-abi.md §2.3). */
  noteMeta(cpu: number, unreadEvents: number): void {
    this.stateOf(cpu).backlogged = unreadEvents > 0;
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
    cs.arrivedMs = this.now();
    if (this.firstArrivalMs === -Infinity) this.firstArrivalMs = cs.arrivedMs;
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
      let ca = -1;
      let cb = -1;
      if (kind === SchedKind.SWITCH) {
        if (sc.nextPid + 4 > len || sc.prevState + 4 > len) continue;
        a = v.getInt32(o + sc.prevPid, le);
        bb = v.getInt32(o + sc.nextPid, le);
        // Low 32 bits of the long (the high word in big-endian order comes first).
        const so = o + sc.prevState + (!le && sc.prevStateSize === 8 ? 4 : 0);
        state = v.getInt32(so, le);
        if (sc.prevComm >= 0) ca = this.commOf(a, b, o + sc.prevComm);
        if (sc.nextComm >= 0) cb = this.commOf(bb, b, o + sc.nextComm);
      } else {
        if (sc.wakePid + 4 > len) continue;
        a = v.getInt32(o + sc.wakePid, le);
        if (sc.wakeComm >= 0) ca = this.commOf(a, b, o + sc.wakeComm);
      }
      const row = cs.pending.beginRow();
      cs.pTs.array[row] = tsNs[i];
      cs.pKind.array[row] = kind;
      cs.pA.array[row] = a;
      cs.pB.array[row] = bb;
      cs.pState.array[row] = state;
      cs.pCommA.array[row] = ca;
      cs.pCommB.array[row] = cb;
    }
  }

  /** Learn `pid`'s comm from a `char[16]` at `at`; its string index. */
  private commOf(pid: number, bytes: Uint8Array, at: number): number {
    this.comms.setFromBytes(pid, bytes, at, 16);
    return this.comms.indexOf(pid);
  }

  /** Process every pending record, horizon or not (end of stream). */
  flush(): void {
    this.advance(true);
  }

  private computeHorizon(): number {
    let maxLast = -Infinity;
    for (const cs of this.cpuStates) if (cs && cs.lastTsNs > maxLast) maxLast = cs.lastTsNs;
    const cpus = this.knownCpus.length > 0 ? this.knownCpus : this.seenCpus();
    const nowMs = this.now();
    let h = Infinity;
    for (const cpu of cpus) {
      const cs = this.cpuStates[cpu];
      const last = cs && cs.lastTsNs > -Infinity ? cs.lastTsNs : this.globalFirstTsNs;
      if (this.isQuiet(cs, maxLast - last, nowMs)) continue; // does not hold the horizon
      if (!cs || cs.lastTsNs === -Infinity) return -Infinity; // never delivered, not yet quiet
      if (last < h) h = last;
    }
    return h === Infinity ? maxLast : h;
  }

  /** Idle, not merely behind: see the header. */
  private isQuiet(cs: CpuState | undefined, lagNs: number, nowMs: number): boolean {
    if (!(lagNs > this.quietLagNs) || cs?.backlogged) return false;
    const heardMs = cs && cs.arrivedMs > -Infinity ? cs.arrivedMs : this.firstArrivalMs;
    return nowMs - heardMs >= this.quietWallMs;
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
        this.onSwitch(best, bestTs, r);
      } else {
        this.tasks.wakeup(bestTs, best.pA.array[r], best.pCommA.array[r]);
      }
      p.dropBefore(r + 1);
    }
  }

  private onSwitch(cs: CpuState, ts: number, r: number): void {
    const prev = cs.pA.array[r];
    const next = cs.pB.array[r];
    const state = cs.pState.array[r];
    // Close the slice running on this CPU (the first switch seen closes one from the CPU's
    // first event, for prev_pid).
    if (cs.curPid >= 0) {
      if (cs.curPid !== prev) this.mismatchedSwitches++;
      cs.slices.push(cs.curStartNs, ts, cs.curPid, state, cs.curWaitNs, cs.curWaitKind);
    } else if (cs.firstTsNs < ts) {
      cs.slices.push(cs.firstTsNs, ts, prev, state, -1, WaitKind.START);
    }
    const tasks = this.tasks;
    tasks.switchOut(ts, prev, state, cs.pCommA.array[r]);
    const latency = tasks.switchIn(ts, next, cs.pCommB.array[r]);
    if (latency >= 0) cs.histogram.add(latency);
    cs.curPid = next;
    cs.curStartNs = ts;
    cs.curWaitNs = tasks.waitNs;
    cs.curWaitKind = tasks.waitKind;
  }

  /** Drop slices that ended before `tsNs` on `cpu` (the window's oldest event). */
  trim(cpu: number, tsNs: number): void {
    this.cpuStates[cpu]?.slices.trimBefore(tsNs);
  }

  /** Live slice table of `cpu` (no copy; rows head..length-1) and the open slice. */
  slicesOf(cpu: number): {table: SliceTable; open: OpenSlice | undefined} | undefined {
    const cs = this.cpuStates[cpu];
    if (!cs) return undefined;
    let open: OpenSlice | undefined;
    if (cs.curPid >= 0) {
      // Up to the CPU's last event, but not past a switch still waiting for the horizon.
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

  /** Bytes allocated by slices and pending records (tasks: ~150 B each, not counted). */
  bytes(): number {
    let n = 0;
    for (const cs of this.cpuStates) if (cs) n += cs.slices.rows.bytes() + cs.pending.bytes();
    return n;
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
      staleTaskRecords: this.tasks.staleRecords,
      cpus,
      tasks: this.taskTotals(),
    };
  }

  /** Slices of `cpu` as fresh columns (the open slice last, endState -1). */
  copySlices(cpu: number): SliceColumnsOut {
    const s = this.slicesOf(cpu);
    return copySlices(s?.table, s?.open);
  }

  taskTotals(): TaskTotals {
    const strings = this.comms.strings;
    return this.tasks.totals(
      (i) => strings.get(i),
      (pid) => this.comms.get(pid),
    );
  }
}
