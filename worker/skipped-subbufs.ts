/**
 * Which sub-buffers the writer lapped, by id, so the ring view can mark the real cells.
 *
 * The reader loop (reader-loop.ts) counts skipped sub-buffers with loss.ts's RingModel but keeps
 * no ids. This module follows the same ring (kernel-abi.md §2.6) with ids in its slots: on a swap
 * r_old → r_new the skipped sub-buffers are the ids in slots expected … slot(r_new) − 1, the heads
 * the writer pushed past since the previous swap. It watches the frames around the reader loop
 * (`before` / `after` each frame) and applies a swap exactly where the loop does; the loop's count
 * stays the authority: ids are reported only when their number equals the loop's increase for
 * that frame, otherwise the skip is counted as `missing` (a position the loop forgot on a reset).
 * Either way the slot layout is the loop's again after the swap, so a mismatch never sticks.
 */
import {FrameType, type ServerFrame} from '../core/protocol.ts';
import type {CpuLoss} from './loss.ts';

/** The data ring of one CPU with the id held in each slot. */
export class RingIds {
  private readonly slotOf = new Map<number, number>();
  private readonly idAt: number[] = [];
  private readonly size: number;
  private expected: number | undefined = 0;
  reader = 0;

  constructor(nrSubbufs: number) {
    this.size = nrSubbufs - 1;
    for (let id = 1; id < nrSubbufs; id++) {
      this.slotOf.set(id, id - 1);
      this.idAt.push(id);
    }
  }

  /** Swap to `newId`: the ids skipped on the way (oldest first), undefined if not in the ring. */
  swap(newId: number): number[] | undefined {
    const slot = this.slotOf.get(newId);
    if (slot === undefined) return undefined;
    const ids: number[] = [];
    if (this.expected !== undefined)
      for (let s = this.expected; s !== slot; s = (s + 1) % this.size) ids.push(this.idAt[s]);
    this.slotOf.delete(newId);
    this.slotOf.set(this.reader, slot);
    this.idAt[slot] = this.reader;
    this.reader = newId;
    this.expected = (slot + 1) % this.size;
    return ids;
  }

  forgetPosition(): void {
    this.expected = undefined;
  }
}

interface CpuTrack {
  ring: RingIds | undefined;
  decided: boolean;
  skipped: number;
  resets: number;
  duplicates: number;
}

/** Skipped sub-buffer ids found at one frame. */
export interface SkippedIds {
  cpu: number;
  ids: number[];
  /** Skips the reader loop counted at this frame whose ids are not known. */
  missing: number;
}

export class SkippedSubbufTracker {
  private readonly cpus = new Map<number, CpuTrack>();

  constructor(
    /** The reader loop's live loss figures of a CPU. */
    private readonly loss: (cpu: number) => CpuLoss,
    /** Sub-buffers per CPU, reader included (HELLO); < 2 = no ring. */
    private readonly nrSubbufs: () => number,
  ) {}

  /** New server session: forget every ring. */
  clear(): void {
    this.cpus.clear();
  }

  private track(cpu: number): CpuTrack {
    let t = this.cpus.get(cpu);
    if (!t) {
      t = {ring: undefined, decided: false, skipped: 0, resets: 0, duplicates: 0};
      this.cpus.set(cpu, t);
    }
    return t;
  }

  /** Call right before the reader loop handles `f`. */
  before(f: ServerFrame): void {
    if (f.type !== FrameType.SUBBUF && f.type !== FrameType.META) return;
    const t = this.track(f.cpu);
    const l = this.loss(f.cpu);
    t.skipped = l.skippedSubbufsDerived;
    t.resets = l.resets;
    t.duplicates = l.duplicateSlices;
  }

  /** Call right after the reader loop handled `f`: the skipped ids it revealed, if any. */
  after(f: ServerFrame): SkippedIds | undefined {
    if (f.type !== FrameType.SUBBUF && f.type !== FrameType.META) return undefined;
    const t = this.track(f.cpu);
    const l = this.loss(f.cpu);
    if (l.resets > t.resets) t.ring?.forgetPosition();
    if (f.type === FrameType.META || l.duplicateSlices > t.duplicates) return undefined;
    let ids: number[] | undefined;
    if (!t.decided) {
      // The reader loop builds its model only for a stream seen from seq 0.
      t.decided = true;
      const nr = this.nrSubbufs();
      if (f.seq === 0 && nr >= 2 && f.subbufId >= 0) {
        t.ring = new RingIds(nr);
        if (f.subbufId !== 0) ids = t.ring.swap(f.subbufId);
      }
    } else if (t.ring && f.subbufId !== t.ring.reader) {
      ids = t.ring.swap(f.subbufId);
    }
    if (!l.ringModelValid) t.ring = undefined;
    const counted = l.skippedSubbufsDerived - t.skipped;
    if (ids && ids.length === counted)
      return counted > 0 ? {cpu: f.cpu, ids, missing: 0} : undefined;
    return counted > 0 ? {cpu: f.cpu, ids: [], missing: counted} : undefined;
  }
}
