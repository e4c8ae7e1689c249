/**
 * One CPU of the kernel's ftrace ring buffer (kernel/trace/ring_buffer.c, Linux 6.18), modelled
 * page by page so a decoder cannot tell its sub-buffers from the kernel's (kernel-abi.md §2, §3).
 *
 * What is kept from the kernel, with the function it comes from:
 * - ring of `nrPages` sub-buffers plus one reader page; head, tail (writer) and commit pages;
 *   per-page write index, entries, read index and real_end (struct buffer_page);
 * - record encoding (rb_calculate_event_length, rb_update_event): type_len 1..28 or 0 with the
 *   length in array[0], 4-byte alignment, 12-byte records bumped to 16, time extends when the
 *   delta needs more than 27 bits (__rb_reserve_next), optional absolute TIME_STAMP records;
 * - page crossing (rb_move_tail, rb_reset_tail, rb_tail_page_update): end-of-page padding with
 *   delta 1, null padding when fewer than 8 bytes remain, real_end, overwrite mode pushing the head
 *   (rb_handle_head_page, overrun += entries of the lost page), non-overwrite mode dropping;
 * - the reader (rb_get_reader_page, rb_advance_reader, rb_per_cpu_empty) and the mmap interface
 *   (rb_setup_ids_meta_page, ring_buffer_map_get_reader, rb_update_meta_page), reset (rb_reset_cpu)
 *   and shrinking/growing an unmapped buffer (rb_remove_pages, rb_insert_pages).
 * Single writer, so no nesting: the interrupted-writer paths (RB_ADD_STAMP_FORCE, commit_overrun)
 * never trigger. LP64 little-endian layout (x86_64): 8-byte commit word, data at offset 16.
 */

export const HEADER_BYTES = 16;
const TS_BITS = 2 ** 27;
const TYPE_PADDING = 29;
const TYPE_TIME_EXTEND = 30;
const TYPE_TIME_STAMP = 31;
const MAX_SMALL_DATA = 112;
const MISSED_EVENTS = 0x80000000;
const MISSED_STORED = 0x40000000;
const COMMIT_MASK = 0x3fffffff; // rb_page_size: commit & ~RB_MISSED_MASK

export interface RingBufferOptions {
  /** Sub-buffer bytes with header: a power-of-two multiple of 4096, at most 1 MiB. */
  subbufSize?: number;
  /** Data sub-buffers in the ring (the reader page comes on top); at least 2. */
  nrPages: number;
  /** options/overwrite (default true). */
  overwrite?: boolean;
  /** Absolute TIME_STAMP before every event (timestamp_mode absolute). */
  absoluteTimestamps?: boolean;
}

/** Sub-buffers per CPU for `buffer_size_kb` (ring_buffer_resize: DIV_ROUND_UP, at least 2). */
export function nrPagesForBufferKb(bufferKb: number, subbufSize = 4096): number {
  return Math.max(2, Math.ceil((bufferKb * 1024) / (subbufSize - HEADER_BYTES)));
}

/** Total bytes of a record carrying `payloadLen` bytes (rb_calculate_event_length). */
export function eventLength(payloadLen: number): number {
  let length = payloadLen || 1;
  if (length > MAX_SMALL_DATA) length += 4;
  length = (length + 4 + 3) & ~3;
  if (length === 12) length += 4; // keep room to turn it into a time extend + padding
  return length;
}

export class CpuRingBuffer {
  readonly subbufSize: number;
  /** Data bytes per sub-buffer (BUF_PAGE_SIZE). */
  readonly dataSize: number;
  readonly overwrite: boolean;
  readonly absoluteTimestamps: boolean;
  /** Raw sub-buffers by internal page index; page `pages.length - 1` starts as the reader. */
  pages: Uint8Array[] = [];
  private views: DataView[] = [];
  private next: number[] = [];
  private prev: number[] = [];
  private writeIdx: number[] = [];
  private pageEntries: number[] = [];
  private readIdx: number[] = [];
  private realEnd: number[] = [];
  /** Mapping ids by page index (-1 until the first map). */
  private ids: number[] = [];
  private byId: number[] = [];
  head = 0;
  tail = 0;
  commit = 0;
  reader = 0;
  /** cpu_buffer->pages: where a reset restarts the ring. */
  private anchor = 0;

  entries = 0;
  overrun = 0;
  read = 0;
  dropped = 0;
  private lostEvents = 0;
  private lastOverrun = 0;
  private writeStamp = 0;
  private lastTs = 0;
  recording = true;
  private mapCount = 0;
  private readonly metaBytes = new Uint8Array(80);
  private readonly metaView = new DataView(this.metaBytes.buffer);
  /** Page of the last reservation (and a DataView over it), filled by `reserve`. */
  reservedPage: Uint8Array = new Uint8Array(0);
  reservedView: DataView = new DataView(new ArrayBuffer(0));
  private pendingCommit = false;

  constructor(options: RingBufferOptions) {
    const size = options.subbufSize ?? 4096;
    if (size < 4096 || size > 1 << 20 || (size & (size - 1)) !== 0) {
      throw new RangeError(`sub-buffer size ${size} is not a power of two in 4 KiB..1 MiB`);
    }
    if (!(options.nrPages >= 2)) throw new RangeError(`nrPages ${options.nrPages} is below 2`);
    this.subbufSize = size;
    this.dataSize = size - HEADER_BYTES;
    this.overwrite = options.overwrite ?? true;
    this.absoluteTimestamps = options.absoluteTimestamps ?? false;
    for (let i = 0; i < options.nrPages; i++) this.allocPage();
    for (let i = 0; i < options.nrPages; i++) {
      this.next[i] = (i + 1) % options.nrPages;
      this.prev[i] = (i + options.nrPages - 1) % options.nrPages;
    }
    this.reader = this.allocPage();
    this.next[this.reader] = this.reader;
    this.prev[this.reader] = this.reader;
    this.head = this.tail = this.commit = this.anchor = 0;
  }

  private allocPage(): number {
    const i = this.pages.length;
    const page = new Uint8Array(this.subbufSize);
    this.pages.push(page);
    this.views.push(new DataView(page.buffer));
    this.writeIdx.push(0);
    this.pageEntries.push(0);
    this.readIdx.push(0);
    this.realEnd.push(0);
    this.ids.push(-1);
    return i;
  }

  get nrPages(): number {
    return this.pages.length - 1;
  }

  get mapped(): boolean {
    return this.mapCount > 0;
  }

  // ---- commit word -------------------------------------------------------------------------

  private commitLow(p: number): number {
    return this.views[p].getUint32(8, true);
  }

  private pageSize(p: number): number {
    return this.commitLow(p) & COMMIT_MASK;
  }

  /** local_set(&page->commit, v) for a plain size. */
  private setCommit(p: number, v: number): void {
    this.views[p].setUint32(8, v, true);
    this.views[p].setUint32(12, 0, true);
  }

  // ---- writer ------------------------------------------------------------------------------

  /**
   * ring_buffer_lock_reserve: room for `len` payload bytes at time `tsNs`. Returns the payload
   * offset within `reservedPage`, or -1 when the event is dropped. Call `commitReserved()` next.
   */
  reserve(tsNs: number, len: number): number {
    if (!this.recording || len > this.dataSize - 8) return -1;
    // The kernel clock is monotonic per CPU; keep a model caller from going backwards.
    const ts = tsNs < this.lastTs ? this.lastTs : tsNs;
    this.lastTs = ts;
    let length = eventLength(len);
    let absolute = this.absoluteTimestamps;
    if (absolute) {
      length += 8;
      if (length > this.dataSize - 8) {
        absolute = false;
        length -= 8;
      }
    }
    for (let loops = 0; loops < 1000; loops++) {
      const page = this.tail;
      const w = this.writeIdx[page];
      let infoLength = length;
      let extend = false;
      let delta = 0;
      if (absolute) delta = ts;
      else if (w !== 0) {
        delta = ts - this.writeStamp;
        if (delta >= TS_BITS) {
          extend = true;
          infoLength += 8;
        }
      }
      const write = w + infoLength;
      this.writeIdx[page] = write;
      if (write > this.dataSize) {
        if (this.moveTail(w, infoLength, page)) continue;
        this.setCommitToWrite(); // rb_end_commit of the failed reservation
        return -1;
      }
      this.writeStamp = ts;
      if (w === 0 && !absolute) delta = 0;
      let at = HEADER_BYTES + w;
      const v = this.views[page];
      let rest = infoLength;
      if (extend || absolute) {
        const d = extend && w === 0 ? 0 : delta;
        const hi = Math.floor(d / TS_BITS);
        v.setUint32(
          at,
          (((d - hi * TS_BITS) << 5) | (absolute ? TYPE_TIME_STAMP : TYPE_TIME_EXTEND)) >>> 0,
          true,
        );
        v.setUint32(at + 4, hi >>> 0, true);
        at += 8;
        rest -= 8;
        delta = 0;
      }
      const body = rest - 4;
      let payloadAt: number;
      if (body > MAX_SMALL_DATA) {
        v.setUint32(at, ((delta << 5) | 0) >>> 0, true);
        v.setUint32(at + 4, body, true);
        payloadAt = at + 8;
      } else {
        v.setUint32(at, ((delta << 5) | ((body + 3) >> 2)) >>> 0, true);
        payloadAt = at + 4;
      }
      this.pageEntries[page]++;
      if (w === 0) {
        v.setUint32(0, ts % 2 ** 32, true);
        v.setUint32(4, Math.floor(ts / 2 ** 32), true);
      }
      this.reservedPage = this.pages[page];
      this.reservedView = v;
      this.pendingCommit = true;
      return payloadAt;
    }
    return -1;
  }

  /** ring_buffer_unlock_commit: count the event and publish it (raise the commit word). */
  commitReserved(): void {
    if (!this.pendingCommit) return;
    this.pendingCommit = false;
    this.entries++;
    this.setCommitToWrite();
  }

  /** Reserve, copy `payload`, commit. Returns false when the event was dropped. */
  write(tsNs: number, payload: Uint8Array, len = payload.length): boolean {
    const at = this.reserve(tsNs, len);
    if (at < 0) return false;
    this.reservedPage.set(len === payload.length ? payload : payload.subarray(0, len), at);
    this.commitReserved();
    return true;
  }

  /** rb_move_tail. True = moved to the next page (try again); false = event dropped. */
  private moveTail(tail: number, length: number, tailPage: number): boolean {
    const nextPage = this.next[tailPage];
    if (nextPage === this.commit) {
      this.resetTail(tail, length, tailPage); // commit_overrun: only with nested writers
      return false;
    }
    // rb_is_head_page: only a ring page's pointer carries the HEAD flag; leaving the reader page
    // never pushes the head.
    if (nextPage === this.head && tailPage !== this.reader && this.commit !== this.reader) {
      if (!this.overwrite) {
        this.dropped++;
        this.resetTail(tail, length, tailPage);
        return false;
      }
      // rb_handle_head_page: the oldest page is lost.
      this.overrun += this.pageEntries[nextPage];
      this.head = this.next[nextPage];
    }
    // rb_tail_page_update
    this.writeIdx[nextPage] = 0;
    this.pageEntries[nextPage] = 0;
    this.setCommit(nextPage, 0);
    this.tail = nextPage;
    this.resetTail(tail, length, tailPage);
    this.setCommitToWrite();
    return true;
  }

  /** rb_reset_tail: pad the page the event did not fit on. */
  private resetTail(tail: number, length: number, page: number): void {
    const bsize = this.dataSize;
    if (tail >= bsize) {
      if (tail === bsize) this.realEnd[page] = 0;
      this.writeIdx[page] -= length;
      return;
    }
    const v = this.views[page];
    const at = HEADER_BYTES + tail;
    this.realEnd[page] = tail;
    if (tail > bsize - 8) {
      // Null padding (delta 0): only the type/delta word is written.
      v.setUint32(at, TYPE_PADDING, true);
      this.writeIdx[page] -= length;
      return;
    }
    v.setUint32(at, (1 << 5) | TYPE_PADDING, true);
    v.setUint32(at + 4, bsize - tail - 4, true);
    this.writeIdx[page] -= tail + length - bsize;
  }

  /** rb_set_commit_to_write */
  private setCommitToWrite(): void {
    let guard = this.pages.length * 2;
    while (this.commit !== this.tail && guard-- > 0) {
      this.setCommit(this.commit, this.writeIdx[this.commit]);
      this.commit = this.next[this.commit];
    }
    this.setCommit(this.commit, this.writeIdx[this.commit]);
  }

  // ---- reader ------------------------------------------------------------------------------

  /** rb_num_of_entries */
  unread(): number {
    return this.entries - (this.overrun + this.read);
  }

  /** rb_per_cpu_empty */
  private isEmpty(): boolean {
    const r = this.reader;
    if (this.readIdx[r] !== this.pageSize(r)) return false;
    if (this.commit === r) return true;
    if (this.commit !== this.head) return false;
    return this.commitLow(this.commit) === 0;
  }

  /** rb_get_reader_page: swap the head in when the reader page is used up. -1 = nothing. */
  private getReaderPage(): number {
    for (let loops = 0; loops < 3; loops++) {
      const r = this.reader;
      if (this.readIdx[r] < this.pageSize(r)) return r;
      if (this.commit === r || this.unread() === 0) return -1;
      this.writeIdx[r] = 0;
      this.pageEntries[r] = 0;
      this.realEnd[r] = 0;
      const h = this.head;
      // Splice the old reader page into the head's slot; the page after it becomes the head.
      this.next[r] = this.next[h];
      this.prev[r] = this.prev[h];
      this.anchor = this.prev[h];
      this.next[this.prev[h]] = r;
      this.prev[this.next[h]] = r;
      this.head = this.next[h];
      this.reader = h;
      this.readIdx[h] = 0;
      if (this.overrun !== this.lastOverrun) {
        this.lostEvents = this.overrun - this.lastOverrun;
        this.lastOverrun = this.overrun;
      }
    }
    return -1;
  }

  /** rb_advance_reader over one record of the reader page. */
  private advanceReader(): void {
    const r = this.reader;
    const v = this.views[r];
    const at = HEADER_BYTES + this.readIdx[r];
    const w = v.getUint32(at, true);
    const typeLen = w & 31;
    let length: number;
    if (typeLen <= 28) {
      this.read++;
      length = typeLen ? 4 + 4 * typeLen : 4 + v.getUint32(at + 4, true);
    } else if (typeLen === TYPE_PADDING) {
      length = 4 + v.getUint32(at + 4, true);
    } else {
      length = 8;
    }
    this.readIdx[r] += length;
  }

  /** ring_buffer_map (first user mapping assigns ids: reader 0, head 1, then ring order). */
  map(): void {
    if (this.mapCount++ > 0) return;
    this.ids.fill(-1);
    this.byId = [this.reader];
    this.ids[this.reader] = 0;
    let p = this.head;
    do {
      this.ids[p] = this.byId.length;
      this.byId.push(p);
      p = this.next[p];
    } while (p !== this.head && this.byId.length <= this.pages.length);
    this.updateMeta();
  }

  unmap(): void {
    if (this.mapCount > 0) this.mapCount--;
  }

  /** TRACE_MMAP_IOCTL_GET_READER (ring_buffer_map_get_reader). Throws ENODEV when unmapped. */
  getReader(): void {
    if (!this.mapped)
      throw Object.assign(new Error('ENODEV: buffer is not mapped'), {code: 'ENODEV'});
    for (let loops = 0; loops < this.pages.length + 2; loops++) {
      if (this.isEmpty()) break;
      const size = this.pageSize(this.reader);
      if (this.readIdx[this.reader] < size) {
        while (this.readIdx[this.reader] < size) this.advanceReader();
        break;
      }
      const r = this.getReaderPage();
      if (r < 0) break;
      const missed = this.lostEvents;
      if (r !== this.commit && missed) {
        if (this.realEnd[r]) this.setCommit(r, this.realEnd[r]);
        const commit = this.pageSize(r);
        const v = this.views[r];
        let low = commit;
        if (this.dataSize - commit >= 8) {
          v.setUint32(HEADER_BYTES + commit, missed % 2 ** 32, true);
          v.setUint32(HEADER_BYTES + commit + 4, Math.floor(missed / 2 ** 32), true);
          low += MISSED_STORED;
        }
        // RB_MISSED_EVENTS is the int 1<<31: local_add sign-extends it into bits 63..31.
        v.setUint32(8, (low + MISSED_EVENTS) >>> 0, true);
        v.setUint32(12, 0xffffffff, true);
      }
      this.lostEvents = 0;
    }
    this.updateMeta();
  }

  /** rb_reset_cpu (`echo > trace`): every page empties, counters go to 0, the meta is rewritten. */
  reset(): void {
    this.head = this.anchor;
    for (let p = 0; p < this.pages.length; p++) {
      this.writeIdx[p] = 0;
      this.pageEntries[p] = 0;
      this.readIdx[p] = 0;
      this.setCommit(p, 0);
    }
    this.tail = this.commit = this.head;
    this.next[this.reader] = this.reader;
    this.prev[this.reader] = this.reader;
    this.entries = this.overrun = this.read = this.dropped = 0;
    this.writeStamp = 0;
    this.lostEvents = this.lastOverrun = 0;
    this.pendingCommit = false;
    if (this.mapped) this.updateMeta();
  }

  /**
   * Change the ring size of an unmapped, empty buffer the way a write to buffer_size_kb does
   * (rb_remove_pages removes the pages after the tail; rb_insert_pages adds before the head).
   */
  resize(nrPages: number): void {
    if (this.mapped) throw Object.assign(new Error('EBUSY: buffer is mapped'), {code: 'EBUSY'});
    if (nrPages < 2) throw new RangeError(`nrPages ${nrPages} is below 2`);
    const have = this.nrPages;
    if (nrPages < have) {
      const from = this.tail === this.reader ? this.next[this.tail] : this.tail;
      let last = from;
      let headRemoved = false;
      for (let i = 0; i < have - nrPages; i++) {
        last = this.next[last];
        if (last === this.head) headRemoved = true;
      }
      const after = this.next[last];
      this.next[from] = after;
      this.prev[after] = from;
      this.anchor = after;
      if (headRemoved) this.head = after;
    } else {
      for (let i = have; i < nrPages; i++) {
        const p = this.allocPage();
        const before = this.prev[this.head];
        this.next[before] = p;
        this.prev[p] = before;
        this.next[p] = this.head;
        this.prev[this.head] = p;
      }
    }
    // Drop unlinked pages, renumbering the survivors.
    const keep: number[] = [this.reader];
    let p = this.head;
    do {
      keep.push(p);
      p = this.next[p];
    } while (p !== this.head);
    const remap = new Map(keep.map((old, i) => [old, i] as const));
    const pick = <T>(a: T[]) => keep.map((old) => a[old]);
    this.pages = pick(this.pages);
    this.views = pick(this.views);
    this.writeIdx = pick(this.writeIdx);
    this.pageEntries = pick(this.pageEntries);
    this.readIdx = pick(this.readIdx);
    this.realEnd = pick(this.realEnd);
    this.ids = keep.map(() => -1);
    const at = (old: number) => remap.get(old) ?? 0;
    this.next = keep.map((old) => at(this.next[old]));
    this.prev = keep.map((old) => at(this.prev[old]));
    this.head = at(this.head);
    this.tail = at(this.tail);
    this.commit = at(this.commit);
    this.reader = at(this.reader);
    this.anchor = at(this.anchor);
  }

  // ---- what user space sees ----------------------------------------------------------------

  /** rb_update_meta_page */
  private updateMeta(): void {
    const v = this.metaView;
    v.setUint32(0, this.subbufSize, true);
    v.setUint32(4, 80, true);
    v.setUint32(8, this.subbufSize, true);
    v.setUint32(12, this.pages.length, true);
    setU64(v, 16, this.lostEvents);
    v.setUint32(24, this.ids[this.reader], true);
    v.setUint32(28, this.readIdx[this.reader], true);
    setU64(v, 32, 0);
    setU64(v, 40, this.entries);
    setU64(v, 48, this.overrun);
    setU64(v, 56, this.read);
  }

  /** The live 80-byte meta page (a view: copy it to keep it). */
  get meta(): Uint8Array {
    return this.metaBytes;
  }

  /** The live sub-buffer with mapping id `id` (a view into the model, like the kernel mapping). */
  subbuf(id: number): Uint8Array {
    const p = this.byId[id];
    if (p === undefined) throw new RangeError(`no sub-buffer with id ${id}`);
    return this.pages[p];
  }

  /** Mapping id of the reader page (what meta reader.id says after the next update). */
  get readerId(): number {
    return this.ids[this.reader];
  }
}

function setU64(v: DataView, off: number, x: number): void {
  v.setUint32(off, x % 2 ** 32, true);
  v.setUint32(off + 4, Math.floor(x / 2 ** 32), true);
}
