/**
 * The mmap reader loop on a thread of its own.
 *
 * Why: a kernel buffer holds only so much (64 KiB at 500k events/s: 5 ms), and the server's main
 * thread also encodes and sends every frame, answers clients and collects its garbage. Measured
 * on the project VM (`bench zero-loss-small`, issue #6): the main thread's event loop stalled up
 * to 10-20 ms at a time under load, longer than such a buffer lasts, and each stall was events
 * lost in the kernel where trace-cmd record (a process per CPU doing nothing but splice) lost
 * none. This thread does nothing but wait (poll(2), blocking: no event loop, no timers), swap and
 * copy sub-buffers, and hand them to the main thread, which encodes and sends them.
 *
 * Ownership: the main thread opens and maps each CPU's `trace_pipe_raw` (CpuReader, for the
 * metadata and the fds), creates the wake eventfd and owns the instance; this thread maps the
 * same fds again (the kernel counts a buffer's mappings) and is the only one that reads or
 * swaps. It unmaps its mappings before it says it stopped: the instance cannot be removed while
 * a mapping holds its files, so `stopSync()` waits for that (also at signal time).
 *
 * Scheduling: the thread asks for SCHED_FIFO at a low real-time priority (1 by default), so that
 * when it wakes it runs at once instead of queueing behind the server's main thread, the
 * clients and the GC on the same CPUs. Measured on the project VM (issue #6, 64 KiB buffers,
 * two writers at 500k/s each): 1.8-2.8 % of events lost at normal priority, 0.03-0.45 % under
 * SCHED_FIFO 1, as trace-cmd record. It only ever runs briefly (blocking poll, swap, copy, post),
 * and the kernel's real-time throttling bounds it even if it did not. Without CAP_SYS_NICE the
 * call fails with EPERM and the thread reads at normal priority; `scheduling` says which.
 *
 * Back-pressure stays where architecture.md puts it: the thread hands over only as many slices
 * as the last `read()` asked for beyond what it took (the clients' room), and never more than
 * CAP_SLICES not yet taken; past that it stops reading, and the kernel keeps its newest data,
 * as when the server does not read at all. So with no client nothing is read.
 */
import {Worker, isMainThread, parentPort, workerData} from 'node:worker_threads';
import type {MetaSnapshot, SourceBatch, SourceNotice, SubbufSlice} from '../source.ts';
import {
  eventfdDrain,
  eventfdSignal,
  pollfdArray,
  sysClose,
  sysEventfd,
  sysGettid,
  sysPollNow,
  sysSchedFifo,
} from '../../kernel/ffi.ts';
import {pollOutcome} from '../../kernel/fd-poller.ts';
import {workerEntry} from '../../worker-entry.ts';
import {CpuReader} from './cpu-reader.ts';
import {drainRound} from './drain-round.ts';
import {SpinGuard} from './spin-guard.ts';
import {WaitPacer, type PacerOptions} from './wait-pacer.ts';

/** Int32 slots of the shared control block (counters wrap; only differences are used). */
const STOP = 0; // main → thread: 1 = stop
const TAKEN = 1; // main → thread: slices taken by read() so far
const STOPPED = 2; // thread → main: 1 = mappings released, loop left
const LIMIT = 3; // main → thread: hand over slices up to this count (taken + the last read's budget)
const EPOCH = 4; // main → thread: bumped by every read() (TAKEN or LIMIT may have moved)

/** Slices the thread may hand over ahead of read(): 1 MiB of 4 KiB sub-buffers. */
const CAP_SLICES = 256;
/**
 * Longest blocking poll, as inline (instance-session.ts): every wake-up costs this VM CPU, and a
 * stop interrupts the poll through the eventfd (and a wait on the control block by notify).
 */
const POLL_MS = 5000;
/** With buffer_percent > 0 poll does not see data below the watermark: look this often. */
const WATERMARK_POLL_MS = 100;
/** Pause after a round that reported an error (a GET_READER that failed fails again). */
const ERROR_BACKOFF_MS = 100;
/** Slices per hand-over at most (the main thread takes them in pieces anyway). */
const MAX_BATCH = 256;

export interface ReaderThreadJob {
  cpus: {cpu: number; fd: number; path: string}[];
  /** eventfd of the main thread: written to interrupt a poll (stop). */
  wakeFd: number;
  control: SharedArrayBuffer;
  bufferPercent: number;
  pacer: PacerOptions;
  /** SCHED_FIFO priority to ask for (1..99); 0 leaves the thread at normal priority. */
  rtPriority: number;
}

/** How the thread is scheduled, as it found out when it started. */
export interface ReaderScheduling {
  /** Its thread id (/proc/<pid>/task/<tid>). */
  tid: number;
  /** The SCHED_FIFO priority it runs at; 0: normal (SCHED_OTHER). */
  rtPriority: number;
  /** Why it runs at normal priority when a real-time one was asked for (e.g. EPERM). */
  refused?: string;
}

type FromThread =
  | {type: 'ready'}
  | {type: 'started'; scheduling: ReaderScheduling}
  | {type: 'pending'}
  | {
      type: 'batch';
      slices: SubbufSlice[];
      metas: MetaSnapshot[];
      notices: SourceNotice[];
      caughtUp: number[];
    }
  | {type: 'failed'; message: string};

/* ------------------------------------------------------------------ the thread's side */

function runThread(job: ReaderThreadJob): void {
  const port = parentPort!;
  const ctl = new Int32Array(job.control);
  const readers: CpuReader[] = [];
  try {
    const scheduling = takePriority(job.rtPriority);
    for (const c of job.cpus) readers.push(new CpuReader(c.cpu, c.path, c.fd));
    port.postMessage({type: 'started', scheduling} satisfies FromThread);
    loop(job, ctl, readers, port);
  } catch (e) {
    port.postMessage({
      type: 'failed',
      message: (e as Error).message ?? String(e),
    } satisfies FromThread);
  } finally {
    for (const r of readers) r.close(); // unmaps; the fds are the main thread's
    Atomics.store(ctl, STOPPED, 1);
    Atomics.notify(ctl, STOPPED);
  }
}

/** Ask for SCHED_FIFO at `rtPriority` (this thread only); a refusal is reported, not fatal. */
function takePriority(rtPriority: number): ReaderScheduling {
  const tid = sysGettid();
  if (rtPriority <= 0) return {tid, rtPriority: 0};
  try {
    sysSchedFifo(rtPriority);
    return {tid, rtPriority};
  } catch (e) {
    return {tid, rtPriority: 0, refused: (e as Error).message};
  }
}

function loop(
  job: ReaderThreadJob,
  ctl: Int32Array,
  readers: CpuReader[],
  port: NonNullable<typeof parentPort>,
): void {
  const pollFds = pollfdArray([...readers.map((r) => r.fd), job.wakeFd]);
  const pacer = new WaitPacer(job.pacer);
  const pollMs = job.bufferPercent > 0 ? WATERMARK_POLL_MS : POLL_MS;
  let handed = 0;
  let nextCpu = 0;
  /** The EPOCH at which 'pending' was last posted (-1: never). */
  let toldPending = -1;
  let moreQueued = false;
  const spin = new SpinGuard('mmap reader thread');
  while (Atomics.load(ctl, STOP) === 0) {
    const epoch = Atomics.load(ctl, EPOCH);
    const ahead = (handed - Atomics.load(ctl, TAKEN)) | 0; // int32 counters, wrapping alike
    const room = Math.min((Atomics.load(ctl, LIMIT) - handed) | 0, CAP_SLICES - ahead);
    if (room <= 0) {
      // Nobody asked for more (no client with credits), or what we gave is not taken yet: read
      // nothing, so the kernel keeps its newest data, until the next read() moves the limit.
      // Say once per read() that the kernel has data, so that a wait() for it ends.
      if (toldPending !== epoch && kernelHasData(readers, pollFds, job.wakeFd, pollMs)) {
        port.postMessage({type: 'pending'} satisfies FromThread);
        toldPending = epoch;
      } else if (toldPending === epoch) Atomics.wait(ctl, EPOCH, epoch, pollMs);
      continue;
    }
    let expected = false;
    if (!moreQueued) {
      const gap = pacer.remainingMs(performance.now());
      if (gap > 0) {
        Atomics.wait(ctl, STOP, 0, gap);
        if (Atomics.load(ctl, STOP) !== 0) break;
      }
      expected = readers.some((r) => r.hasPendingOnReaderPage());
      if (!expected) {
        expected = pollKernel(pollFds, job.wakeFd, pollMs);
        if (Atomics.load(ctl, STOP) !== 0) break;
      }
    }
    const round = drainRound(readers, Math.min(room, MAX_BATCH), nextCpu);
    nextCpu = (nextCpu + 1) % Math.max(1, readers.length);
    moreQueued = round.moreQueued;
    const {sink} = round;
    const found = sink.slices.length > 0 || sink.newBytes > 0;
    const pause = spin.note(expected, found, sink.notices);
    if (pause > 0) Atomics.wait(ctl, STOP, 0, pause);
    pacer.noteRead(sink.newBytes, performance.now(), round.busiestBytes);
    // A failing ioctl fails again at once: say so at most ten times a second.
    if (sink.notices.some((n) => n.kind === 'error')) Atomics.wait(ctl, STOP, 0, ERROR_BACKOFF_MS);
    if (sink.slices.length + sink.metas.length + sink.notices.length === 0) continue;
    handed = (handed + sink.slices.length) | 0;
    // Slices move without a copy; metas (80 bytes) are copied: the reader keeps the last one to
    // see whether the next differs.
    const transfer = sink.slices.map((x) => x.bytes.buffer as ArrayBuffer);
    port.postMessage(
      {
        type: 'batch',
        slices: sink.slices,
        metas: sink.metas,
        notices: sink.notices,
        caughtUp: sink.caughtUp ?? [],
      } satisfies FromThread,
      transfer,
    );
  }
}

/** Block in poll(2) for up to `ms`; true when a buffer has data (a wake-up is drained). */
function pollKernel(pollFds: Buffer, wakeFd: number, ms: number): boolean {
  const r = pollOutcome(pollFds, sysPollNow(pollFds, ms));
  if (r.woken) eventfdDrain(wakeFd);
  return r.ready;
}

/** Unread records in the kernel (the reader page, or poll says so within `pollMs`). */
function kernelHasData(
  readers: CpuReader[],
  pollFds: Buffer,
  wakeFd: number,
  pollMs: number,
): boolean {
  return readers.some((r) => r.hasPendingOnReaderPage()) || pollKernel(pollFds, wakeFd, pollMs);
}

if (!isMainThread && (workerData as {kind?: string} | undefined)?.kind === 'ringside-mmap-reader') {
  // Started before the instance exists (so the self filter lists this thread from the start);
  // the job comes once the main thread has opened the buffers.
  parentPort!.once('message', (job: ReaderThreadJob) => runThread(job));
  parentPort!.postMessage({type: 'ready'} satisfies FromThread);
}

/* ------------------------------------------------------------------ the main thread's side */

interface Pending {
  slices: SubbufSlice[];
  metas: MetaSnapshot[];
  notices: SourceNotice[];
  caughtUp: number[];
}

export interface ReaderThreadOptions {
  readers: CpuReader[];
  pacer: PacerOptions;
  bufferPercent: number;
  /** SCHED_FIFO priority to ask for; 0: normal priority. */
  rtPriority: number;
  /** Told once when the thread fails after it started (its reads stop; the source says why). */
  log?: (line: string) => void;
}

export class ReaderThread {
  private readonly ctl: Int32Array;
  private readonly queue: Pending[] = [];
  private taken = 0;
  private waiters: (() => void)[] = [];
  private stopped = false;
  private failure: string | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly control: SharedArrayBuffer,
  ) {
    this.ctl = new Int32Array(control);
  }

  /**
   * Start the thread (it loads its code and waits for a job). Call before the tracefs instance
   * is created: the self filter then lists the thread with the server's others, and none of its
   * system calls is ever traced.
   */
  static launch(): Promise<ReaderThread> {
    const control = new SharedArrayBuffer(4 * 8);
    let worker: Worker;
    try {
      worker = new Worker(workerEntry(import.meta.url, 'mmap-reader'), {
        workerData: {kind: 'ringside-mmap-reader'},
        // A small young generation: growing it means fresh pages, and a scavenge that waits
        // on their faults is a pause in reading (the live set here is a few slices).
        resourceLimits: {maxYoungGenerationSizeMb: 4},
      });
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const t = new ReaderThread(worker, control);
    return new Promise<ReaderThread>((resolve, reject) => {
      worker.on('message', (m: FromThread) => {
        if (m.type === 'ready') resolve(t);
        else if (m.type === 'started') {
          t.scheduling = m.scheduling;
          const started = t.onStarted;
          t.onStarted = undefined;
          t.onFailedEarly = undefined;
          started?.();
        } else if (m.type === 'failed') t.fail(m.message);
        else if (m.type === 'pending') {
          t.kernelPending = true;
          t.wakeWaiters();
        } else {
          t.queue.push(m);
          t.wakeWaiters();
        }
      });
      worker.on('error', (e) => {
        reject(e);
        t.fail(e.message);
      });
      worker.on('exit', (code) => {
        t.exited = true;
        reject(new Error(`exited (${code}) before it was ready`));
        if (!t.stopped) t.fail(`exited (${code})`);
      });
    });
  }

  /** Hand the thread its job: map `readers`' fds and read. Resolves once it has mapped them. */
  begin(o: ReaderThreadOptions): Promise<void> {
    this.log = o.log;
    this.wakeFd = sysEventfd();
    const job: ReaderThreadJob = {
      cpus: o.readers.map((r) => ({cpu: r.cpu, fd: r.fd, path: r.where})),
      wakeFd: this.wakeFd,
      control: this.control,
      bufferPercent: o.bufferPercent,
      pacer: o.pacer,
      rtPriority: o.rtPriority,
    };
    return new Promise<void>((resolve, reject) => {
      this.onStarted = resolve;
      this.onFailedEarly = (why) => reject(new Error(`mmap reader thread: ${why}`));
      this.worker.postMessage(job);
    });
  }

  private log: ((line: string) => void) | undefined;
  private wakeFd = -1;
  private exited = false;
  private onStarted: (() => void) | undefined;
  private onFailedEarly: ((why: string) => void) | undefined;

  /** The thread failed or died: reading is over; queue an error notice saying so. */
  private fail(why: string): void {
    const early = this.onFailedEarly;
    if (early) {
      this.onStarted = undefined;
      this.onFailedEarly = undefined;
      early(why);
      return;
    }
    if (this.failure !== undefined || this.stopped) return;
    this.failure = why;
    this.log?.(`mmap reader thread stopped: ${why}`);
    this.queue.push({
      slices: [],
      metas: [],
      notices: [{kind: 'error', message: `mmap reader thread stopped: ${why}`}],
      caughtUp: [],
    });
    this.wakeWaiters();
  }

  /** How the thread is scheduled (known once begin() resolved). */
  scheduling: ReaderScheduling | undefined;

  /** The thread said the kernel has data it may not read yet (no read() asked for it). */
  private kernelPending = false;

  /** Whether read() would return something now, or would let the thread read what waits. */
  get hasQueued(): boolean {
    return this.queue.length > 0 || this.kernelPending;
  }

  /**
   * Take up to `maxSlices` slices of what the thread handed over, in order, with the metas and
   * notices that came with them. A hand-over split by the budget keeps its metas (they describe
   * the counters after all its slices) and its caught-up CPUs for the part taken last.
   */
  take(maxSlices: number, into: SourceBatch): void {
    this.kernelPending = false;
    let budget = Math.max(0, maxSlices);
    let caughtUp: number[] | undefined;
    let took = 0;
    while (this.queue.length > 0) {
      const p = this.queue[0]!;
      into.notices.push(...p.notices);
      p.notices = [];
      if (p.slices.length > budget) {
        if (budget > 0) {
          into.slices.push(...p.slices.splice(0, budget));
          took += budget;
        }
        caughtUp = undefined;
        break;
      }
      into.slices.push(...p.slices);
      into.metas.push(...p.metas);
      took += p.slices.length;
      budget -= p.slices.length;
      caughtUp = p.caughtUp;
      this.queue.shift();
    }
    if (caughtUp) into.caughtUp = caughtUp;
    this.taken = (this.taken + took) | 0;
    Atomics.store(this.ctl, TAKEN, this.taken);
    // The thread may run ahead of what is taken by as much as this read wanted (its budget is
    // the clients' room: with none, the thread stops and the kernel keeps its newest data).
    Atomics.store(this.ctl, LIMIT, (this.taken + Math.max(0, maxSlices - took)) | 0);
    Atomics.add(this.ctl, EPOCH, 1);
    Atomics.notify(this.ctl, EPOCH);
  }

  /** Resolve when something is queued, after `timeoutMs`, or on abort. */
  async waitForData(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.hasQueued || signal?.aborted || this.stopped) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', done, {once: true});
      this.waiters.push(done);
    });
  }

  private wakeWaiters(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Stop the thread and wait (blocking, at most `timeoutMs`) until it has unmapped its
   * mappings. Safe at signal time and more than once. Returns false if it did not answer.
   */
  stopSync(timeoutMs = 2000): boolean {
    if (this.stopped) return Atomics.load(this.ctl, STOPPED) === 1;
    this.stopped = true;
    const began = this.wakeFd >= 0;
    if (began) {
      Atomics.store(this.ctl, STOP, 1);
      Atomics.notify(this.ctl, STOP);
      Atomics.notify(this.ctl, EPOCH);
      eventfdSignal(this.wakeFd);
      if (!this.exited) Atomics.wait(this.ctl, STOPPED, 0, timeoutMs);
      // The eventfd is closed only once the thread is done with it (else its number could be
      // reused under a poll); a thread that never answered keeps it until the process exits.
      if (Atomics.load(this.ctl, STOPPED) === 1) sysClose(this.wakeFd);
    }
    void this.worker.terminate();
    this.wakeWaiters();
    return !began || Atomics.load(this.ctl, STOPPED) === 1;
  }
}
