/**
 * Append-only typed-array columns with a movable front (for trimming old rows), for derived
 * views whose row counts are a small fraction of the event count (slices, sched records).
 * Rows are addressed by position `head..length-1`; `array` may be replaced on growth, so read
 * it after appends, never cache it across them.
 */
type TypedArray = Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;
type Ctor<T extends TypedArray> = new (n: number) => T;

export class Column<T extends TypedArray> {
  array: T;
  constructor(
    private readonly ctor: Ctor<T>,
    capacity = 256,
  ) {
    this.array = new ctor(capacity);
  }

  /** Make room for one more row after `from..length-1`, moving those rows to start at 0. */
  makeRoom(from: number, length: number): void {
    const live = length - from;
    if (live + 1 <= this.array.length >>> 1) {
      this.array.copyWithin(0, from, length);
      return;
    }
    let cap = this.array.length * 2;
    while (cap <= live) cap *= 2;
    const a = new this.ctor(cap);
    a.set(this.array.subarray(from, length) as never);
    this.array = a;
  }
}

/**
 * A set of columns with one row count. `push` = `beginRow()` then write `col.array[row]`.
 * When the live rows fill at most half the capacity, a full column slides instead of growing.
 */
export class ColumnSet {
  head = 0;
  length = 0;
  private cols: Column<TypedArray>[] = [];

  add<T extends TypedArray>(ctor: Ctor<T>, capacity = 256): Column<T> {
    const c = new Column(ctor, capacity);
    this.cols.push(c as unknown as Column<TypedArray>);
    return c;
  }

  get count(): number {
    return this.length - this.head;
  }

  /** Position of a new row at the end. */
  beginRow(): number {
    const i = this.length;
    const c0 = this.cols[0];
    if (c0 && i >= c0.array.length) {
      const from = this.head;
      for (const c of this.cols) c.makeRoom(from, this.length);
      this.length -= from;
      this.head = 0;
    }
    return this.length++;
  }

  /** Drop rows before position `pos`. */
  dropBefore(pos: number): void {
    this.head = Math.min(Math.max(pos, this.head), this.length);
    if (this.head === this.length) this.head = this.length = 0;
  }

  clear(): void {
    this.head = this.length = 0;
  }

  /** Bytes allocated by all columns. */
  bytes(): number {
    let n = 0;
    for (const c of this.cols) n += c.array.byteLength;
    return n;
  }
}
