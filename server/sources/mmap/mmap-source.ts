/**
 * The real source: every CPU's `trace_pipe_raw` of a tracefs instance, memory-mapped (Linux
 * 6.10+), read with the GET_READER loop in `cpu-reader.ts`, waited on with poll() + rate pacing
 * in `instance-session.ts`. By default it creates and removes its own instance.
 */
import type {
  MetaSnapshot,
  SourceBatch,
  SourceMetadata,
  SourceOpenOptions,
  TraceSource,
} from '../source.ts';
import {CpuReader} from './cpu-reader.ts';
import type {DrainSink} from './cpu-reader.ts';
import type {InstanceSession} from './instance-session.ts';
import {KernelSourceBase} from './kernel-source-base.ts';

export class MmapSource extends KernelSourceBase implements TraceSource {
  readonly kind = 'mmap' as const;
  protected readonly mapped = true;
  private readers: CpuReader[] = [];

  protected openFiles(session: InstanceSession): void {
    for (const cpu of session.cpus) {
      const r = new CpuReader(cpu, session.instance.path(`per_cpu/cpu${cpu}/trace_pipe_raw`));
      this.readers.push(r);
      session.onClose(() => r.close());
    }
    const first = this.readers[0];
    if (!first) throw new Error(`no CPUs under ${session.instance.dir}/per_cpu`);
    session.startWaiting(
      this.readers.map((r) => r.fd),
      first.subbufSize,
      this.readers.reduce((n, r) => n + (r.nrSubbufs - 1) * r.subbufSize, 0),
    );
  }

  protected dropFiles(): void {
    this.readers = [];
  }

  async metadata(o?: SourceOpenOptions): Promise<SourceMetadata> {
    const s = this.session;
    if (!s) throw new Error('MmapSource: metadata() before open()');
    const r = this.readers[0];
    const baselineMetas = this.readers
      .map((x) => x.initialMeta)
      .filter((x): x is MetaSnapshot => x !== undefined);
    return {...s.metadata('mmap', r?.subbufSize ?? 0, r?.nrSubbufs ?? 0, o), baselineMetas};
  }

  read(maxSlices: number): SourceBatch {
    const sink: DrainSink = {slices: [], metas: [], notices: [], newBytes: 0, caughtUp: []};
    const s = this.session;
    if (!s || this.closed) return sink;
    s.checkState(sink.notices);
    if (s.gone) return sink;
    const n = this.readers.length;
    let budget = Math.max(0, maxSlices);
    let busiestBytes = 0;
    this.moreQueued = false;
    for (let k = 0; k < n; k++) {
      const r = this.readers[(this.nextCpu + k) % n];
      if (!r) continue;
      if (budget <= 0) {
        // No slices left to give: still hand out each CPU's first meta (the baseline counters).
        r.baseline(sink);
        if (maxSlices > 0) this.moreQueued = true;
        continue;
      }
      const before = sink.newBytes;
      budget -= r.drain(sink, budget);
      busiestBytes = Math.max(busiestBytes, sink.newBytes - before);
      if (r.caughtUp) sink.caughtUp!.push(r.cpu);
    }
    if (budget <= 0 && maxSlices > 0) this.moreQueued = true;
    this.nextCpu = (this.nextCpu + 1) % Math.max(1, n);
    s.noteRead(sink.newBytes, busiestBytes);
    return sink;
  }

  async wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const s = this.session;
    if (!s || this.closed) return;
    await s.wait(
      timeoutMs,
      signal,
      () => this.moreQueued,
      () => this.readers.some((r) => r.hasPendingOnReaderPage()),
    );
  }
}
