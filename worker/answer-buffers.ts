/**
 * Memory for timeline answers that the page hands back when it is done with them.
 *
 * Why: a followed timeline is answered ~35–50 times a second, each answer a few hundred KB of
 * columns transferred to the page. Built with `slice()`, every answer took fresh memory, which
 * the allocator zero-fills and the copy then writes again; on the project VM a first write to a
 * fresh 4 KiB page costs 10–60 µs, and in `perf record -e page-faults` of the page's worker 17 s
 * into a heavy run (500k events/s) the answers' `memset` and `memmove` were ~45 % of its minor
 * faults (docs/benchmarks.md, session 12). So an answer is written into one ArrayBuffer from
 * this pool (`ColumnWriter`), the page transfers that buffer back once no cached track uses it
 * (app/data/timeline-cache.ts → the API's `recycle`), and the next answer is written into memory
 * that is already mapped.
 *
 * A writer that runs out of room gives the rest of that answer fresh arrays (correct, only not
 * pooled) and remembers the size, so the buffers it takes later are big enough.
 */

/**
 * Answers' buffers kept for reuse at most. Few are in use at a time (the page keeps the followed
 * answer, one for all CPUs, plus one on its way); the bound keeps what a burst of zoomed-out
 * answers leaves behind (up to a few MB each) from staying outside the store's cap.
 */
export const MAX_POOLED = 4;
/** Buffers smaller than this are not worth pooling (and new ones are at least this big). */
export const MIN_POOLED_BYTES = 64 * 1024;

/** Where a timeline answer's columns go: copies of the first `n` values of a scratch column. */
export interface ColumnOut {
  f64(src: Float64Array, n: number): Float64Array;
  i32(src: Int32Array, n: number): Int32Array;
  u32(src: Uint32Array, n: number): Uint32Array;
}

/** Fresh arrays for every column (tests, and callers that never hand memory back). */
export const sliceColumns: ColumnOut = {
  f64: (src, n) => src.slice(0, n),
  i32: (src, n) => src.slice(0, n),
  u32: (src, n) => src.slice(0, n),
};

export class AnswerBuffers {
  private pool: ArrayBuffer[] = [];
  /** The largest answer written so far (bytes): new buffers are made this big. */
  private largest = MIN_POOLED_BYTES;
  /** Buffers handed back and taken again, and made new (diagnostics and tests). */
  reused = 0;
  made = 0;

  get pooled(): number {
    return this.pool.length;
  }

  /** A writer for one answer, over a pooled buffer (or a new one when none is big enough). */
  writer(): ColumnWriter {
    return new ColumnWriter(this.take(this.largest), (bytes) => {
      this.largest = Math.max(this.largest, bytes);
    });
  }

  /** Buffers the page is done with. Detached, too small or surplus ones are let go. */
  recycle(buffers: ArrayBuffer[]): void {
    for (const b of buffers) {
      if (!(b instanceof ArrayBuffer) || b.byteLength < MIN_POOLED_BYTES) continue;
      if (this.pool.includes(b)) continue;
      this.pool.push(b);
    }
    if (this.pool.length > MAX_POOLED) {
      // Keep the biggest: an answer fits in any of them.
      this.pool.sort((a, b) => b.byteLength - a.byteLength);
      this.pool.length = MAX_POOLED;
    }
  }

  private take(bytes: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.pool.length; i++) {
      const len = this.pool[i].byteLength;
      if (len >= bytes && (best < 0 || len < this.pool[best].byteLength)) best = i;
    }
    if (best >= 0) {
      this.reused++;
      return this.pool.splice(best, 1)[0];
    }
    this.made++;
    // Room to grow: answers vary with the data in view. Untouched pages cost no memory.
    return new ArrayBuffer(Math.ceil((bytes * 1.5) / MIN_POOLED_BYTES) * MIN_POOLED_BYTES);
  }
}

/** Columns of one answer, one after another in one buffer (8-byte aligned). */
export class ColumnWriter implements ColumnOut {
  private used = 0;
  /** Bytes the answer needed, including columns that did not fit. */
  private needed = 0;

  constructor(
    readonly buffer: ArrayBuffer,
    private readonly onDone: (neededBytes: number) => void,
  ) {}

  f64(src: Float64Array, n: number): Float64Array {
    return this.copy(src, n, Float64Array);
  }

  i32(src: Int32Array, n: number): Int32Array {
    return this.copy(src, n, Int32Array);
  }

  u32(src: Uint32Array, n: number): Uint32Array {
    return this.copy(src, n, Uint32Array);
  }

  /** The answer is complete: report its size to the pool. */
  done(): void {
    this.onDone(this.needed);
  }

  /** The first `n` values of `src` in this answer's buffer, or a fresh copy when it is full. */
  private copy<T extends Float64Array | Int32Array | Uint32Array>(
    src: T,
    n: number,
    View: {
      new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
      BYTES_PER_ELEMENT: number;
    },
  ): T {
    const at = this.room(n * View.BYTES_PER_ELEMENT);
    if (at < 0) return src.slice(0, n) as T;
    const out = new View(this.buffer, at, n);
    out.set(src.subarray(0, n));
    return out;
  }

  /** Offset for `bytes` more (8-aligned), or -1 when the buffer is full. */
  private room(bytes: number): number {
    const at = this.used;
    const end = at + ((bytes + 7) & ~7);
    this.needed += (bytes + 7) & ~7;
    if (end > this.buffer.byteLength) return -1;
    this.used = end;
    return at;
  }
}
