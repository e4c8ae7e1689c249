/**
 * The real source: every CPU's `trace_pipe_raw` of a tracefs instance, memory-mapped (Linux
 * 6.10+), read with the GET_READER loop in `cpu-reader.ts`, waited on with poll() + rate pacing
 * in `instance-session.ts`. By default it creates and removes its own instance.
 */
import type {
  MetaSnapshot,
  SourceBatch,
  SourceControlRequest,
  SourceControlResult,
  SourceMetadata,
  SourceNotice,
  SourceOpenOptions,
  SourceOptions,
  TraceSource,
} from '../source.ts';
import {CpuReader} from './cpu-reader.ts';
import type {DrainSink} from './cpu-reader.ts';
import {InstanceSession} from './instance-session.ts';
import type {KernelSourceExtras} from './instance-session.ts';

export class MmapSource implements TraceSource {
  readonly kind = 'mmap' as const;
  private session: InstanceSession | undefined;
  private readers: CpuReader[] = [];
  private closed = false;
  private moreQueued = false;
  /** Round-robin start so one busy CPU cannot starve the others under a small budget. */
  private nextCpu = 0;

  constructor(
    private readonly options: SourceOptions,
    private readonly extras: KernelSourceExtras = {},
  ) {}

  async open(o?: SourceOpenOptions): Promise<SourceMetadata> {
    if (this.closed) throw new Error('MmapSource: open() after close()');
    if (this.session) return this.metadata(o);
    const session = new InstanceSession(this.options, this.extras, 'mmap source');
    this.session = session;
    try {
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
    } catch (e) {
      session.closeNow();
      this.readers = [];
      this.session = undefined;
      throw e;
    }
    return this.metadata(o);
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

  controlActions(attachedAllowed: boolean): string[] {
    return this.session?.controlActions(attachedAllowed, true) ?? [];
  }

  async control(req: SourceControlRequest): Promise<SourceControlResult> {
    const s = this.session;
    if (!s || this.closed) return {ok: false, message: 'source is closed'};
    return s.control(req, true);
  }

  pollNotices(): SourceNotice[] {
    const out: SourceNotice[] = [];
    if (this.session && !this.closed) this.session.checkState(out);
    return out;
  }

  /** Tracefs instance directory in use (for tests and logs). */
  get instanceDir(): string | undefined {
    return this.session?.instance.dir;
  }

  read(maxSlices: number): SourceBatch {
    const sink: DrainSink = {slices: [], metas: [], notices: [], newBytes: 0, caughtUp: []};
    const s = this.session;
    if (!s || this.closed) return sink;
    s.checkState(sink.notices);
    if (s.gone) return sink;
    const n = this.readers.length;
    let budget = Math.max(0, maxSlices);
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
      budget -= r.drain(sink, budget);
      if (r.caughtUp) sink.caughtUp!.push(r.cpu);
    }
    if (budget <= 0 && maxSlices > 0) this.moreQueued = true;
    this.nextCpu = (this.nextCpu + 1) % Math.max(1, n);
    s.noteRead(sink.newBytes);
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

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const s = this.session;
    this.session = undefined;
    this.readers = [];
    await s?.close();
  }
}
