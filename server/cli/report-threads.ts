/**
 * `ringside report` with two threads: the main thread and one helper share the printing of a
 * large file (see the comment below for how they split it). Run in the helper thread, this
 * module starts the helper's loop on import (dist-cli/report-helper.mjs is this file bundled).
 */
import {statSync} from 'node:fs';
import {availableParallelism, loadavg} from 'node:os';
import {
  MessageChannel,
  type MessagePort,
  Worker,
  isMainThread,
  receiveMessageOnPort,
  workerData,
} from 'node:worker_threads';
import {TraceReport} from '../../core/report/trace-report.ts';
import {readTraceDat} from '../../core/tracedat/tracedat-file.ts';
import {FileByteSource} from '../sources/replay-source.ts';
import {BUNDLED, workerEntry} from '../worker-entry.ts';
import {installNativeZstd, type StdoutWriter} from './report-output.ts';

/** What the helper needs to know of the command line. */
export interface HelperRequest {
  file: string;
  cpus?: number[];
  filters: string[];
}

/*
 * Two threads share the printing of large files. The text is cut into blocks of BLOCK_EVENTS
 * records (TraceReport.blocks). Both threads walk every record in order; at the start of each
 * block a thread claims it unless the other one already has (one compare-and-swap on a shared
 * ring of slots), prints the blocks it claimed and only follows the comm state through the
 * others, which is cheaper, so the thread that falls behind catches up and claims the next
 * block: the split adapts to how busy each thread is (this one also writes everything out).
 * The helper hands its blocks over as UTF-8 in shared memory and stays at most AHEAD_BLOCKS
 * ahead of the writer. Used for large files (see wantHelper); from the precompiled bundle the
 * helper starts from it too, under tsx it would boot a second compiler (opt-in only).
 */
const BLOCK_EVENTS = 4096;
/** Records per block, smaller in tests (RINGSIDE_REPORT_BLOCK_EVENTS) to interleave more. */
function blockEvents(): number {
  const n = Number(process.env.RINGSIDE_REPORT_BLOCK_EVENTS);
  return Number.isInteger(n) && n > 0 ? n : BLOCK_EVENTS;
}
const AHEAD_BLOCKS = 8;
/** Blocks this thread may have printed ahead of the writer while the helper's are missing. */
const OWN_AHEAD = 8;
/** Files smaller than this are printed by one thread (the helper's start-up would not pay). */
const PARALLEL_MIN_BYTES = 8 << 20;
/** Claim slots (any number works: see claimBlock; more of them means fewer shared lines). */
const CLAIM_SLOTS = 64;
/** Give up on a helper that has shown no progress for this long. */
const HELPER_TIMEOUT_MS = 60_000;
/** Int32 indices in the shared signal buffer, followed by the claim slots. */
const WRITTEN = 0;
const POSTED = 1;
/** Set by the main thread when it needs nothing more: the helper stops at its next block. */
const STOP = 2;
const CLAIMS = 3;

interface HelperJob {
  kind: 'ringside-report-helper';
  file: string;
  cpus?: number[];
  filters: string[];
  port: MessagePort;
  /** Int32 [WRITTEN]: blocks written by the main thread; [POSTED]: messages posted by the
   *  helper; [STOP]: 1 when the helper is to stop; [CLAIMS + b % CLAIM_SLOTS]: the highest block + 1 claimed in that slot. */
  signal: SharedArrayBuffer;
}

/**
 * A block's text as UTF-8: the first `length` bytes of the helper's buffer number `slot`
 * (block % SLOTS), shared memory sent along when the helper (re)made it. A slot is reused only
 * once the writer is past its previous block, so blocks cost no allocation or copy.
 */
type HelperMessage =
  {block: number; slot: number; length: number; memory?: SharedArrayBuffer} | {error: string};
const SLOTS = AHEAD_BLOCKS + 1;

export interface Helper {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
}

/** The shared state of a main thread and its helper (see HelperJob.signal). */
export function newSignal(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (CLAIMS + CLAIM_SLOTS)));
}

/**
 * Claim block `b` for this thread: true unless the other thread got there first. Each thread
 * asks for every block in increasing order and slot values only grow, so a slot holding b + 1
 * or more means the other thread has passed block b (and, as this one has not, claimed it),
 * however far apart the two threads are.
 */
export function claimBlock(signal: Int32Array, b: number): boolean {
  const slot = CLAIMS + (b % CLAIM_SLOTS);
  for (;;) {
    const old = Atomics.load(signal, slot);
    if (old > b) return false;
    if (Atomics.compareExchange(signal, slot, old, b + 1) === old) return true;
  }
}

/**
 * Whether to print with two threads (see above): by default for files of PARALLEL_MIN_BYTES
 * and more, from the bundle, unless the machine is busy (1-minute load average of `cores` or
 * more). Measured on the 2-core VM (1.95M-line file, otherwise idle): two threads 1.49-1.69 s
 * wall and 2.7-2.9 s CPU, one thread 1.59-1.86 s and 1.8-2.0 s; on the 350k-line file, and
 * whenever other work ran, two threads were slower (up to 2x): both threads walk every record,
 * and encoding the text costs each more when both do it. Session 3 (serial scavenges, quick
 * exit; five alternating runs): two threads 1.76-1.91 s, one 1.82-1.96 s, with 3.3-3.7 s of
 * CPU against 1.9-2.1 s: two single-thread reports run side by side also take 5-40% more CPU
 * each than alone, so this VM's second core gives little. Once this thread also encoded its
 * out-of-turn blocks at once (printShared): two threads 1.29-1.55 s and 2.3-2.7 s of CPU, one
 * 1.55-1.84 s (load 2.3, four alternating runs). RINGSIDE_REPORT_THREADS=1 or 2 forces
 * either way.
 */
export function wantHelper(file: string): boolean {
  const forced = process.env.RINGSIDE_REPORT_THREADS;
  if (forced === '1') return false;
  if (forced === '2') return true;
  const cores = availableParallelism();
  return BUNDLED && cores >= 2 && loadavg()[0] < cores && fileSize(file) >= PARALLEL_MIN_BYTES;
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Start the helper thread; undefined if it cannot be. */
export function startHelper(parsed: HelperRequest): Helper | undefined {
  try {
    const {port1, port2} = new MessageChannel();
    const signal = newSignal();
    const job: HelperJob = {
      kind: 'ringside-report-helper',
      file: parsed.file,
      cpus: parsed.cpus,
      filters: parsed.filters,
      port: port2,
      signal: signal.buffer as SharedArrayBuffer,
    };
    const worker = new Worker(workerEntry(import.meta.url, 'report-helper'), {
      workerData: job,
      transferList: [port2],
      stdout: true,
      stderr: true,
      // Printing makes short-lived strings by the gigabyte: a larger young generation than
      // the default means fewer scavenges.
      resourceLimits: {maxYoungGenerationSizeMb: 48},
    });
    worker.on('error', () => {});
    worker.unref();
    return {worker, port: port1, signal};
  } catch {
    return undefined;
  }
}

/** A block this thread printed out of turn, as UTF-8 in `buf[0, length)`. */
interface OwnBlock {
  buf: Buffer;
  length: number;
  done: boolean;
}

/** Append `text` to the block's bytes (growing its buffer); returns the new length. */
function appendUtf8(block: OwnBlock, text: string): number {
  const need = block.length + text.length * 3;
  if (block.buf.length < need) {
    const grown = Buffer.allocUnsafeSlow(Math.max(block.buf.length * 2, need));
    block.buf.copy(grown, 0, 0, block.length);
    block.buf = grown;
  }
  return block.length + block.buf.write(text, block.length, 'utf8');
}

/** Print the body with the helper; false when the reader went away. */
export function printShared(report: TraceReport, helper: Helper, out: StdoutWriter): boolean {
  const {port, signal} = helper;
  const received = new Map<number, Uint8Array>();
  const memory: SharedArrayBuffer[] = [];
  const poll = (): void => {
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const msg = m.message as HelperMessage;
      if ('block' in msg) {
        if (msg.memory) memory[msg.slot] = msg.memory;
        received.set(msg.block, new Uint8Array(memory[msg.slot], 0, msg.length));
      } else throw new Error(`report helper thread failed: ${msg.error}`);
    }
  };
  let written = 0;
  const wrote = (n: number): void => {
    written = n;
    Atomics.store(signal, WRITTEN, n);
    Atomics.notify(signal, WRITTEN);
  };
  // This thread's printed blocks wait here as UTF-8 (at most OWN_AHEAD of them) while the
  // helper's earlier block is not there yet: meanwhile this thread goes on printing instead of
  // waiting. They are encoded at once: text kept for later outlived the young generation and was
  // copied into the old one (the main thread's GC time was 3x the helper's, 481 vs 149 ms).
  const own = new Map<number, OwnBlock>();
  const spare: OwnBlock[] = [];
  /** Write every block that is next in line, without waiting; false when the reader went. */
  const drain = (): boolean => {
    poll();
    for (;;) {
      const block = own.get(written);
      if (block !== undefined) {
        if (!block.done) return true;
        own.delete(written);
        const ok = out.writeBytes(block.buf.subarray(0, block.length));
        block.length = 0;
        block.done = false;
        spare.push(block);
        if (!ok) return false;
      } else {
        const bytes = received.get(written);
        if (bytes === undefined) return true;
        received.delete(written);
        if (!out.writeBytes(bytes)) return false;
      }
      wrote(written + 1);
    }
  };
  let idleMs = 0;
  /** Wait (up to 100 ms) for the helper's next message. */
  const waitForHelper = (): void => {
    const seen = Atomics.load(signal, POSTED);
    poll();
    if (received.has(written)) return;
    if (idleMs >= HELPER_TIMEOUT_MS) throw new Error('report helper thread stopped');
    if (Atomics.wait(signal, POSTED, seen, 100) === 'timed-out') idleMs += 100;
    else idleMs = 0;
  };
  // (With the reader gone, claim: the block is yielded, and the loop below stops.)
  const mine = (b: number): boolean => !drain() || claimBlock(signal, b);
  const perBlock = blockEvents();
  for (const [b, text, last] of report.blocks(perBlock, mine)) {
    if (out.gone) return false;
    if (b === written && !own.has(b)) {
      // Next in line (the helper's earlier blocks are written): straight out.
      if (!out.write(text)) return false;
      if (last) wrote(b + 1);
      continue;
    }
    let block = own.get(b);
    if (block === undefined) {
      block = spare.pop() ?? {buf: Buffer.allocUnsafeSlow(1 << 20), length: 0, done: false};
      own.set(b, block);
    }
    block.length = appendUtf8(block, text);
    if (!last) continue;
    block.done = true;
    if (!drain()) return false;
    while (own.size > OWN_AHEAD) {
      waitForHelper();
      if (!drain()) return false;
    }
  }
  const total = Math.ceil(report.events / perBlock);
  while (written < total) {
    if (!drain()) return false;
    if (written < total) waitForHelper();
  }
  return !out.gone;
}

/** The helper thread: print the blocks it claims. */
function helperMain(job: HelperJob): void {
  const {port} = job;
  const signal = new Int32Array(job.signal);
  const post = (msg: HelperMessage): void => {
    port.postMessage(msg);
    Atomics.add(signal, POSTED, 1);
    Atomics.notify(signal, POSTED);
  };
  try {
    installNativeZstd();
    const src = FileByteSource.open(job.file);
    try {
      const report = new TraceReport(readTraceDat(src), {cpus: job.cpus, filters: job.filters});
      /** The slot's memory when it was (re)made for the block being printed. */
      let memory: SharedArrayBuffer | undefined;
      const mine = (b: number): boolean => {
        if (Atomics.load(signal, STOP) !== 0) throw STOPPED;
        if (!claimBlock(signal, b)) return false;
        for (let w = Atomics.load(signal, WRITTEN); b - w > AHEAD_BLOCKS;) {
          Atomics.wait(signal, WRITTEN, w, 100);
          if (Atomics.load(signal, STOP) !== 0) throw STOPPED;
          w = Atomics.load(signal, WRITTEN);
        }
        return true;
      };
      const slots: Buffer[] = [];
      let length = 0;
      for (const [b, text, last] of report.blocks(blockEvents(), mine)) {
        const slot = b % SLOTS;
        let buf = slots[slot];
        let fresh: SharedArrayBuffer | undefined;
        if (buf === undefined || buf.length < length + text.length * 3) {
          fresh = new SharedArrayBuffer(Math.max(length + text.length * 3, 1 << 20) * 2);
          const grown = Buffer.from(fresh);
          if (buf !== undefined) buf.copy(grown, 0, 0, length);
          slots[slot] = buf = grown;
        }
        length += buf.write(text, length, 'utf8');
        if (fresh) memory = fresh;
        if (last) {
          post({block: b, slot, length, memory});
          memory = undefined;
          length = 0;
        }
      }
    } finally {
      src.close();
    }
  } catch (e) {
    if (e !== STOPPED) post({error: e instanceof Error ? e.message : String(e)});
  } finally {
    port.close();
  }
}

/** Thrown in the helper to leave its loop when the main thread asked it to stop. */
const STOPPED = new Error('stopped');

/**
 * End the helper: ask it to stop and wait (up to a second) for it to leave on its own before
 * terminating it. Terminating a thread in the middle of a native call (koffi loading libzstd
 * in the first zstd block) can abort the whole process.
 */
export async function stopHelper(helper: Helper): Promise<void> {
  const {worker, signal} = helper;
  Atomics.store(signal, STOP, 1);
  if (worker.threadId < 0) return; // already gone
  Atomics.notify(signal, WRITTEN);
  worker.ref();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    new Promise((resolve) => worker.once('exit', resolve)),
    new Promise((resolve) => (timer = setTimeout(resolve, 1000))),
  ]);
  clearTimeout(timer);
  await worker.terminate();
}

if (!isMainThread && (workerData as HelperJob | undefined)?.kind === 'ringside-report-helper') {
  helperMain(workerData as HelperJob);
}
