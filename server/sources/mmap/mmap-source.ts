/**
 * The real source: every CPU's `trace_pipe_raw` of a tracefs instance, memory-mapped (Linux
 * 6.10+), read with the GET_READER loop in `cpu-reader.ts`. Where the process may use real-time
 * priority, and for small buffers anyway (wantsThread), the loop runs on a thread of its own
 * (`reader-thread.ts`: a stall of the main thread must not delay reading) and read() takes what
 * it handed over. Otherwise (inline) read() drains the buffers itself and wait() is the poll() +
 * rate pacing of `instance-session.ts`. By default it creates and removes its own instance.
 */
import type {
  MetaSnapshot,
  SourceBatch,
  SourceMetadata,
  SourceOpenOptions,
  TraceSource,
} from '../source.ts';
import {CpuReader, type DrainSink} from './cpu-reader.ts';
import {drainRound} from './drain-round.ts';
import {sleep, type InstanceSession} from './instance-session.ts';
import {KernelSourceBase} from './kernel-source-base.ts';
import {mayUseRealtime} from '../../kernel/realtime.ts';
import {ReaderThread, type ReaderScheduling} from './reader-thread.ts';

/**
 * Per-CPU buffers (--buffer-kb) below this many KiB are read on the reader thread even where it
 * cannot have real-time priority: at 1M events/s of 24 bytes such a buffer fills in ~10 ms, the
 * length of a main-thread stall.
 */
const THREAD_BELOW_KB = 256;

/**
 * The reader thread's SCHED_FIFO priority unless told otherwise: the lowest real-time one. It is
 * enough to run ahead of every normal task on wake-up, and stays below the kernel's own
 * real-time threads (threaded interrupts at 50, watchdogs at 99).
 */
const DEFAULT_RT_PRIORITY = 1;

/** Longest plain sleep of a wait() that follows a wait() without a read in between. */
const REPEAT_WAIT_CAP_MS = 5000;

export class MmapSource extends KernelSourceBase implements TraceSource {
  readonly kind = 'mmap' as const;
  protected readonly mapped = true;
  private readers: CpuReader[] = [];
  private thread: ReaderThread | undefined;
  /** Threaded: a wait() said "queued" and no read() followed yet (the next one must not spin). */
  private signalledSinceRead = false;

  /**
   * Whether to read on the reader thread. Under SCHED_FIFO it reads on time whatever the main
   * thread is doing: at 500k events/s with the default buffers, write → decoded p99 was 12-39 ms
   * (median 15) against 18-68 ms (median 40) reading on the main thread, twelve alternating
   * runs, at no more server CPU (median 0.42 vs 0.50 s per M events); at 10k-100k/s it cost
   * 3-31 % more server CPU (at most ~4 % of a core) for the same latency (issue #6). At normal
   * priority it was in between (p99 25-46 ms) and cost ~20 % more CPU, so without real-time
   * priority only small buffers (THREAD_BELOW_KB), which a main-thread stall can overrun, get it.
   */
  /** Read on a thread of its own, or on the main thread and why (said in the log). */
  private threadChoice(): {thread: boolean; why: string} {
    const forced = this.extras.readerThread;
    if (forced !== undefined) return {thread: forced, why: 'the readerThread option is off'};
    const env = process.env.RINGSIDE_READER_THREAD;
    if (env === '0' || env === '1') return {thread: env === '1', why: 'RINGSIDE_READER_THREAD=0'};
    const kb = this.options.bufferKb;
    if (kb !== undefined && kb < THREAD_BELOW_KB) return {thread: true, why: ''};
    const rt = this.rtPriority();
    const needs = 'a reader thread of its own needs real-time priority to pay off';
    const force = 'RINGSIDE_READER_THREAD=1 forces it';
    return {
      thread: mayUseRealtime(rt),
      why:
        rt === 0
          ? `real-time priority 0 was asked for, and ${needs}; ${force}`
          : `${needs}: CAP_SYS_NICE or RLIMIT_RTPRIO; ${force}`,
    };
  }

  /** The reader thread's SCHED_FIFO priority (0: normal); a bad RINGSIDE_READER_RTPRIO is said. */
  private rtPriority(): number {
    return (this.rtPriorityChosen ??= this.chooseRtPriority());
  }

  private rtPriorityChosen: number | undefined;

  private chooseRtPriority(): number {
    if (this.extras.readerRtPriority !== undefined) return this.extras.readerRtPriority;
    const env = process.env.RINGSIDE_READER_RTPRIO;
    if (env === undefined || env === '') return DEFAULT_RT_PRIORITY;
    const n = Number(env);
    if (Number.isInteger(n) && n >= 0 && n <= 99) return n;
    this.options.log?.(
      `mmap: RINGSIDE_READER_RTPRIO=${env} ignored (want 0..99, 0 for normal priority); using ${DEFAULT_RT_PRIORITY}`,
    );
    return DEFAULT_RT_PRIORITY;
  }

  protected async prepare(): Promise<void> {
    const choice = this.threadChoice();
    if (!choice.thread) {
      this.options.log?.(`mmap: reading on the main thread (${choice.why})`);
      return;
    }
    try {
      this.thread = await ReaderThread.launch();
    } catch (e) {
      this.readOnMainThread(e);
    }
  }

  private readOnMainThread(e: unknown): void {
    this.thread?.stopSync(0);
    this.thread = undefined;
    this.options.log?.(
      `mmap: reading on the main thread; the reader thread did not start: ${(e as Error).message}`,
    );
  }

  protected async openFiles(session: InstanceSession): Promise<void> {
    for (const cpu of session.cpus) {
      const r = new CpuReader(cpu, session.instance.path(`per_cpu/cpu${cpu}/trace_pipe_raw`));
      this.readers.push(r);
      session.onClose(() => r.close());
    }
    const first = this.readers[0];
    if (!first) throw new Error(`no CPUs under ${session.instance.dir}/per_cpu`);
    const fds = this.readers.map((r) => r.fd);
    const bufferBytes = this.readers.reduce((n, r) => n + (r.nrSubbufs - 1) * r.subbufSize, 0);
    const t = this.thread;
    if (t) {
      // Stop it (and wait for it to unmap) before the readers' fds are closed.
      session.onClose(() => t.stopSync(), true);
      try {
        await t.begin({
          readers: this.readers,
          pacer: session.pacerOptions(fds.length, first.subbufSize, bufferBytes),
          bufferPercent: session.bufferPercent,
          rtPriority: this.rtPriority(),
          log: this.options.log,
        });
        this.sayScheduling(t.scheduling);
      } catch (e) {
        this.readOnMainThread(e);
      }
    }
    if (!this.thread) session.startWaiting(fds, first.subbufSize, bufferBytes);
  }

  private sayScheduling(s: ReaderScheduling | undefined): void {
    if (!s) return;
    this.options.log?.(
      s.refused
        ? `mmap: the reader thread runs at normal priority (${s.refused}); under load a small buffer may be read late and lose events`
        : `mmap: reading on a thread of its own (tid ${s.tid}, ${s.rtPriority ? `SCHED_FIFO ${s.rtPriority}` : 'normal priority'})`,
    );
  }

  /** How the reader thread is scheduled; undefined when reading on the main thread. */
  get readerScheduling(): ReaderScheduling | undefined {
    return this.thread?.scheduling;
  }

  protected dropFiles(): void {
    this.readers = [];
    // Stopped (and unmapped) before the session's closers close the fds; idempotent.
    this.thread?.stopSync();
    this.thread = undefined;
  }

  /** Whether the reader thread reads (tests, logs). */
  get threaded(): boolean {
    return this.thread !== undefined;
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
    const batch: SourceBatch = {slices: [], metas: [], notices: []};
    const s = this.session;
    if (!s || this.closed) return batch;
    s.checkState(batch.notices);
    if (s.gone) return batch;
    if (this.thread) {
      this.signalledSinceRead = false;
      if (maxSlices <= 0) {
        // No slices wanted: each CPU's first meta (the baseline counters), as inline does.
        const sink: DrainSink = {...batch, newBytes: 0};
        for (const r of this.readers) r.baseline(sink);
      }
      this.thread.take(maxSlices, batch);
      return batch;
    }
    const round = drainRound(this.readers, maxSlices, this.nextCpu);
    this.nextCpu = (this.nextCpu + 1) % Math.max(1, this.readers.length);
    this.moreQueued = round.moreQueued;
    const {sink} = round;
    s.noteRead(sink.newBytes, round.busiestBytes, sink.notices);
    return {
      slices: sink.slices,
      metas: sink.metas,
      notices: [...batch.notices, ...sink.notices],
      caughtUp: sink.caughtUp,
    };
  }

  async wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const s = this.session;
    if (!s || this.closed) return;
    const t = this.thread;
    if (t) {
      // Waiting again without a read in between gets a plain sleep, never an instant answer.
      if (this.signalledSinceRead) return sleep(Math.min(timeoutMs, REPEAT_WAIT_CAP_MS), signal);
      await t.waitForData(timeoutMs, signal);
      if (t.hasQueued) this.signalledSinceRead = true;
      return;
    }
    await s.wait(
      timeoutMs,
      signal,
      () => this.moreQueued,
      () => this.readers.some((r) => r.hasPendingOnReaderPage()),
    );
  }
}
