/**
 * What the mmap and read() sources share: the tracefs instance they own or attach to, the
 * process-exit cleanup hook, the poll()-based wait with rate pacing, and the periodic look at
 * `tracing_on` / the instance directory that turns into notices.
 */
import {endianness} from 'node:os';
import {TraceInstance} from '../../tracefs/instance.ts';
import {findTracefs} from '../../tracefs/tracefs-root.ts';
import {readInstanceMetadata} from '../../tracefs/metadata.ts';
import {installCleanupHandlers, registerCleanup, unregisterCleanup} from '../../tracefs/cleanup.ts';
import {FdPoller} from '../../kernel/fd-poller.ts';
import {WaitPacer, type PacerOptions} from './wait-pacer.ts';
import {SpinGuard} from './spin-guard.ts';
import {instanceControlActions, runInstanceControl} from '../instance-control.ts';
import type {
  SourceControlRequest,
  SourceControlResult,
  SourceKind,
  SourceMetadata,
  SourceNotice,
  SourceOpenOptions,
  SourceOptions,
} from '../source.ts';

/** Knobs that are not CLI flags (tests, tuning). */
export interface KernelSourceExtras {
  /** tracefs root (default: found by findTracefs). */
  tracefsRoot?: string;
  /** Name for our own instance (tests use `ringside-test-…-<pid>`). */
  ownInstanceName?: string;
  /** trace_clock for our own instance. */
  clock?: string;
  /** buffer_percent for our own instance (default 0: poll wakes on any data). */
  bufferPercent?: number;
  /** Pacing after a read that found data (WaitPacer). */
  baseGapMs?: number;
  trickleGapMs?: number;
  minGapMs?: number;
  /** How often read() looks at tracing_on and the instance directory. */
  stateCheckMs?: number;
  /**
   * mmap: read the kernel on a thread of its own (true) or on the main thread (false); default:
   * the environment's RINGSIDE_READER_THREAD (1 or 0), else the thread only for small buffers
   * (mmap-source.ts, THREAD_BELOW_KB).
   */
  readerThread?: boolean;
  /**
   * mmap, reader thread: the SCHED_FIFO priority it asks for (1..99; 0: normal priority);
   * default: the environment's RINGSIDE_READER_RTPRIO, else 1 (mmap-source.ts).
   */
  readerRtPriority?: number;
}

/** poll() cannot see data below the watermark when buffer_percent > 0: look this often anyway. */
const WATERMARK_POLL_CAP_MS = 100;
/**
 * Longest single poll on the threadpool. Each wake-up costs this VM ~3 ms of CPU (cold paths), so
 * an idle wait should wake rarely; abort and close interrupt the poll through the eventfd anyway.
 */
const POLL_CAP_MS = 5000;

export class InstanceSession {
  readonly instance: TraceInstance;
  readonly cpus: number[];
  readonly bufferPercent: number;
  private poller: FdPoller | undefined;
  pacer: WaitPacer | undefined;
  private cleanupId: number | undefined;
  private lastCheckMs = 0;
  private tracingOn: boolean | undefined = true;
  gone = false;
  private closers: (() => void)[] = [];
  private readonly checkMs: number;

  constructor(
    private readonly options: SourceOptions,
    private readonly extras: KernelSourceExtras,
    label: string,
  ) {
    const root = findTracefs({root: extras.tracefsRoot, mount: true});
    this.instance = TraceInstance.open({
      root,
      attach: options.instance,
      ownName: extras.ownInstanceName,
      bufferKb: options.bufferKb,
      subbufKb: options.subbufKb,
      bufferPercent: extras.bufferPercent ?? 0,
      clock: extras.clock ?? options.traceClock,
      events: options.events,
      filterSelf: options.traceSelf !== true,
      log: options.log,
    });
    installCleanupHandlers();
    this.cleanupId = registerCleanup(`${label} ${this.instance.dir}`, () => this.closeNow());
    try {
      this.cpus = this.instance.cpus();
    } catch (e) {
      this.closeNow();
      throw e;
    }
    this.bufferPercent = this.instance.bufferPercent();
    this.checkMs = extras.stateCheckMs ?? 250;
    this.tracingOn = this.instance.tracingOn();
    if (!this.instance.owned && (options.events.length || options.bufferKb || options.subbufKb)) {
      options.log?.(
        `attached to ${this.instance.name === '' ? 'the top level' : `instance '${this.instance.name}'`}: ` +
          'events and buffer sizes are left as they are',
      );
    }
  }

  /**
   * Add a synchronous undo step (unmap, close fd) run before the instance is removed; `first`
   * runs it before the steps added so far (stop a reader of the fds before closing them).
   */
  onClose(fn: () => void, first = false): void {
    if (first) this.closers.unshift(fn);
    else this.closers.push(fn);
  }

  /** The wait pacer's settings for `fds.length` CPUs whose buffers hold `bufferBytes` of data. */
  pacerOptions(cpus: number, subbufSize: number, bufferBytes: number): PacerOptions {
    return {
      cpus: this.cpus.length,
      subbufSize,
      cpuBufferBytes: bufferBytes / Math.max(1, cpus),
      baseGapMs: this.extras.baseGapMs,
      trickleGapMs: this.extras.trickleGapMs,
      minGapMs: this.extras.minGapMs,
    };
  }

  /** Start the poll()-based wait on `fds`; `bufferBytes` is the data size of all their buffers. */
  startWaiting(fds: number[], subbufSize: number, bufferBytes: number): void {
    this.poller = new FdPoller(fds);
    this.pacer = new WaitPacer(this.pacerOptions(fds.length, subbufSize, bufferBytes));
  }

  metadata(
    kind: SourceKind,
    subbufSize: number,
    nrSubbufs: number,
    o?: SourceOpenOptions,
  ): SourceMetadata {
    const m = readInstanceMetadata(this.instance, o?.includeSymbols ?? false);
    return {
      kind,
      instance: this.instance.name,
      cpus: this.cpus,
      subbufSize,
      nrSubbufs,
      littleEndian: endianness() === 'LE',
      ...m,
      ...(this.tracingOn !== undefined ? {tracingOn: this.tracingOn} : {}),
    };
  }

  /** Look at tracing_on / the instance at most every `stateCheckMs`; push notices on change. */
  checkState(notices: SourceNotice[], force = false): void {
    const now = Date.now();
    if (!force && now - this.lastCheckMs < this.checkMs) return;
    this.lastCheckMs = now;
    if (this.gone) return;
    // Threads the server started since (see self-filter.ts): cheap, and only new ids are written.
    this.instance.selfFilter?.refresh();
    const on = this.instance.tracingOn();
    if (on === undefined && !this.instance.exists()) {
      this.gone = true;
      notices.push({
        kind: 'instance-gone',
        message: `tracefs instance ${this.instance.dir} was removed from outside`,
      });
      return;
    }
    if (on !== undefined && on !== this.tracingOn) {
      notices.push(
        on
          ? {kind: 'tracing-on', message: `tracing_on is 1 again in ${this.instance.dir}`}
          : {
              kind: 'tracing-off',
              message: `tracing_on is 0 in ${this.instance.dir}: no new events`,
            },
      );
    }
    this.tracingOn = on;
  }

  /** Actions CONTROL may run on this instance (see instance-control.ts). */
  controlActions(attachedAllowed: boolean, mapped: boolean): string[] {
    return this.gone ? [] : instanceControlActions(this.instance, attachedAllowed, mapped);
  }

  /** Run one control action; the tracing_on notice it causes comes with the next check. */
  control(req: SourceControlRequest, mapped: boolean): SourceControlResult {
    if (this.gone) return {ok: false, message: `instance ${this.instance.dir} is gone`};
    const r = runInstanceControl(this.instance, req, mapped);
    this.lastCheckMs = 0; // look at tracing_on at the next read or poll
    return r;
  }

  /** A read delivered `newBytes`, `busiestCpuBytes` of them from one CPU (default: all). */
  noteRead(newBytes: number, busiestCpuBytes = newBytes, notices?: SourceNotice[]): void {
    this.pacer?.noteRead(newBytes, performance.now(), busiestCpuBytes);
    this.signalledSinceRead = false;
    this.spinPauseMs = this.spin.note(this.promisedData, newBytes > 0, notices);
    this.promisedData = false;
  }

  /** The last wait() ended because poll() or the reader page said there was data. */
  private promisedData = false;
  /** Reads that found nothing after such a promise, in a row, make the next wait() pause. */
  private readonly spin = new SpinGuard('kernel reader');
  private spinPauseMs = 0;

  /** A wait() said "data" and no read() followed yet: the next wait must not return at once. */
  private signalledSinceRead = false;
  /** The first poll was queued on the threadpool (its threads exist from then on). */
  private pollQueued = false;

  /**
   * Resolve when data may be there. Order: `queued()` (the last read stopped at its slice budget)
   * resolves at once; then the pacer's batching gap; then `fresh()` (new records visible in the
   * mapping without a syscall); then poll() on the threadpool. A caller that waits again without
   * reading gets a plain timer sleep instead of an immediate answer, so a loop that only waits
   * (no credits) cannot spin.
   */
  async wait(
    timeoutMs: number,
    signal: AbortSignal | undefined,
    queued: () => boolean,
    fresh: () => boolean = () => false,
  ): Promise<void> {
    if (signal?.aborted || !this.poller) return;
    const deadline = Date.now() + Math.max(0, timeoutMs);
    if (this.gone || this.signalledSinceRead) {
      return sleep(Math.min(timeoutMs, POLL_CAP_MS), signal);
    }
    if (queued()) {
      this.signalledSinceRead = true;
      return;
    }
    if (this.spinPauseMs > 0) {
      await sleep(Math.min(this.spinPauseMs, timeoutMs), signal);
      this.spinPauseMs = 0;
      if (signal?.aborted || Date.now() >= deadline) return;
    }
    const gap = this.pacer?.remainingMs(performance.now()) ?? 0;
    if (gap > 0) {
      await sleep(Math.min(gap, timeoutMs), signal);
      if (signal?.aborted || Date.now() >= deadline) return;
    }
    if (fresh()) {
      this.signalledSinceRead = true;
      this.promisedData = true;
      return;
    }
    const poller = this.poller;
    const onAbort = () => poller.wake();
    signal?.addEventListener('abort', onAbort, {once: true});
    try {
      const cap = this.bufferPercent > 0 ? WATERMARK_POLL_CAP_MS : POLL_CAP_MS;
      const polling = poller.poll(Math.min(deadline - Date.now(), cap));
      if (!this.pollQueued) {
        // The first job on libuv's threadpool has just created all its threads: keep them out.
        this.pollQueued = true;
        this.instance.selfFilter?.refresh();
      }
      const r = await polling;
      if (r.ready) this.signalledSinceRead = true;
      this.promisedData = r.ready;
    } catch (e) {
      // The threadpool call itself failed (koffi queue full…): degrade to a short timer, and
      // never let wait() reject or return at once in a loop.
      this.options.log?.(`poll failed, sleeping instead: ${(e as Error).message}`);
      await sleep(Math.min(WATERMARK_POLL_CAP_MS, deadline - Date.now()), signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Orderly close: stop the poll thread first so no file stays referenced, then undo. */
  async close(): Promise<void> {
    await this.poller?.close();
    this.closeNow();
  }

  /** Synchronous undo (also the signal/exit hook). Idempotent. */
  closeNow(): void {
    this.poller?.closeNow();
    this.poller = undefined;
    for (const fn of this.closers.splice(0)) {
      try {
        fn();
      } catch {
        // keep undoing the rest
      }
    }
    const err = this.instance.remove();
    if (err) this.options.log?.(err.message);
    if (this.cleanupId !== undefined) unregisterCleanup(this.cleanupId);
    this.cleanupId = undefined;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, {once: true});
  });
}
