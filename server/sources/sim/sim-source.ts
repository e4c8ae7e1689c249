/**
 * The `sim` trace source: the ring-buffer model (one per CPU) filled by the synthetic workload,
 * read with the same consumer contract as the mmap source (kernel-abi.md §2.7): deliver what is
 * new on the reader sub-buffer as a copied slice with `from`, then GET_READER, then a meta
 * snapshot; a new reader id means a fresh sub-buffer; counters going down (or the reader page
 * shrinking under us) mean a reset. Time comes from `clock` (ms), so a seed plus an injected
 * clock give byte-identical output.
 */
import type {
  SourceBatch,
  SourceMetadata,
  SourceNotice,
  SourceOpenOptions,
  SourceOptions,
  TraceSource,
} from '../source.ts';
import {bundledFormats} from './format-offsets.ts';
import {CpuRingBuffer, nrPagesForBufferKb} from './ring-buffer-model.ts';
import {savedCmdlines} from './tasks.ts';
import {SyntheticWorkload} from './workload.ts';

export interface SimSourceOptions extends SourceOptions {
  /** Milliseconds, like Date.now(); inject for deterministic tests. */
  clock?: () => number;
  cpus?: number;
  /** Background events per second per CPU (0 = only what tests write). Default 3000. */
  rate?: number;
  /** Per-CPU buffer size (buffer_size_kb). Default 1410, the kernel's. */
  bufferKb?: number;
  /** Sub-buffer size in KiB (buffer_subbuf_size_kb), rounded up to a power of two. Default 4. */
  subbufKb?: number;
  seed?: number;
  /** options/overwrite; default true. */
  overwrite?: boolean;
  /** Longest pause of `wait()` when the next background event is further away. Default 10 ms. */
  pollMs?: number;
  /** Most simulated time one read generates; a longer gap is a pause. Default 10 s. */
  maxCatchUpMs?: number;
}

interface CpuReader {
  id: number;
  /** Data-relative offset delivered so far on sub-buffer `id`. */
  pos: number;
  seq: number;
  lastEntries: number;
  lastRead: number;
}

const KALLSYMS =
  'ffffffff8119c6e0 T process_timeout\nffffffff8122a1c0 T hrtimer_wakeup\n' +
  'ffffffff8122d4b0 T tick_nohz_handler\n' +
  'ffffffff812a1f30 T tracing_mark_write\n';

export class SimSource implements TraceSource {
  readonly kind = 'sim' as const;
  readonly buffers: CpuRingBuffer[] = [];
  workload!: SyntheticWorkload;
  private readers: CpuReader[] = [];
  private readonly clock: () => number;
  private startMs = 0;
  private nextCpu = 0;
  private opened = false;
  private closed = false;
  private readonly waiters = new Set<() => void>();
  private pendingNotices: SourceNotice[] = [];

  constructor(private readonly options: SimSourceOptions) {
    this.clock = options.clock ?? Date.now;
  }

  async open(options?: SourceOpenOptions): Promise<SourceMetadata> {
    if (!this.opened) {
      const o = this.options;
      const cpus = o.cpus ?? 4;
      if (!Number.isInteger(cpus) || cpus < 1 || cpus > 32) {
        throw new RangeError(`sim: cpus must be 1..32, not ${cpus}`);
      }
      let subbufSize = 4096;
      while (subbufSize < (o.subbufKb ?? 4) * 1024) subbufSize *= 2;
      const nrPages = nrPagesForBufferKb(o.bufferKb ?? 1410, subbufSize);
      for (let cpu = 0; cpu < cpus; cpu++) {
        const rb = new CpuRingBuffer({subbufSize, nrPages, overwrite: o.overwrite ?? true});
        rb.map();
        this.buffers.push(rb);
        this.readers.push({id: rb.readerId, pos: 0, seq: 0, lastEntries: 0, lastRead: 0});
      }
      this.workload = new SyntheticWorkload(this.buffers, {
        seed: o.seed ?? 1,
        rate: o.rate ?? 3000,
      });
      const unknown = this.workload.enableEvents(o.events ?? []);
      if (unknown.length) o.log?.(`sim: no bundled events match ${unknown.join(', ')}`);
      this.startMs = this.clock();
      this.opened = true;
      o.log?.(
        `sim: ${cpus} CPUs, ${nrPages + 1} sub-buffers of ${subbufSize} B, seed ${o.seed ?? 1}`,
      );
    }
    return this.metadata(options);
  }

  async metadata(options?: SourceOpenOptions): Promise<SourceMetadata> {
    const f = bundledFormats();
    const rb = this.buffers[0];
    return {
      kind: 'sim',
      cpus: this.buffers.map((_, i) => i),
      subbufSize: rb?.subbufSize ?? 4096,
      nrSubbufs: rb ? rb.nrPages + 1 : 0,
      littleEndian: true,
      headerPage:
        rb && rb.subbufSize !== 4096 ? headerPageFor(f.headerPage, rb.dataSize) : f.headerPage,
      headerEvent: f.headerEvent,
      formats: f.formats,
      savedCmdlines: savedCmdlines(this.buffers.length || (this.options.cpus ?? 4)),
      traceClock: 'local',
      ...(options?.includeSymbols ? {kallsyms: KALLSYMS, printkFormats: ''} : {}),
    };
  }

  /**
   * Run the workload up to the clock's present. A gap longer than `maxCatchUpMs` (nobody read
   * for a long time) is treated as a pause of the simulated machine, so one read never has to
   * generate minutes of events at once.
   */
  private catchUp(): void {
    const maxNs = (this.options.maxCatchUpMs ?? 10_000) * 1e6;
    const lagNs = (this.clock() - this.startMs) * 1e6 - this.workload.timeNs;
    if (lagNs > maxNs) this.startMs += (lagNs - maxNs) / 1e6;
    const simNs = (this.clock() - this.startMs) * 1e6;
    if (simNs > this.workload.timeNs) this.workload.advanceTime(simNs - this.workload.timeNs);
  }

  read(maxSlices: number): SourceBatch {
    const batch: SourceBatch = {slices: [], metas: [], notices: this.pendingNotices, caughtUp: []};
    this.pendingNotices = [];
    if (!this.opened || this.closed) return batch;
    this.catchUp();
    const n = this.buffers.length;
    for (let k = 0; k < n && batch.slices.length < maxSlices; k++) {
      const cpu = (this.nextCpu + k) % n;
      // The model's writer only moves in catchUp(), so a drained CPU is exactly caught up:
      // consumers may merge CPUs by time on that (as with the mmap source).
      if (this.pump(cpu, batch, maxSlices)) batch.caughtUp!.push(cpu);
    }
    this.nextCpu = (this.nextCpu + 1) % n;
    return batch;
  }

  /** The consumer loop of one CPU until nothing is new (true) or the batch is full (false). */
  private pump(cpu: number, batch: SourceBatch, maxSlices: number): boolean {
    const rb = this.buffers[cpu];
    const st = this.readers[cpu];
    // The meta page is shared memory that a reset rewrites without any ioctl: look first.
    this.checkReset(cpu, rb.meta, batch);
    // Bounded: one swap per sub-buffer, plus one extra ioctl where the writer's page grew.
    for (let guard = 0; guard < 2 * rb.nrPages + 8; guard++) {
      const page = rb.subbuf(st.id);
      const low = new DataView(page.buffer, page.byteOffset + 8, 4).getUint32(0, true);
      const size = low & 0x7ffffff;
      if (size < st.pos) {
        this.noteReset(cpu, batch, `cpu${cpu}: sub-buffer ${st.id} shrank below the read position`);
        st.pos = 0;
      }
      if (size > st.pos) {
        if (batch.slices.length >= maxSlices) return false;
        const stored = (low & 0xc0000000) >>> 0 === 0xc0000000 ? 8 : 0;
        batch.slices.push({
          cpu,
          subbufId: st.id,
          seq: st.seq++,
          bytes: page.slice(0, 16 + size + stored),
          from: st.pos,
        });
        st.pos = size;
      }
      const readBefore = new DataView(rb.meta.buffer).getUint32(28, true);
      rb.getReader();
      const meta = rb.meta.slice();
      batch.metas.push({cpu, timeMs: this.clock(), bytes: meta});
      if (this.checkReset(cpu, meta, batch)) continue;
      const id = new DataView(meta.buffer).getUint32(24, true);
      if (id !== st.id) {
        st.id = id;
        st.pos = 0;
        continue;
      }
      // Same sub-buffer: if that ioctl only marked the rest consumed, the next one may swap.
      if (new DataView(meta.buffer).getUint32(28, true) !== readBefore) continue;
      return true;
    }
    return false;
  }

  /** Counters going down = reset: re-sync to the reader page from its start. */
  private checkReset(cpu: number, meta: Uint8Array, batch: SourceBatch): boolean {
    const v = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
    const entries = v.getUint32(40, true) + v.getUint32(44, true) * 2 ** 32;
    const read = v.getUint32(56, true) + v.getUint32(60, true) * 2 ** 32;
    const st = this.readers[cpu];
    const reset = entries < st.lastEntries || read < st.lastRead;
    st.lastEntries = entries;
    st.lastRead = read;
    if (reset) {
      st.id = v.getUint32(24, true);
      st.pos = v.getUint32(28, true);
      this.noteReset(cpu, batch, `cpu${cpu}: buffer reset (counters went down)`);
    }
    return reset;
  }

  private noteReset(cpu: number, batch: SourceBatch, message: string): void {
    if (!batch.notices.some((x) => x.kind === 'reset' && x.cpu === cpu)) {
      batch.notices.push({kind: 'reset', cpu, message});
    }
  }

  /** True when some CPU has records the consumer has not taken. */
  private hasNewData(): boolean {
    return this.buffers.some((rb, cpu) => {
      const st = this.readers[cpu];
      const page = rb.subbuf(st.id);
      const size = new DataView(page.buffer, page.byteOffset + 8, 4).getUint32(0, true) & 0x7ffffff;
      return size !== st.pos || rb.unread() > 0;
    });
  }

  wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (!this.opened || this.closed || signal?.aborted) return Promise.resolve();
    this.catchUp();
    if (this.hasNewData()) return Promise.resolve();
    const simNs = (this.clock() - this.startMs) * 1e6;
    const dueMs = Math.max(0, (this.workload.nextEventNs() - simNs) / 1e6);
    const delay = Math.min(timeoutMs, Math.max(dueMs, this.options.pollMs ?? 10));
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, delay);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, {once: true});
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Move simulated time forward by `ns` on top of the clock (tests without a clock). */
  advanceTime(ns: number): void {
    this.startMs -= ns / 1e6;
    this.catchUp();
    this.wake();
  }

  /** trace_marker write on `cpu` (ftrace print); wakes waiters. */
  writeMarker(cpu: number, text: string): boolean {
    this.catchUp();
    const ok = this.workload.writeMarker(cpu, text);
    this.wake();
    return ok;
  }

  /** trace_marker_raw write on `cpu` (ftrace raw_data, u32 id first); wakes waiters. */
  writeRaw(cpu: number, bytes: Uint8Array): boolean {
    this.catchUp();
    const ok = this.workload.writeRaw(cpu, bytes);
    this.wake();
    return ok;
  }

  /** tracing_on: the writer stops (writes are refused) or resumes; clients get a notice. */
  setTracingOn(on: boolean): void {
    for (const rb of this.buffers) rb.recording = on;
    this.pendingNotices.push({
      kind: on ? 'tracing-on' : 'tracing-off',
      message: `sim: tracing ${on ? 'on' : 'off'}`,
    });
    this.wake();
  }

  /** `echo > trace`: reset every CPU buffer (readers notice it from the meta page). */
  resetBuffers(): void {
    for (const rb of this.buffers) rb.reset();
    this.wake();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const rb of this.buffers) rb.unmap();
    this.wake();
  }
}

/** header_page text for a non-default sub-buffer size (the data field's size follows it). */
function headerPageFor(text: string, dataSize: number): string {
  return text.replace(/(field: char data;\toffset:16;\tsize:)\d+/, `$1${dataSize}`);
}
