/**
 * The shapes the app draws from. Columns, not arrays of objects (house style): the worker's
 * answers are adapted into these in `data/`, so draw functions and their tests never depend on
 * the wire or the worker's internal layout.
 */

export type Nanoseconds = number;
export type CssPixels = number;

/** The visible time range of every timeline, in the trace clock (ns). */
export interface Viewport {
  startNs: Nanoseconds;
  endNs: Nanoseconds;
}

/** Canvas geometry in CSS pixels; the backing store is `widthPx * dpr`. */
export interface CanvasScale {
  widthPx: CssPixels;
  heightPx: CssPixels;
  dpr: number;
}

/** Task slices on one CPU, sorted by start and not overlapping (a CPU runs one task at a time). */
export interface SliceColumns {
  length: number;
  startNs: Float64Array;
  endNs: Float64Array;
  pid: Int32Array;
}

/** Event marks on one CPU, sorted by time. `id` is the worker's event id (for selection). */
export interface EventMarkColumns {
  length: number;
  tsNs: Float64Array;
  /** Index into `TimelineTrack.typeNames`. */
  type: Int32Array;
  id: Float64Array;
  /**
   * Events this mark stands for when the worker already merged a pixel column (level of
   * detail); absent or 1 = one real event.
   */
  count?: Uint32Array;
}

/** Kernel loss seen on this CPU: where the gap is and how many events (-1 = unknown). */
export interface LostColumns {
  length: number;
  tsNs: Float64Array;
  count: Float64Array;
}

/** Reader swaps: when the consumer took a new sub-buffer, and how many it found skipped. */
export interface SwapColumns {
  length: number;
  tsNs: Float64Array;
  subbufId: Int32Array;
  skipped: Int32Array;
}

export interface TimelineTrack {
  cpu: number;
  slices: SliceColumns;
  events: EventMarkColumns;
  lost: LostColumns;
  swaps: SwapColumns;
  typeNames: readonly string[];
  /** pid → comm, for slice labels and tooltips. */
  comms: ReadonlyMap<number, string>;
}

export function emptyTrack(cpu: number): TimelineTrack {
  return {
    cpu,
    slices: {
      length: 0,
      startNs: new Float64Array(0),
      endNs: new Float64Array(0),
      pid: new Int32Array(0),
    },
    events: {
      length: 0,
      tsNs: new Float64Array(0),
      type: new Int32Array(0),
      id: new Float64Array(0),
    },
    lost: {length: 0, tsNs: new Float64Array(0), count: new Float64Array(0)},
    swaps: {
      length: 0,
      tsNs: new Float64Array(0),
      subbufId: new Int32Array(0),
      skipped: new Int32Array(0),
    },
    typeNames: [],
    comms: new Map(),
  };
}

/** What the timeline hit test found under the pointer. */
export type TimelineHit =
  | {kind: 'event'; index: number; id: number; tsNs: Nanoseconds}
  | {kind: 'slice'; index: number; pid: number; startNs: Nanoseconds; endNs: Nanoseconds}
  | {kind: 'lost'; index: number; tsNs: Nanoseconds; count: number}
  | {kind: 'swap'; index: number; tsNs: Nanoseconds; subbufId: number; skipped: number};

/** The sub-buffer ring of one CPU, for the swap view. */
export interface RingState {
  nrSubbufs: number;
  /** Current reader sub-buffer id (meta `reader.id`), -1 when unknown. */
  readerId: number;
  /** Fill of the reader sub-buffer 0..1 (reader.read / subbuf_size). */
  readerFill: number;
  /** Recent swaps, newest last: which id became the reader and when (performance.now() ms). */
  recentSwaps: readonly {subbufId: number; atMs: number}[];
  /** Ids the ring model says were skipped (lost) recently. */
  lostIds: readonly number[];
}
