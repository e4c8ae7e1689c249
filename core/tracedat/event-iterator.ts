/**
 * Events of a trace.dat in the order `trace-cmd report` prints them: each CPU's pages are decoded
 * one at a time (core/subbuffer.ts) and the CPUs of all selected buffers are merged by
 * timestamp, lowest first; on a tie the earlier stream wins (buffers in file order, then CPUs
 * ascending), exactly like tracecmd_iterate_events_multi's strict `<` scan.
 *
 * The iterator is a cursor: `next()` moves it and the current event is read from its fields,
 * so no object is made per event. A corrupt page is counted in `errors` and skipped (the
 * events before the damage are kept); only metadata problems throw.
 */
import {DecodeError} from '../errors.ts';
import {layoutFor, type PageLayout} from '../page-layout.ts';
import {EventColumns, decodeSubbuf} from '../subbuffer.ts';
import {CpuPageReader} from './cpu-pages.ts';
import type {BufferInfo} from './options.ts';
import type {TraceDat} from './tracedat-file.ts';

/** Cap on kept errors; `errorCount` keeps counting. */
const MAX_ERRORS = 100;

/** One CPU's stream: the events of its current page, decoded into columns. */
export class CpuEventStream {
  readonly pages: CpuPageReader;
  readonly cols = new EventColumns(256);
  readonly layout: PageLayout;
  /** Index of the current event in `cols`; `cols.length` when the page is used up. */
  index = 0;
  /** Lost-event count reported by the current page (0, -1 unknown, N). */
  pageLost = 0;
  done = false;

  constructor(
    dat: TraceDat,
    readonly buffer: BufferInfo,
    readonly bufferIndex: number,
    readonly cpu: number,
    private readonly onError: (e: DecodeError) => void,
  ) {
    const ref = buffer.cpus.find((d) => d.cpu === cpu)!;
    this.pages = new CpuPageReader(dat, buffer, ref);
    this.layout = layoutFor(buffer.pageSize, dat.longSize, dat.littleEndian);
  }

  /** Bytes the current page's events point into (the page reader's, or a repaired copy). */
  bytes: Uint8Array = new Uint8Array(0);

  /** Load pages until one has events; false when the CPU has no more. */
  loadNextPage(): boolean {
    for (;;) {
      let more: boolean;
      try {
        more = this.pages.next();
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        this.onError(e);
        more = false;
      }
      if (!more) {
        this.done = true;
        return false;
      }
      this.cols.clear();
      this.index = 0;
      const where = `${this.pages.where} page ${this.pages.pageIndex}`;
      const p = this.pages;
      try {
        this.bytes = p.bytes;
        const r = decodeSubbuf(p.bytes, p.base, p.available, this.layout, this.cols, {where});
        if (r.error) this.onError(r.error);
        this.pageLost = this.firstRecordAtStart(p.base) ? r.header.lostEvents : 0;
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        this.onError(e);
        continue;
      }
      if (this.cols.length > 0) return true;
    }
  }

  /**
   * kbuffer reports a page's lost events only on a first record that starts the page
   * (kbuffer_missed_events: `curr == 0`); after a leading time extend/stamp they are not shown.
   */
  private firstRecordAtStart(pageBase: number): boolean {
    if (this.cols.length === 0) return false;
    const data = pageBase + this.layout.dataOffset;
    const rel = this.cols.payloadOffset[0] - data;
    if (rel === 4) return true;
    if (rel !== 8) return false;
    const w = this.bytes[this.layout.littleEndian ? data : data + 3];
    return (this.layout.littleEndian ? w & 31 : w >>> 3) === 0;
  }
}

export interface IteratorOptions {
  /** Buffers to read by index into `dat.buffers` (default: all). */
  buffers?: number[];
  /** Only these CPUs (default: all). */
  cpus?: number[];
}

export class TraceEventIterator {
  readonly streams: CpuEventStream[] = [];
  readonly errors: DecodeError[] = [];
  errorCount = 0;

  // The current event (valid after next() returned true).
  stream!: CpuEventStream;
  cpu = -1;
  bufferIndex = -1;
  /** Raw timestamp from the ring buffer (clock units). */
  tsNs = 0;
  /** Buffer holding the record, and where its payload (starting at common_type) is. */
  bytes: Uint8Array = new Uint8Array(0);
  payloadOffset = 0;
  payloadLen = 0;
  /** Events lost just before this one on its CPU: 0 none, -1 unknown count, else the count. */
  lost = 0;

  constructor(dat: TraceDat, options: IteratorOptions = {}) {
    const onError = (e: DecodeError): void => {
      this.errorCount++;
      if (this.errors.length < MAX_ERRORS) this.errors.push(e);
    };
    const picked = options.buffers ?? dat.buffers.map((_, i) => i);
    for (const bi of picked) {
      const b = dat.buffers[bi];
      if (!b || b.latency) continue;
      for (const d of b.cpus) {
        if (d.size === 0) continue;
        if (options.cpus && !options.cpus.includes(d.cpu)) continue;
        try {
          const s = new CpuEventStream(dat, b, bi, d.cpu, onError);
          this.streams.push(s);
          s.loadNextPage();
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
          onError(e);
        }
      }
    }
  }

  /** Move to the next event in time order; false at the end. */
  next(): boolean {
    const streams = this.streams;
    let best: CpuEventStream | undefined;
    let bestTs = 0;
    for (let i = 0; i < streams.length; i++) {
      const s = streams[i];
      if (s.done) continue;
      const ts = s.cols.tsNs[s.index];
      if (best === undefined || ts < bestTs) {
        best = s;
        bestTs = ts;
      }
    }
    if (!best) return false;
    const i = best.index;
    this.stream = best;
    this.cpu = best.cpu;
    this.bufferIndex = best.bufferIndex;
    this.tsNs = bestTs;
    this.bytes = best.bytes;
    this.payloadOffset = best.cols.payloadOffset[i];
    this.payloadLen = best.cols.payloadLen[i];
    this.lost = i === 0 ? best.pageLost : 0;
    best.index = i + 1;
    if (best.index >= best.cols.length) {
      // Keep the page bytes alive for the caller: the next page gets a new array (batch reads and
      // decompressed chunks are never reused), so `this.bytes` stays valid until the next next().
      best.loadNextPage();
    }
    return true;
  }
}
