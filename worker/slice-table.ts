/**
 * Per-CPU running slices (who ran when), appended by the sched view at each sched_switch and
 * trimmed from the front as the window evicts. Sorted by start and never overlapping, so ends
 * are sorted too (the timeline binary-searches both).
 */
import {ColumnSet} from './growable.ts';

export class SliceTable {
  readonly rows = new ColumnSet();
  readonly startNs = this.rows.add(Float64Array);
  readonly endNs = this.rows.add(Float64Array);
  readonly pid = this.rows.add(Int32Array);
  /** prev_state at switch-out. */
  readonly endState = this.rows.add(Int32Array);
  /** Time runnable before this slice (wakeup latency or preempted wait), -1 unknown. */
  readonly waitNs = this.rows.add(Float64Array);
  /** WaitKind (task-states.ts). */
  readonly waitKind = this.rows.add(Uint8Array);

  push(
    startNs: number,
    endNs: number,
    pid: number,
    endState: number,
    waitNs: number,
    waitKind: number,
  ): void {
    const r = this.rows.beginRow(); // first: it may replace the arrays
    this.startNs.array[r] = startNs;
    this.endNs.array[r] = endNs;
    this.pid.array[r] = pid;
    this.endState.array[r] = endState;
    this.waitNs.array[r] = waitNs;
    this.waitKind.array[r] = waitKind;
  }

  /** Drop slices that ended before `tsNs`. */
  trimBefore(tsNs: number): void {
    const end = this.endNs.array;
    let h = this.rows.head;
    while (h < this.rows.length && end[h] < tsNs) h++;
    this.rows.dropBefore(h);
  }
}

/** The slice still running on a CPU (no switch-out yet). */
export interface OpenSlice {
  startNs: number;
  endNs: number;
  pid: number;
  waitNs: number;
  waitKind: number;
}

export interface SliceColumnsOut {
  length: number;
  startNs: Float64Array;
  endNs: Float64Array;
  pid: Int32Array;
  /** -1 for the open slice. */
  endState: Int32Array;
  waitNs: Float64Array;
  waitKind: Uint8Array;
}

/** The table's rows as fresh columns, with the open slice (if any) last. */
export function copySlices(
  t: SliceTable | undefined,
  open: OpenSlice | undefined,
): SliceColumnsOut {
  const h = t ? t.rows.head : 0;
  const m = t ? t.rows.count : 0;
  const n = m + (open ? 1 : 0);
  const out: SliceColumnsOut = {
    length: n,
    startNs: new Float64Array(n),
    endNs: new Float64Array(n),
    pid: new Int32Array(n),
    endState: new Int32Array(n),
    waitNs: new Float64Array(n),
    waitKind: new Uint8Array(n),
  };
  if (t) {
    out.startNs.set(t.startNs.array.subarray(h, h + m));
    out.endNs.set(t.endNs.array.subarray(h, h + m));
    out.pid.set(t.pid.array.subarray(h, h + m));
    out.endState.set(t.endState.array.subarray(h, h + m));
    out.waitNs.set(t.waitNs.array.subarray(h, h + m));
    out.waitKind.set(t.waitKind.array.subarray(h, h + m));
  }
  if (open) {
    out.startNs[m] = open.startNs;
    out.endNs[m] = open.endNs;
    out.pid[m] = open.pid;
    out.endState[m] = -1;
    out.waitNs[m] = open.waitNs;
    out.waitKind[m] = open.waitKind;
  }
  return out;
}
