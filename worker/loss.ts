/**
 * Loss accounting for one CPU, kept in three separate figures (architecture.md):
 *
 *   kernel loss     the writer overwrote events nobody had read: Δoverrun from META frames
 *                   (exact), the MISSED flags and stored counts on sub-buffers, and sub-buffers
 *                   skipped according to the ring model (derived, kernel-abi.md §2.6);
 *   delivery gaps   this client was too slow, the server dropped slices for it (GAP frames), or
 *                   slices went by while it was disconnected;
 *   window eviction is the event store's business (not loss), so it is not counted here.
 *
 * Pure module: no DOM, no Node.
 */

export interface CpuLoss {
  cpu: number;
  /** Events decoded and handed on. */
  events: number;
  slices: number;
  // ---- kernel loss ----
  /**
   * Σ Δ meta.overrun since this client's baseline (exact; cumulative across resets). The baseline
   * is the server's meta page as first mapped (HELLO baselineMetas) for a stream seen from seq 0,
   * 0 for such a stream when the server gives none (own instance: empty at open), and the first
   * META seen for a late joiner.
   */
  overrunEvents: number;
  /**
   * meta.overrun the buffer already had when the server opened it (HELLO baselineMetas): history
   * from before this session (attach mode), shown apart and never counted as loss. -1 = unknown.
   */
  overrunBeforeSession: number;
  /** Σ lost-event counts stored after MISSED_STORED sub-buffers. */
  missedStoredEvents: number;
  /** Sub-buffers flagged MISSED_EVENTS without a stored count (count unknown). */
  missedUnknownSubbufs: number;
  /** Sub-buffers the writer lapped, from the ring model: derived, not a kernel counter. */
  skippedSubbufsDerived: number;
  /** False when the ring model could not follow every swap (late join, gap, reconnect). */
  ringModelValid: boolean;
  // ---- delivery gaps ----
  gapSlices: number;
  gapBytes: number;
  gapFrames: number;
  /** Slices that went by while this client was disconnected (same server session). */
  disconnectedSlices: number;
  /** Sequence jumps that no GAP frame explained (should stay 0). */
  unexplainedSlices: number;
  duplicateSlices: number;
  // ---- other ----
  resets: number;
  decodeErrors: number;
}

export function emptyLoss(cpu: number): CpuLoss {
  return {
    cpu,
    events: 0,
    slices: 0,
    overrunEvents: 0,
    overrunBeforeSession: -1,
    missedStoredEvents: 0,
    missedUnknownSubbufs: 0,
    skippedSubbufsDerived: 0,
    ringModelValid: true,
    gapSlices: 0,
    gapBytes: 0,
    gapFrames: 0,
    disconnectedSlices: 0,
    unexplainedSlices: 0,
    duplicateSlices: 0,
    resets: 0,
    decodeErrors: 0,
  };
}

/**
 * Kernel-lost events for display: Δoverrun when META frames came (mmap, sim), else the stored
 * MISSED counts (read source). Both count the same events, so they are never added.
 */
export function kernelLostEvents(l: CpuLoss, sawMeta: boolean): number {
  return sawMeta ? l.overrunEvents : l.missedStoredEvents;
}

/** Follows a cumulative kernel counter that goes back to 0 on a buffer reset. */
export class CumulativeCounter {
  private last: number | undefined;
  total = 0;

  /**
   * Feed the current value; returns the increase it represents. The first value is only a
   * baseline, unless `fromZero` (the stream was seen from its start, so all of it counts).
   */
  update(value: number, fromZero = false): number {
    let inc = 0;
    if (this.last !== undefined) inc = value >= this.last ? value - this.last : value;
    else if (fromZero) inc = value;
    this.last = value;
    this.total += inc;
    return inc;
  }

  /** Start from `value` without counting it (a baseline); no-op once started. */
  setBaseline(value: number): void {
    if (this.last === undefined) this.last = value;
  }

  get started(): boolean {
    return this.last !== undefined;
  }

  /** The last value fed in (-1 before the first). */
  get value(): number {
    return this.last ?? -1;
  }
}

/**
 * The ring of data sub-buffers as the reader sees it (kernel-abi.md §2.6). Slots hold ids in
 * writer order; the reader sub-buffer sits outside the ring and trades places with the head on
 * each swap, so following every swap tells how many sub-buffers the writer lapped in between.
 *
 *   map:   reader 0, ring [1, 2, …, n-1], expected = slot of 1
 *   swap r_old → r_new:  skipped = (slot(r_new) − expected) mod (n−1);
 *                        slot(r_new) := r_old;  expected := slot(r_new) + 1
 *
 * It cannot see whole extra laps, and it is invalid once a swap was not seen.
 */
export class RingModel {
  private readonly slotOf = new Map<number, number>();
  private readonly size: number;
  /** Slot where the next swap should find the head; undefined = re-learn at the next swap. */
  private expected: number | undefined;
  reader: number;

  constructor(nrSubbufs: number) {
    this.size = nrSubbufs - 1;
    for (let id = 1; id < nrSubbufs; id++) this.slotOf.set(id, id - 1);
    this.reader = 0;
    this.expected = 0;
  }

  /** Apply a swap to `newId`; returns the sub-buffers skipped, or -1 if the id is not in the ring. */
  swap(newId: number): number {
    const slot = this.slotOf.get(newId);
    if (slot === undefined) return -1;
    const skipped =
      this.expected === undefined ? 0 : (slot - this.expected + this.size) % this.size;
    this.slotOf.delete(newId);
    this.slotOf.set(this.reader, slot);
    this.reader = newId;
    this.expected = (slot + 1) % this.size;
    return skipped;
  }

  /** After a buffer reset the writer restarts at the ring's anchor: re-learn the position. */
  forgetPosition(): void {
    this.expected = undefined;
  }
}
