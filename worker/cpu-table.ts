/**
 * One CPU's events as columns, appended page by page and aged out page by page.
 *
 *   position:  0 ........ head ======================== tail ....... capacity
 *                         ▲ oldest kept event             ▲ next append
 *   abs index:            firstAbs                        firstAbs + length
 *
 * Events keep an absolute index that never changes while they are in the window (eviction
 * advances `firstAbs`), so answers can name events stably (`EventRef`). Appends that do not fit
 * either slide the live part down or grow to 4 × what is needed: amortised O(1), one
 * `copyWithin` (or one copy into new columns) per column. Big tables fill their next columns
 * a step per append before they need them, so no append copies the whole window; the new
 * columns are charged to the memory cap when they take over (a synchronous growth also held
 * both sets until the old one was collected).
 *
 * Columns: 23 bytes per event (tsNs 8, payloadOffset 4, payloadLen 4, pid 4, type 2, flags 1).
 * The cap is charged for the rows the columns have touched (`touchedRows`), not for their
 * capacity: a fresh typed array takes memory only where it is written (a 256 MiB one is
 * allocated in 0.5–2 ms in a Chromium worker and costs 0.6–0.95 s to fill the first time on the
 * project VM). So small columns grow 4× at a time, and a table that outgrows 64k rows takes
 * its whole row budget (what the cap leaves it) in one step: each row is written into fresh
 * memory about once, by its append, instead of again by every growth (`copyRows` was 1.2 s of
 * the page's worker in a 6 s `bench painted --profile` heavy run at 1.5× steps, 0.95 s at 4×).
 * A full window touches all of its capacity and then holds at most ~33 % slack (see `reserve`).
 * The payload stays in the page bytes it came in, so any field can be decoded later.
 */

import type {Slab} from './page-arena.ts';

/** One page in the window. One object per page (~60 events), never per event. */
export interface PageRecord {
  /** The page's bytes (PageArena), or a later slice's that holds them too. */
  bytes: Uint8Array;
  /** Where `bytes` was copied to: released when this record leaves the window. */
  slab?: Slab;
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
/** Tables at least this big grow incrementally (below it one copy takes ~1-3 ms). */
const INCREMENTAL_MIN_ROWS = 128 * 1024;
/**
 * A big table starts filling its next columns when its tail passes this share of them: the
 * copy writes fresh memory (~10–60 µs per 4 KiB here), so it is spread over the appends of
 * half the room left (pace 3 from one half; from 0.8 it was 9 and a 4× growth kept the
 * worker busy for 200 ms stretches in `bench painted` heavy). The idle worker also copies
 * ahead (`warmAhead`).
 */
const GROWTH_START = 0.5;
/** Fewest rows copied ahead per append during an incremental growth (~94 KB). */
const GROWTH_STEP_ROWS = 4096;

type Columns = Pick<CpuTable, 'tsNs' | 'payloadOffset' | 'payloadLen' | 'pid' | 'type' | 'flags'>;

/** Growth factor of the columns (see the header: touched memory, not capacity, is charged). */
const GROWTH = 4;

/**
 * A 4× growth that would reach this many rows takes the table's whole row budget instead.
 * Every 4× step copies the live rows into fresh memory, and a filling window's big steps
 * (256k → 1M → 4M → the budget) copied ~4 M rows in a 6 s `bench painted` heavy run. Capacity
 * never written takes no memory (see the header), so one step to the budget costs address
 * space only, and each row is written into fresh memory once, by its append: `bench store`
 * fills a window 1.1–1.6× faster (docs/benchmarks.md, session 11).
 */
const BUDGET_STEP_ROWS = 256 * 1024;

/**
 * `factor` × `need` rows (1024-row steps; at most `maxRows` but never below `need`); a 4×
 * growth that big takes all of a finite `maxRows` (BUDGET_STEP_ROWS).
 */
function growTo(need: number, maxRows: number, factor = GROWTH): number {
  let want = Math.max(need, Math.min(need * factor, maxRows));
  if (factor === GROWTH && want >= BUDGET_STEP_ROWS && Number.isFinite(maxRows))
    want = Math.max(need, maxRows);
  return Math.max(INITIAL_CAPACITY, Math.ceil(want / 1024) * 1024);
}

/** Rows [from, to) of `src`'s columns into `dst` from row `at`. */
function copyRows(src: CpuTable, dst: Columns, from: number, to: number, at: number): void {
  src.largestCopy = Math.max(src.largestCopy, to - from);
  src.rowsCopied += to - from;
  dst.tsNs.set(src.tsNs.subarray(from, to), at);
  dst.payloadOffset.set(src.payloadOffset.subarray(from, to), at);
  dst.payloadLen.set(src.payloadLen.subarray(from, to), at);
  dst.pid.set(src.pid.subarray(from, to), at);
  dst.type.set(src.type.subarray(from, to), at);
  dst.flags.set(src.flags.subarray(from, to), at);
}

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
  /** Rows of these columns written so far, beyond `tail` (see touchedRows). */
  private touchedMark = INITIAL_CAPACITY;
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
   *
   * Tables of INCREMENTAL_MIN_ROWS or more prepare their growth ahead (`beginGrowth`).
   */
  reserve(n: number, maxRows = Infinity): void {
    const cap = this.tsNs.length;
    const touched = this.touchedRows;
    if (this.tail + n > touched && this.tail - this.head + n <= touched * 0.75) {
      // The append would take fresh memory while a quarter of what the columns hold is dead:
      // slide into it instead (with 4× capacity, sliding only at the end of the capacity let
      // a window touch ~1.7× its rows: 39 B per event of the sparse capture, `bench store`).
      this.slide();
      return;
    }
    if (this.tail + n <= cap) {
      if (this.growth) this.stepGrowth(Math.max(GROWTH_STEP_ROWS, Math.ceil(n * this.growth.pace)));
      else if (this.tail > cap * GROWTH_START && cap >= INCREMENTAL_MIN_ROWS && cap < maxRows)
        this.beginGrowth(maxRows);
      return;
    }
    const need = this.tail - this.head + n;
    if (need <= cap && need * 2 >= cap && (need <= cap * 0.75 || cap >= maxRows)) {
      this.growth = undefined;
      this.slide();
      return;
    }
    if (need * 2 < cap) {
      // Eviction left the columns mostly empty: smaller ones (1.5×), not another 4× step.
      this.growth = undefined;
      this.realloc(need, maxRows, 1.5);
      return;
    }
    const g = this.growth;
    // Use the prepared columns unless the cap's budget shrank well below them meanwhile (it
    // moves a little with every page: an exact check threw away a 6.5 M-row growth for 3k
    // rows and copied 5.5 M rows in one append, ~700 ms in the page's worker).
    if (g && need <= g.cols.tsNs.length && g.cols.tsNs.length <= Math.max(need, maxRows) * 1.1) {
      this.stepGrowth(Infinity);
      this.switchTo(g.cols, g.base);
      return;
    }
    this.realloc(need, maxRows);
  }

  /**
   * Columns being filled ahead of a growth, `pace` rows per row appended, from `base` (the
   * head when it began) up to `copied`. Rows are never changed once appended, so a copied row
   * stays right; eviction only moves `head` past rows that are then dead in both.
   */
  private growth?: {cols: Columns; base: number; copied: number; pace: number};

  /**
   * Start filling bigger columns while appends still fit. A big table's growth copied every
   * column in one go (a 4.9 M-row window: 100-300 ms in one append), stalling the worker's
   * answers and edge pushes (bench painted heavy). The copy is paced to be done when half of
   * the room left in the old columns is used: 64k rows per append still ran back to back at
   * 3,000 pages/s (~270 ms of copying in one 500 ms stretch); paced, each append of n rows
   * copies ~n × (1 + live / half the room) rows, a few hundred µs at most.
   */
  private beginGrowth(maxRows: number): void {
    const cap = this.tsNs.length;
    // Live rows when the tail reaches the end, if nothing is evicted before then.
    const need = cap - this.head;
    if (need <= cap * 0.75) return; // that append would slide, not grow
    const halfRoom = Math.max(1, (cap - this.tail) / 2);
    this.growth = {
      cols: this.allocColumns(growTo(need, maxRows)),
      base: this.head,
      copied: this.head,
      pace: 1 + (this.tail - this.head) / halfRoom,
    };
  }

  private stepGrowth(rows: number): void {
    const g = this.growth!;
    const end = Math.min(this.tail, g.copied + rows);
    if (end <= g.copied) return;
    copyRows(this, g.cols, g.copied, end, g.copied - g.base);
    g.copied = end;
  }

  private switchTo(cols: Columns, base: number): void {
    this.reallocs++;
    this.growth = undefined;
    Object.assign(this, cols); // the six column arrays
    this.head -= base;
    this.tail -= base;
    this.touchedMark = this.tail;
  }

  private allocColumns(rows: number): Columns {
    return {
      tsNs: new Float64Array(rows),
      payloadOffset: new Uint32Array(rows),
      payloadLen: new Uint32Array(rows),
      pid: new Int32Array(rows),
      type: new Uint16Array(rows),
      flags: new Uint8Array(rows),
    };
  }

  /** Column reallocations so far (diagnostics and tests). */
  reallocs = 0;
  /** Most rows copied into new columns by one call (diagnostics and tests). */
  largestCopy = 0;
  /** Rows copied into new columns in all (diagnostics and tests). */
  rowsCopied = 0;

  /**
   * New columns of `factor` × `need` rows (1024-row steps; at most `maxRows` but never below
   * `need`), holding the live part from 0.
   */
  private realloc(need: number, maxRows = Infinity, factor = GROWTH): void {
    const cols = this.allocColumns(growTo(need, maxRows, factor));
    copyRows(this, cols, this.head, this.tail, 0);
    this.switchTo(cols, this.head);
  }

  /** Give back memory when eviction left the touched rows mostly empty (≤ half used). */
  shrinkToFit(): void {
    const live = this.tail - this.head;
    if (live * 2 < this.touchedRows && this.tsNs.length > INITIAL_CAPACITY)
      this.realloc(live, Infinity, 1.5);
  }

  private slide(): void {
    this.growth = undefined;
    const h = this.head;
    const t = this.tail;
    this.touchedMark = Math.max(this.touchedMark, t);
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
    if (this.head === this.tail) {
      this.touchedMark = Math.max(this.touchedMark, this.tail);
      this.head = this.tail = 0;
    }
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

  /**
   * When the worker is idle (EventStore.warm): copy up to `step` more rows of a growth under
   * way, or else map the memory of up to `step` more rows past the touched ones (one write per
   * 4 KiB of each column), keeping at most `ahead` rows past the tail, before appends write
   * them. A first write to fresh memory costs ~10–60 µs per 4 KiB here and took ~0.75 s of
   * appends in a 6 s heavy run. Mapped rows count as touched from now on. Returns the rows done.
   */
  warmAhead(step: number, ahead: number): number {
    const g = this.growth;
    if (g && g.copied < this.tail) {
      const before = g.copied;
      this.stepGrowth(step);
      return g.copied - before;
    }
    const from = this.touchedRows;
    // A table that will slide within its rows (reserve) needs no new memory.
    if (this.length + ahead <= from * 0.75) return 0;
    const to = Math.min(this.tsNs.length, this.tail + ahead, from + step);
    if (to <= from) return 0;
    for (const c of [
      this.tsNs,
      this.payloadOffset,
      this.payloadLen,
      this.pid,
      this.type,
      this.flags,
    ]) {
      const stride = 4096 / c.BYTES_PER_ELEMENT;
      for (let i = Math.ceil(from / stride) * stride; i < to; i += stride) c[i] = 0;
    }
    this.touchedMark = to;
    return to - from;
  }

  /**
   * Rows of the columns that hold memory: every row written since they were allocated (the
   * rest of the capacity was never touched, so the system has not given it memory yet).
   */
  get touchedRows(): number {
    return Math.max(this.touchedMark, this.tail);
  }

  /** Bytes the columns hold in memory (touched rows, not capacity: see the header). */
  columnBytes(): number {
    return this.touchedRows * COLUMN_BYTES_PER_EVENT;
  }
}
