/**
 * The kernel-facing half of the mmap reader loop for one CPU (kernel-abi.md §2.7):
 *
 *   copy what is new on the reader page → GET_READER ioctl → look at the meta page → repeat
 *
 * Rules that make it exact:
 * - On a fresh mapping `reader.read` bytes were consumed by someone before us: start there.
 * - After GET_READER the kernel treats the reader page as consumed up to its commit, and the next
 *   ioctl may swap it back to the writer. So the page is copied (never viewed) before every
 *   ioctl; the kernel never swaps a reader page we have not ioctl'ed past (§2.2).
 * - The meta page changes only on ioctl and on reset (asynchronously, §2.5): counters going down
 *   or the reader page's commit dropping below our position mean a reset; re-sync to the reader.
 */
import {COMMIT_MASK, MISSED_STORED} from '../../../core/subbuffer.ts';
import {
  META_STRUCT_LEN,
  TRACE_MMAP_IOCTL_GET_READER,
  parseMetaPage,
} from '../../../core/meta-page.ts';
import type {MetaSnapshot, SourceNotice, SubbufSlice} from '../source.ts';
import {
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  SysError,
  copyOut,
  pageSize,
  sysClose,
  sysIoctl,
  sysMmapShared,
  sysMunmap,
  sysOpen,
} from '../../kernel/ffi.ts';
import type {Mapping} from '../../kernel/ffi.ts';

/** Where a drain puts what it found; shared by all CPUs of one read(). */
export interface DrainSink {
  slices: SubbufSlice[];
  metas: MetaSnapshot[];
  notices: SourceNotice[];
  /** Bytes of new records delivered (for the wait pacer). */
  newBytes: number;
  /** CPUs drained to the end (SourceBatch.caughtUp). */
  caughtUp?: number[];
}

const W_READER_ID = 6;
const W_READER_READ = 7;
const W_ENTRIES = 10;
const W_OVERRUN = 12;
const W_READ = 14;

export class CpuReader {
  private fdNum: number;
  metaPageSize = 0;
  subbufSize = 0;
  nrSubbufs = 0;
  private meta: Mapping | undefined;
  private data: Mapping | undefined;
  private metaWords = new Uint32Array(0);
  private dataWords = new Uint32Array(0);
  private lastMeta: Uint8Array | undefined;
  /** The meta page as mapped, before any read (the counters' baseline); see SourceMetadata. */
  initialMeta: MetaSnapshot | undefined;
  /** True when the last drain() stopped because nothing more was committed (not the budget). */
  caughtUp = false;
  private id = 0;
  private pos = 0;
  private seq = 0;
  private lastEntries = 0;
  private lastRead = 0;
  private readonly longSize = 8;
  /** The file, for messages. */
  readonly where: string;

  /** close() closes the fd too (false when it was handed in: another reader owns it). */
  private readonly ownsFd: boolean;

  /**
   * Opens and maps `per_cpu/cpuN/trace_pipe_raw`, or maps `fd`, an open one owned elsewhere (the
   * reader thread maps the server's fds again: the kernel counts the mappings of a buffer).
   * Throws SysError (ENODEV: no mmap support).
   */
  constructor(
    readonly cpu: number,
    path: string,
    fd?: number,
  ) {
    this.where = path;
    this.ownsFd = fd === undefined;
    this.fdNum = fd ?? sysOpen(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    try {
      const page = pageSize();
      let meta = sysMmapShared(this.fd, page, 0, path);
      let words = new Uint32Array(meta.buffer);
      const metaPageSize = words[0] ?? 0;
      if (metaPageSize > page) {
        // The meta area is one sub-buffer long (§1.2): remap it whole.
        sysMunmap(meta);
        meta = sysMmapShared(this.fd, metaPageSize, 0, path);
        words = new Uint32Array(meta.buffer);
      }
      this.meta = meta;
      this.metaWords = words;
      const first = copyOut(meta.buffer, 0, META_STRUCT_LEN);
      this.initialMeta = {cpu, timeMs: Date.now(), bytes: first};
      const parsed = parseMetaPage(first, true, path);
      if (parsed.layout !== 'final') {
        throw new SysError('EPROTO', 71, `${path}: meta page has the ${parsed.layout} layout`);
      }
      this.metaPageSize = parsed.metaPageSize;
      this.subbufSize = parsed.subbufSize;
      this.nrSubbufs = parsed.nrSubbufs;
      this.data = sysMmapShared(this.fd, this.nrSubbufs * this.subbufSize, this.metaPageSize, path);
      this.dataWords = new Uint32Array(this.data.buffer);
      // Fresh mapping: skip what an earlier consumer already read (§2.3).
      this.id = parsed.readerId;
      this.pos = parsed.readerRead;
      this.lastEntries = parsed.entries;
      this.lastRead = parsed.read;
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** The open trace_pipe_raw fd (-1 after close). */
  get fd(): number {
    return this.fdNum;
  }

  private u64(word: number): number {
    return (this.metaWords[word + 1] ?? 0) * 2 ** 32 + (this.metaWords[word] ?? 0);
  }

  private commitWord(id: number): number {
    return this.dataWords[(id * this.subbufSize + 8) >>> 2] ?? 0;
  }

  /** Counters of the live meta page: entries, overrun, read. */
  counters(): {entries: number; overrun: number; read: number} {
    return {entries: this.u64(W_ENTRIES), overrun: this.u64(W_OVERRUN), read: this.u64(W_READ)};
  }

  /** True when the reader page has committed records we have not delivered. */
  hasPendingOnReaderPage(): boolean {
    return !!this.data && (this.commitWord(this.id) & COMMIT_MASK) > this.pos;
  }

  private snapshot(sink: DrainSink, force: boolean): void {
    if (!this.meta) return;
    const bytes = copyOut(this.meta.buffer, 0, META_STRUCT_LEN);
    const last = this.lastMeta;
    if (!force && last && sameBytes(last, bytes)) return;
    this.lastMeta = bytes;
    sink.metas.push({cpu: this.cpu, timeMs: Date.now(), bytes});
  }

  /** Counters went down, or the reader page shrank under us: the buffer was reset. */
  private resetSeen(): boolean {
    const size = this.commitWord(this.id) & COMMIT_MASK;
    return (
      this.u64(W_ENTRIES) < this.lastEntries || this.u64(W_READ) < this.lastRead || size < this.pos
    );
  }

  private resync(sink: DrainSink): void {
    this.id = this.metaWords[W_READER_ID] ?? 0;
    this.pos = Math.min(this.metaWords[W_READER_READ] ?? 0, this.commitWord(this.id) & COMMIT_MASK);
    this.lastEntries = this.u64(W_ENTRIES);
    this.lastRead = this.u64(W_READ);
    sink.notices.push({
      kind: 'reset',
      cpu: this.cpu,
      message: `cpu${this.cpu}: ring buffer was reset; re-synced to sub-buffer ${this.id}`,
    });
    this.snapshot(sink, true);
  }

  /** Copy [0, commit end (+ stored lost count)) of the reader page as a slice from `pos`. */
  private emit(sink: DrainSink, w: number): void {
    const size = w & COMMIT_MASK;
    let len = 16 + size;
    if (w & MISSED_STORED && len + this.longSize <= this.subbufSize) len += this.longSize;
    const bytes = copyOut(this.data!.buffer, this.id * this.subbufSize, len);
    // The writer may have committed more between reading `w` and the copy: keep the header
    // consistent with the bytes we took (the low word is what the kernel had when we read it).
    new Uint32Array(bytes.buffer, 0, 4)[2] = w; // host order, like the mapping it came from
    sink.slices.push({cpu: this.cpu, subbufId: this.id, seq: this.seq++, bytes, from: this.pos});
    sink.newBytes += size - this.pos;
    this.pos = size;
  }

  /** Emit the meta page as first seen (once), without touching the buffer. */
  baseline(sink: DrainSink): void {
    if (this.meta && !this.lastMeta) this.snapshot(sink, true);
  }

  /**
   * Deliver what is new, at most `budget` slices. Stops before copying when the budget is used
   * up (nothing is lost: the reader page stays ours until our next ioctl). Returns slices added.
   * The meta page goes into the sink once per drain, after this CPU's slices, when it changed
   * (its counters are cumulative: the last one says it all; a reset adds its own snapshot).
   */
  drain(sink: DrainSink, budget: number): number {
    this.caughtUp = false;
    if (!this.data || !this.meta) return 0;
    this.baseline(sink);
    const added = this.drainSlices(sink, budget);
    this.snapshot(sink, false);
    return added;
  }

  private drainSlices(sink: DrainSink, budget: number): number {
    let added = 0;
    // Bounded: at most one lap of the ring per call, so read() never runs away.
    for (let round = 0; round < this.nrSubbufs + 3; round++) {
      if (this.resetSeen()) {
        this.resync(sink);
        continue;
      }
      const w = this.commitWord(this.id);
      if ((w & COMMIT_MASK) > this.pos) {
        if (added >= budget) return added;
        this.emit(sink, w);
        added++;
      }
      // Records on the reader page the kernel has not consumed: this ioctl advances over them
      // and does not swap (kernel-abi.md §2.2).
      const consumesOnly =
        (this.commitWord(this.id) & COMMIT_MASK) > (this.metaWords[W_READER_READ] ?? 0);
      try {
        sysIoctl(this.fd, TRACE_MMAP_IOCTL_GET_READER, this.where);
      } catch (e) {
        sink.notices.push({
          kind: 'error',
          cpu: this.cpu,
          message: `cpu${this.cpu}: GET_READER failed: ${(e as Error).message}`,
        });
        return added;
      }
      const entries = this.u64(W_ENTRIES);
      const read = this.u64(W_READ);
      if (entries < this.lastEntries || read < this.lastRead) {
        this.resync(sink);
        continue;
      }
      this.lastEntries = entries;
      this.lastRead = read;
      const newId = this.metaWords[W_READER_ID] ?? 0;
      if (newId !== this.id) {
        // A swap: the new reader page is whole and ours (the kernel advanced over all of it).
        this.id = newId;
        this.pos = 0;
        continue;
      }
      // No swap. If that ioctl only consumed the reader page, the writer may have filled other
      // sub-buffers meanwhile and only the next ioctl swaps one in: caught up only after an
      // ioctl that had nothing to consume and still did not swap.
      if ((this.commitWord(this.id) & COMMIT_MASK) <= this.pos && !consumesOnly) {
        this.caughtUp = true;
        return added;
      }
    }
    return added;
  }

  /** Unmap and close (the fd only if opened here). Safe to call twice and at signal time. */
  close(): SysError | undefined {
    const errors: (SysError | undefined)[] = [];
    if (this.data) errors.push(sysMunmap(this.data));
    if (this.meta) errors.push(sysMunmap(this.meta));
    this.data = undefined;
    this.meta = undefined;
    this.metaWords = new Uint32Array(0);
    this.dataWords = new Uint32Array(0);
    if (this.fdNum >= 0 && this.ownsFd) errors.push(sysClose(this.fdNum));
    this.fdNum = -1;
    return errors.find((e) => e !== undefined);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
