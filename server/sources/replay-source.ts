/**
 * `replay` source: plays a trace.dat back page by page as if it came from the kernel. Each
 * sub-buffer of the chosen buffer (the first one with CPU data, or `instance`) becomes one
 * SubbufSlice (from = 0, subbufId = -1, seq counting per CPU), CPUs merged by page timestamp.
 *
 * Pacing: `speed` 1 plays in real time by page timestamps, N plays N× faster, 0 hands out pages
 * as fast as `read()` is called. After the last page a single {kind: 'end'} notice follows.
 * The file is streamed through FileByteSource (positioned reads), never loaded whole.
 */
import {closeSync, fstatSync, openSync, readSync} from 'node:fs';
import {DecodeError} from '../../core/errors.ts';
import {layoutFor, type PageLayout} from '../../core/page-layout.ts';
import {readSubbufHeader} from '../../core/subbuffer.ts';
import type {ByteSource} from '../../core/tracedat/byte-source.ts';
import {CpuPageReader} from '../../core/tracedat/cpu-pages.ts';
import type {BufferInfo} from '../../core/tracedat/options.ts';
import {readTraceDat, type TraceDat} from '../../core/tracedat/tracedat-file.ts';
import type {
  EventFormatText,
  SourceBatch,
  SourceMetadata,
  SourceNotice,
  SourceOpenOptions,
  SubbufSlice,
  TraceSource,
} from './source.ts';

/** A ByteSource over a file descriptor: positioned reads, nothing cached. */
export class FileByteSource implements ByteSource {
  private fd: number;
  readonly size: number;

  private constructor(fd: number) {
    this.fd = fd;
    this.size = fstatSync(fd).size;
  }

  static open(path: string): FileByteSource {
    return new FileByteSource(openSync(path, 'r'));
  }

  read(offset: number, length: number): Uint8Array {
    const n = Math.max(0, Math.min(length, this.size - offset));
    const buf = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const r = readSync(this.fd, buf, done, n - done, offset + done);
      if (r <= 0) break;
      done += r;
    }
    return done === n ? buf : buf.subarray(0, done);
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

export interface ReplayOptions {
  /** trace.dat path (or give `source`). */
  file?: string;
  source?: ByteSource;
  /** 1 = real time, N = N× faster, 0 = as fast as read() is called (default 1). */
  speed?: number;
  /** Buffer (instance) name to play; default: the first buffer that has CPU data. */
  instance?: string;
  /** Clock for pacing, in ms (tests inject one). */
  now?: () => number;
}

interface CpuCursor {
  cpu: number;
  pages: CpuPageReader;
  seq: number;
  /** Header timestamp of the pending page, or NaN when the CPU is done. */
  ts: number;
  /** The pending page (copied, header to end of committed data + stored count). */
  bytes?: Uint8Array;
}

const NAME_RE = /^name:\s*(\S+)/m;

export class ReplaySource implements TraceSource {
  readonly kind = 'replay' as const;
  private src?: ByteSource;
  private ownsSource = false;
  private dat?: TraceDat;
  private buffer?: BufferInfo;
  private layout?: PageLayout;
  private cursors: CpuCursor[] = [];
  private readonly speed: number;
  private readonly now: () => number;
  private startWallMs = NaN;
  private startTs = NaN;
  private ended = false;
  private endSent = false;
  private readonly pendingNotices: SourceNotice[] = [];

  constructor(private readonly options: ReplayOptions) {
    this.speed = options.speed ?? 1;
    if (!(this.speed >= 0)) throw new Error(`replay speed must be >= 0, got ${options.speed}`);
    this.now = options.now ?? (() => performance.now());
  }

  async open(options?: SourceOpenOptions): Promise<SourceMetadata> {
    if (!this.dat) {
      if (this.options.source) this.src = this.options.source;
      else if (this.options.file) {
        this.src = FileByteSource.open(this.options.file);
        this.ownsSource = true;
      } else throw new Error('replay needs a trace.dat file');
      this.dat = readTraceDat(this.src);
      const candidates = this.dat.buffers.filter(
        (b) => !b.latency && b.cpus.some((c) => c.size > 0),
      );
      const want = this.options.instance;
      this.buffer =
        want === undefined ? candidates[0] : this.dat.buffers.find((b) => b.name === want);
      if (!this.buffer) {
        throw new Error(
          want === undefined
            ? 'the trace.dat has no CPU data'
            : `no buffer '${want}' in the trace.dat`,
        );
      }
      this.layout = layoutFor(this.buffer.pageSize, this.dat.longSize, this.dat.littleEndian);
      for (const ref of this.buffer.cpus) {
        if (ref.size === 0) continue;
        const c: CpuCursor = {
          cpu: ref.cpu,
          pages: new CpuPageReader(this.dat, this.buffer, ref),
          seq: 0,
          ts: NaN,
        };
        this.advance(c);
        this.cursors.push(c);
      }
    }
    return this.metadata(options);
  }

  async metadata(options?: SourceOpenOptions): Promise<SourceMetadata> {
    const dat = this.dat;
    const buffer = this.buffer;
    if (!dat || !buffer) throw new Error('replay source is not open');
    const formats: EventFormatText[] = [];
    for (const text of dat.ftraceFormats)
      formats.push({system: 'ftrace', name: NAME_RE.exec(text)?.[1] ?? '', text});
    for (const f of dat.eventFormats)
      formats.push({system: f.system, name: NAME_RE.exec(f.text)?.[1] ?? '', text: f.text});
    const meta: SourceMetadata = {
      kind: 'replay',
      instance: buffer.name,
      cpus: buffer.cpus.filter((c) => c.size > 0).map((c) => c.cpu),
      subbufSize: buffer.pageSize,
      nrSubbufs: 0,
      littleEndian: dat.littleEndian,
      headerPage: dat.headerPage,
      headerEvent: dat.headerEvent,
      formats,
      savedCmdlines: dat.cmdlines,
      traceClock: buffer.clock || dat.clock || 'local',
    };
    if (options?.includeSymbols) {
      meta.kallsyms = dat.kallsyms;
      meta.printkFormats = dat.printk;
    }
    return meta;
  }

  /** Load the CPU's next non-empty page into `c` (NaN ts when done). */
  private advance(c: CpuCursor): void {
    const layout = this.layout!;
    const p = c.pages;
    for (;;) {
      try {
        if (!p.next()) break;
      } catch (e) {
        // The CPU's data cannot be read further (truncated, bad chunk): end this CPU.
        if (!(e instanceof DecodeError)) throw e;
        this.pendingNotices.push({kind: 'error', cpu: c.cpu, message: e.message});
        break;
      }
      try {
        const view = new DataView(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
        const h = readSubbufHeader(
          view,
          p.base,
          p.available,
          layout,
          `${p.where} page ${p.pageIndex}`,
        );
        if (h.size === 0 && !h.missedEvents) continue;
        const end = layout.dataOffset + h.size + (h.missedStored ? layout.longSize : 0);
        c.bytes = p.bytes.slice(p.base, p.base + end);
        c.ts = h.timestamp;
        return;
      } catch (e) {
        // A damaged page header: report it and go on with the next page.
        if (!(e instanceof DecodeError)) throw e;
        this.pendingNotices.push({kind: 'error', cpu: c.cpu, message: e.message});
      }
    }
    c.bytes = undefined;
    c.ts = NaN;
  }

  /** The CPU whose pending page is oldest, or undefined when all are done. */
  private oldest(): CpuCursor | undefined {
    let best: CpuCursor | undefined;
    for (const c of this.cursors) {
      if (Number.isNaN(c.ts)) continue;
      if (!best || c.ts < best.ts) best = c;
    }
    return best;
  }

  /** Page timestamp that may be delivered now (Infinity when speed is 0). */
  private horizon(): number {
    if (this.speed === 0) return Infinity;
    const first = this.oldest();
    if (Number.isNaN(this.startWallMs) && first) {
      this.startWallMs = this.now();
      this.startTs = first.ts;
    }
    return this.startTs + (this.now() - this.startWallMs) * 1e6 * this.speed;
  }

  read(maxSlices: number): SourceBatch {
    const slices: SubbufSlice[] = [];
    const notices: SourceNotice[] = this.pendingNotices.splice(0);
    if (!this.dat) throw new Error('replay source is not open');
    const horizon = this.horizon();
    while (slices.length < maxSlices) {
      const c = this.oldest();
      if (!c) break;
      if (c.ts > horizon) break;
      slices.push({cpu: c.cpu, subbufId: -1, seq: c.seq++, bytes: c.bytes!, from: 0});
      this.advance(c);
    }
    notices.push(...this.pendingNotices.splice(0));
    if (!this.oldest()) this.ended = true;
    if (this.ended && !this.endSent) {
      this.endSent = true;
      notices.push({kind: 'end', message: 'replay finished: no more pages in the trace.dat'});
    }
    return {slices, metas: [], notices};
  }

  wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    let delayMs = timeoutMs;
    const next = this.oldest();
    if (this.endSent) delayMs = timeoutMs;
    else if (!next || this.ended || this.speed === 0) delayMs = 0;
    else {
      const due = (next.ts - this.horizon()) / 1e6 / this.speed;
      delayMs = Math.max(0, Math.min(timeoutMs, due));
    }
    if (delayMs <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, delayMs);
      function done(): void {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, {once: true});
    });
  }

  async close(): Promise<void> {
    if (this.ownsSource && this.src instanceof FileByteSource) this.src.close();
    this.ownsSource = false;
    this.cursors = [];
  }
}
