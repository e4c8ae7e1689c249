/**
 * read() of `per_cpu/cpuN/trace_pipe_raw`: for kernels before 6.10 or files that refuse mmap.
 * Each read returns one whole sub-buffer in the kernel's format (the kernel copies the events
 * into a spare page and sets commit + MISSED flags), so the frames are the same as mmap's,
 * minus the meta page: slices carry subbufId -1 and from 0, and there are no MetaSnapshots.
 * Non-blocking fds: EAGAIN means "no data now"; waiting is the shared poll()-based wait.
 */
import {closeSync, constants, existsSync, openSync, readSync} from 'node:fs';
import {endianness} from 'node:os';
import {COMMIT_MASK, MISSED_STORED} from '../../core/subbuffer.ts';
import type {
  SourceBatch,
  SourceMetadata,
  SourceOpenOptions,
  SubbufSlice,
  TraceSource,
} from './source.ts';
import type {InstanceSession} from './mmap/instance-session.ts';
import {KernelSourceBase} from './mmap/kernel-source-base.ts';
import {pageSize} from '../kernel/ffi.ts';

const LITTLE = endianness() === 'LE';

function pageSizeKb(): number {
  try {
    return pageSize() / 1024;
  } catch {
    return 4; // no koffi here: the common page size
  }
}

interface CpuFile {
  cpu: number;
  fd: number;
  seq: number;
}

export class ReadSource extends KernelSourceBase implements TraceSource {
  readonly kind = 'read' as const;
  /** read() maps nothing, so buffer-size works here (see instance-control.ts). */
  protected readonly mapped = false;
  private files: CpuFile[] = [];
  private subbufSize = 4096;
  private scratch = Buffer.alloc(0);

  protected openFiles(session: InstanceSession): void {
    // buffer_subbuf_size_kb appeared in 6.8; older kernels use one system page.
    const kb = existsSync(session.instance.path('buffer_subbuf_size_kb'))
      ? Number(session.instance.read('buffer_subbuf_size_kb').trim())
      : pageSizeKb();
    this.subbufSize = Number.isFinite(kb) && kb > 0 ? kb * 1024 : 4096;
    this.scratch = Buffer.alloc(this.subbufSize);
    for (const cpu of session.cpus) {
      const fd = openSync(
        session.instance.path(`per_cpu/cpu${cpu}/trace_pipe_raw`),
        constants.O_RDONLY | constants.O_NONBLOCK,
      );
      this.files.push({cpu, fd, seq: 0});
      session.onClose(() => closeSync(fd));
    }
    const perCpuKb = Number(session.instance.read('buffer_size_kb').trim()) || 1410;
    session.startWaiting(
      this.files.map((f) => f.fd),
      this.subbufSize,
      perCpuKb * 1024 * this.files.length,
    );
  }

  protected dropFiles(): void {
    this.files = [];
  }

  async metadata(o?: SourceOpenOptions): Promise<SourceMetadata> {
    const s = this.session;
    if (!s) throw new Error('ReadSource: metadata() before open()');
    return s.metadata('read', this.subbufSize, 0, o);
  }

  /** One read(); undefined when the CPU has nothing now. Errors other than EAGAIN are thrown. */
  private readOne(f: CpuFile): SubbufSlice | undefined {
    let n: number;
    try {
      n = readSync(f.fd, this.scratch, 0, this.subbufSize, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return undefined;
      throw e;
    }
    if (n < 16) return undefined;
    // Low 32 bits of the commit word (kernel-abi.md §3.2), in host order.
    const w = LITTLE ? this.scratch.readUInt32LE(8) : this.scratch.readUInt32BE(12);
    const size = w & COMMIT_MASK;
    let len = Math.min(n, 16 + size);
    if (w & MISSED_STORED && len + 8 <= n) len += 8;
    const bytes = new Uint8Array(len);
    bytes.set(this.scratch.subarray(0, len));
    return {cpu: f.cpu, subbufId: -1, seq: f.seq++, bytes, from: 0};
  }

  read(maxSlices: number): SourceBatch {
    const batch: SourceBatch = {slices: [], metas: [], notices: [], caughtUp: []};
    const s = this.session;
    if (!s || this.closed) return batch;
    s.checkState(batch.notices);
    if (s.gone) return batch;
    this.moreQueued = false;
    let newBytes = 0;
    /** New bytes per CPU (index into files): the pacer wants the busiest CPU's share. */
    const perCpu = new Array<number>(this.files.length).fill(0);
    const n = this.files.length;
    // Round-robin one sub-buffer per CPU at a time so no CPU starves under a small budget.
    const active = new Set(this.files.map((_, i) => i));
    let k = this.nextCpu;
    while (active.size > 0) {
      if (batch.slices.length >= maxSlices) {
        this.moreQueued = true;
        break;
      }
      const i = k % n;
      k++;
      if (!active.has(i)) continue;
      const f = this.files[i]!;
      try {
        const slice = this.readOne(f);
        if (!slice) {
          active.delete(i);
          batch.caughtUp!.push(f.cpu); // EAGAIN: nothing more committed on this CPU
        } else {
          batch.slices.push(slice);
          newBytes += slice.bytes.length - 16;
          perCpu[i] += slice.bytes.length - 16;
        }
      } catch (e) {
        active.delete(i);
        batch.notices.push({
          kind: 'error',
          cpu: f.cpu,
          message: `cpu${f.cpu}: read of trace_pipe_raw failed: ${(e as Error).message}`,
        });
      }
    }
    this.nextCpu = (this.nextCpu + 1) % Math.max(1, n);
    s.noteRead(newBytes, Math.max(0, ...perCpu), batch.notices);
    return batch;
  }

  async wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const s = this.session;
    if (!s || this.closed) return;
    await s.wait(timeoutMs, signal, () => this.moreQueued);
  }
}
