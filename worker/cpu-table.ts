/**
 * One CPU's events as columns, appended page by page and aged out page by page.
 *
 *   position:  0 ........ head ======================== tail ....... capacity
 *                         ▲ oldest kept event             ▲ next append
 *   abs index:            firstAbs                        firstAbs + length
 *
 * Events keep an absolute index that never changes while they are in the window (eviction
 * advances `firstAbs`), so answers can name events stably (`EventRef`). Appends that do not fit
 * either slide the live part down or grow to 1.5 × what is needed: amortised O(1), one
 * `copyWithin` (or one copy into new columns) per column.
 *
 * Columns: 23 bytes per event (tsNs 8, payloadOffset 4, payloadLen 4, pid 4, type 2, flags 1),
 * plus at most ~33 % unused capacity (see `reserve`).
 * The payload stays in the page bytes it came in, so any field can be decoded later.
 */

/** One page in the window. One object per page (~60 events), never per event. */
export interface PageRecord {
  bytes: Uint8Array;
  /**
   * Bytes this record is charged for. A later slice of the same sub-buffer carries all of its
   * bytes again (the writer only appends), so the older records share the newer bytes and are
   * charged 0 (EventStore.shareContinuation).
   */
  cost: number;
  /** Absolute index of the page's first event. */
  firstAbs: number;
  count: number;
  /** Timestamp of the first and last event (sub-buffer time stamp for empty pages). */
  firstTsNs: number;
  lastTsNs: number;
  subbufId: number;
  seq: number;
  lostBefore: number;
  skippedBefore: number;
  /** True when this page starts a new reader sub-buffer (a swap), as seen by this consumer. */
  swap: boolean;
}

export const COLUMN_BYTES_PER_EVENT = 8 + 4 + 4 + 4 + 2 + 1;
const INITIAL_CAPACITY = 4096;

export class CpuTable {
  /** Absolute index of the event at `head`. */
  firstAbs = 0;
  head = 0;
  tail = 0;
  tsNs = new Float64Array(INITIAL_CAPACITY);
  payloadOffset = new Uint32Array(INITIAL_CAPACITY);
  payloadLen = new Uint32Array(INITIAL_CAPACITY);
  pid = new Int32Array(INITIAL_CAPACITY);
  type = new Uint16Array(INITIAL_CAPACITY);
  flags = new Uint8Array(INITIAL_CAPACITY);
  /** Pages in the window, oldest first, from `pageHead`. */
  pages: PageRecord[] = [];
  pageHead = 0;
  /** Bytes held by page payloads in the window. */
  pageBytes = 0;

  constructor(readonly cpu: number) {}

  get length(): number {
    return this.tail - this.head;
  }

  get pageCount(): number {
    return this.pages.length - this.pageHead;
  }

  get endAbs(): number {
    return this.firstAbs + this.tail - this.head;
  }

  /** Column position of absolute index `abs` (no bounds check). */
  pos(abs: number): number {
    return this.head + (abs - this.firstAbs);
  }

  oldestPage(): PageRecord | undefined {
    return this.pages[this.pageHead];
  }

  newestPage(): PageRecord | undefined {
    return this.pageHead < this.pages.length ? this.pages[this.pages.length - 1] : undefined;
  }

  /**
   * Make room for `n` more events at `tail`. Slides the live part down when that leaves at
   * least 25 % free; otherwise reallocates to 1.5 × what is needed (also shrinking a table
   * left mostly empty by eviction). In a full window (appends balanced by evictions) the
   * columns then hold at most ~33 % slack, and they only slide: once per ~0.33 × capacity
   * appends (~2 moves per append), no new columns. With 1.25× and a 20 % rule, a full window
   * reallocated almost every time its tail reached the end, and growth copied each event ~5
   * times: `grow` was 31 % of the worker's time at 500k events/s (`npm run bench painted`).
   *
   * `maxRows`: the most rows the memory cap leaves this table (EventStore.rowBudget). Growth
   * stops there, and a table already that large slides even with less than 25 % free. Without
   * it, growing a big table by 1.5× near the cap charged the cap for the new capacity at once,
   * evicted a third of the window in one go, then shrank the emptied columns, then grew again:
   * a 100–290 ms stall (two copies of ~150 MB) every ~2 M events at 500k/s.
   */
  reserve(n: number, maxRows = Infinity): void {
    const cap = this.tsNs.length;
    if (this.tail + n <= cap) return;
    const need = this.tail - this.head + n;
    if (need <= cap && need * 2 >= cap && (need <= cap * 0.75 || cap >= maxRows)) {
      this.slide();
      return;
    }
    this.realloc(need, maxRows);
  }

  /** Column reallocations so far (diagnostics and tests). */
  reallocs = 0;

  /**
   * New columns of 1.5 × `need` rows (1024-row steps; at most `maxRows` but never below
   * `need`), holding the live part from 0.
   */
  private realloc(need: number, maxRows = Infinity): void {
    this.reallocs++;
    const want = Math.max(need, Math.min(need * 1.5, maxRows));
    const newCap = Math.max(INITIAL_CAPACITY, Math.ceil(want / 1024) * 1024);
    const h = this.head;
    const t = this.tail;
    const grow = <T extends Float64Array | Uint32Array | Int32Array | Uint16Array | Uint8Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(newCap);
      b.set(a.subarray(h, t));
      return b;
    };
    this.tsNs = grow(this.tsNs, (k) => new Float64Array(k));
    this.payloadOffset = grow(this.payloadOffset, (k) => new Uint32Array(k));
    this.payloadLen = grow(this.payloadLen, (k) => new Uint32Array(k));
    this.pid = grow(this.pid, (k) => new Int32Array(k));
    this.type = grow(this.type, (k) => new Uint16Array(k));
    this.flags = grow(this.flags, (k) => new Uint8Array(k));
    this.head = 0;
    this.tail = t - h;
  }

  /** Give back capacity when eviction left the columns mostly empty (≤ half used). */
  shrinkToFit(): void {
    const live = this.tail - this.head;
    if (live * 2 < this.tsNs.length && this.tsNs.length > INITIAL_CAPACITY) this.realloc(live);
  }

  private slide(): void {
    const h = this.head;
    const t = this.tail;
    this.tsNs.copyWithin(0, h, t);
    this.payloadOffset.copyWithin(0, h, t);
    this.payloadLen.copyWithin(0, h, t);
    this.pid.copyWithin(0, h, t);
    this.type.copyWithin(0, h, t);
    this.flags.copyWithin(0, h, t);
    this.head = 0;
    this.tail = t - h;
  }

  /** Drop the oldest page and its events. Returns it, or undefined when empty. */
  evictOldestPage(): PageRecord | undefined {
    const p = this.pages[this.pageHead];
    if (!p) return undefined;
    this.pages[this.pageHead] = undefined as unknown as PageRecord;
    this.pageHead++;
    if (this.pageHead > 1024 && this.pageHead * 2 > this.pages.length) {
      this.pages = this.pages.slice(this.pageHead);
      this.pageHead = 0;
    }
    this.head += p.count;
    this.firstAbs += p.count;
    this.pageBytes -= p.cost;
    if (this.head === this.tail) this.head = this.tail = 0;
    return p;
  }

  /** First absolute index with tsNs >= t (endAbs when none): uPlot's closestIdx. */
  lowerBound(t: number): number {
    const ts = this.tsNs;
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ts[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return this.firstAbs + (lo - this.head);
  }

  /** The page holding absolute index `abs` (binary search over the window's pages). */
  pageOf(abs: number): PageRecord | undefined {
    let lo = this.pageHead;
    let hi = this.pages.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const p = this.pages[mid];
      if (abs < p.firstAbs) hi = mid - 1;
      else if (abs >= p.firstAbs + p.count) lo = mid + 1;
      else return p;
    }
    return undefined;
  }

  /** Bytes the columns have allocated (capacity, not just the live part). */
  columnBytes(): number {
    return this.tsNs.length * COLUMN_BYTES_PER_EVENT;
  }
}
