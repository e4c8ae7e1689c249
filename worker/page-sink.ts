/**
 * The contract between the consumer-side reader loop (`reader-loop.ts`, which walks the ring,
 * decodes slices and counts loss) and everything that keeps or derives data from pages (the
 * event store and its views). One decoded page at a time, in per-CPU order; CPUs interleave in
 * any order. Meta snapshots and loss figures travel through the same sink so the statistics
 * view sees them next to the pages they describe.
 */
import type {MetaPage} from '../core/meta-page.ts';

/** One slice of one sub-buffer, decoded. Columns index into `bytes`. */
export interface DecodedPage {
  cpu: number;
  /**
   * The slice bytes (sub-buffer header included), valid during `handlePage` only (a view into
   * the message it came in): a sink that keeps them copies them (the store: page-arena.ts).
   */
  bytes: Uint8Array;
  /** Views for this page only (the store copies what it keeps). Offsets are into `bytes`. */
  columns: {
    length: number;
    tsNs: Float64Array;
    payloadOffset: Uint32Array;
    payloadLen: Uint32Array;
  };
  /** Kernel sub-buffer id (meta `reader.id`); -1 where the source has none. */
  subbufId: number;
  /** Per-CPU slice counter of the source. */
  seq: number;
  /** Kernel loss right before this page: 0 none, -1 lost but count unknown, else the count. */
  lostBefore: number;
  /** Sub-buffers the ring model says were skipped before this page (optional, derived). */
  skippedBefore?: number;
}

export interface PageSink {
  handlePage(page: DecodedPage): void;
  reset(): void;
}

/** Loss figures the reader loop / connection count; cumulative since connect, per CPU. */
export interface LossFigures {
  cpu: number;
  /** Kernel overrun events (Δoverrun, MISSED counts): figure 1. */
  kernelLostEvents: number;
  /** Sub-buffers the ring model says were skipped (derived). */
  skippedSubbufs: number;
  /** Slices the server dropped for this client (GAP frames): figure 2. */
  deliveryGapSlices: number;
  deliveryGapBytes: number;
}

/** Optional extra inputs of a full sink (the session implements all of them). */
export interface StatsSink {
  /** A meta page snapshot read at `timeMs` (Date.now() of the server). */
  handleMeta(cpu: number, timeMs: number, meta: MetaPage): void;
  /** Latest cumulative loss figures of one CPU. */
  handleLoss(figures: LossFigures): void;
  /** Ids of sub-buffers the writer lapped, found at one swap (skipped-subbufs.ts). */
  handleSkippedIds(cpu: number, ids: number[], missing: number): void;
}
