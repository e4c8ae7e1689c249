/**
 * `ringside report FILE`: print a trace.dat (v6/v7) as `trace-cmd report` 3.1.6 does with its
 * default options. The file is streamed (pages CPU by CPU, merged by time), and output goes to
 * fd 1 in ~64 KB blocking writes (no stream machinery: it costs more than the writes
 * themselves); a closed pipe (`| head`) ends quietly. zstd blocks go through the system's
 * libzstd (koffi) when it loads, else through the pure-JS decoder.
 */
import {statSync, writeSync} from 'node:fs';
import {createRequire} from 'node:module';
import {availableParallelism, loadavg} from 'node:os';
import {
  MessageChannel,
  type MessagePort,
  Worker,
  isMainThread,
  receiveMessageOnPort,
  workerData,
} from 'node:worker_threads';
import {decompress as fzstdDecompress} from 'fzstd';
import type * as KoffiNs from 'koffi';
import {DecodeError} from '../../core/errors.ts';
import {TraceReport, statText} from '../../core/report/trace-report.ts';
import {setZstdDecoder, type ZstdBlockDecoder} from '../../core/tracedat/compression.ts';
import {readTraceDat} from '../../core/tracedat/tracedat-file.ts';
import {FileByteSource} from '../sources/replay-source.ts';

const USAGE = `usage: ringside report FILE [options]

Print a trace-cmd trace.dat file (version 6 or 7; none/zlib/zstd compression) the way
\`trace-cmd report\` prints it.

options:
  --cpu N[,M]          only these CPUs (ranges like 0-3 are allowed)
  -F, --filter SPEC    only these events: system:event, system/event, system, event,
                       system:* (repeatable, comma lists allowed)
  --stat               per-CPU buffer statistics recorded in the file
  -h, --help           this text`;

interface ReportArgs {
  file: string;
  cpus?: number[];
  filters: string[];
  stat: boolean;
}

function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(/[,:]/)) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) throw new Error(`invalid cpu list '${text}'`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > b) throw new Error('range of cpu numbers must be lower to greater');
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
}

export function parseReportArgs(args: string[]): ReportArgs | 'help' {
  let file: string | undefined;
  const filters: string[] = [];
  let cpus: number[] | undefined;
  let stat = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (): string => {
      const eq = a.indexOf('=');
      if (a.startsWith('--') && eq > 0) return a.slice(eq + 1);
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '-h' || a === '--help') return 'help';
    else if (a === '--cpu' || a.startsWith('--cpu='))
      cpus = [...(cpus ?? []), ...parseCpuList(value())];
    else if (a === '-F' || a === '--filter' || a.startsWith('--filter=')) filters.push(value());
    else if (a === '--stat') stat = true;
    else if (a === '-i') file = value();
    else if (a.startsWith('-')) throw new Error(`unknown option '${a}'\n\n${USAGE}`);
    else if (file === undefined) file = a;
    else throw new Error(`unexpected argument '${a}'`);
  }
  if (file === undefined) throw new Error(`no input file\n\n${USAGE}`);
  return {file, cpus, filters, stat};
}

/**
 * Synchronous writes to fd 1. A non-blocking pipe (EAGAIN) is waited on briefly and retried;
 * a reader that has gone (EPIPE) makes every later write return false.
 */
class StdoutWriter {
  private closed = false;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));
  get gone(): boolean {
    return this.closed;
  }
  /** UTF-8 of the text being written (reused: no buffer per chunk, no length pass). */
  private buf = Buffer.allocUnsafeSlow(1 << 18);

  write(text: string): boolean {
    if (this.closed) return false;
    if (text.length * 3 > this.buf.length) this.buf = Buffer.allocUnsafeSlow(text.length * 3);
    const n = this.buf.write(text, 0, 'utf8');
    return this.writeBytes(this.buf.subarray(0, n));
  }

  writeBytes(buf: Uint8Array, from = 0): boolean {
    let done = from;
    while (done < buf.length) {
      if (this.closed) return false;
      try {
        done += writeSync(1, buf, done);
      } catch (e) {
        if (!this.failed(e)) throw e;
      }
    }
    return !this.closed;
  }

  /** Handle a write error: true for EAGAIN (after a short wait) and EPIPE (closes). */
  private failed(e: unknown): boolean {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN') {
      Atomics.wait(this.sleeper, 0, 0, 1);
      return true;
    }
    if (code === 'EPIPE') {
      this.closed = true;
      return true;
    }
    return false;
  }
}

type ZstdDecompress = (dst: Uint8Array, cap: number, src: Uint8Array, n: number) => number | bigint;

/** The system libzstd's block decoder through koffi, or undefined if it cannot be loaded. */
function nativeZstd(): ZstdBlockDecoder | undefined {
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof KoffiNs;
    const lib = koffi.load('libzstd.so.1');
    const decompress = lib.func(
      'size_t ZSTD_decompress(void *dst, size_t cap, const void *src, size_t n)',
    ) as ZstdDecompress;
    const isError = lib.func('unsigned int ZSTD_isError(size_t code)') as (
      code: number | bigint,
    ) => number;
    const errorName = lib.func('const char *ZSTD_getErrorName(size_t code)') as (
      code: number | bigint,
    ) => string;
    return (data, size) => {
      const out = new Uint8Array(size);
      const r = decompress(out, size, data, data.length);
      if (isError(r)) throw new Error(errorName(r));
      return Number(r) === size ? out : out.subarray(0, Number(r));
    };
  } catch {
    return undefined;
  }
}

/**
 * Decode zstd blocks with the system libzstd through koffi, loaded on the first zstd block (a
 * file without any does not pay the ~10 ms of loading koffi); fzstd if that fails.
 */
export function installNativeZstd(): void {
  setZstdDecoder((data, size) => {
    const native = nativeZstd();
    setZstdDecoder(native);
    return native ? native(data, size) : fzstdDecompress(data);
  });
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

interface Helper {
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

/** Set (to true) by server/cli/build-cli.mjs in the precompiled CLI bundle. */
declare const RINGSIDE_CLI_BUNDLE: boolean | undefined;
const BUNDLED = typeof RINGSIDE_CLI_BUNDLE !== 'undefined' && RINGSIDE_CLI_BUNDLE;

/**
 * The helper thread's entry: the bundle's copy of this module when running from dist-cli/ (the
 * build rewrites import.meta.url to this source file's URL), else this file compiled by tsx.
 */
function helperEntry(): URL {
  if (BUNDLED) return new URL('../../dist-cli/report-helper.mjs', import.meta.url);
  const api = import.meta.resolve('tsx/esm/api');
  const code =
    `import {register} from ${JSON.stringify(api)}; register();` +
    `await import(${JSON.stringify(import.meta.url)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/**
 * Whether to print with two threads (see above): by default for files of PARALLEL_MIN_BYTES
 * and more, from the bundle, unless the machine is busy (1-minute load average of `cores` or
 * more). Measured on the 2-core VM (1.95M-line file, otherwise idle): two threads 1.49-1.69 s
 * wall and 2.7-2.9 s CPU, one thread 1.59-1.86 s and 1.8-2.0 s; on the 350k-line file, and
 * whenever other work ran, two threads were slower (up to 2x): both threads walk every record,
 * and encoding the text costs each more when both do it. RINGSIDE_REPORT_THREADS=1 or 2 forces
 * either way.
 */
function wantHelper(file: string): boolean {
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
function startHelper(parsed: ReportArgs): Helper | undefined {
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
    const worker = new Worker(helperEntry(), {
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

/** Print the body with the helper; false when the reader went away. */
function printShared(report: TraceReport, helper: Helper, out: StdoutWriter): boolean {
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
  // This thread's printed blocks wait here (at most OWN_AHEAD of them) while the helper's
  // earlier block is not there yet: meanwhile this thread goes on printing instead of waiting.
  const own = new Map<number, string[]>();
  /** Blocks in `own` that are complete. */
  const done = new Set<number>();
  /** Write every block that is next in line, without waiting; false when the reader went. */
  const drain = (): boolean => {
    poll();
    for (;;) {
      const pieces = own.get(written);
      if (pieces !== undefined) {
        if (!done.has(written)) return true;
        own.delete(written);
        done.delete(written);
        for (const text of pieces) if (!out.write(text)) return false;
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
    const pieces = own.get(b);
    if (pieces) pieces.push(text);
    else own.set(b, [text]);
    if (!last) continue;
    done.add(b);
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
async function stopHelper(helper: Helper): Promise<void> {
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

export async function reportCommand(args: string[]): Promise<number> {
  const parsed = parseReportArgs(args);
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  const src = FileByteSource.open(parsed.file);
  const out = new StdoutWriter();
  // Started first: a thread takes a while to boot, and reads the file itself meanwhile.
  const helper = !parsed.stat && wantHelper(parsed.file) ? startHelper(parsed) : undefined;
  installNativeZstd();
  try {
    let dat;
    try {
      dat = readTraceDat(src);
    } catch (e) {
      if (e instanceof DecodeError) {
        console.error(`ringside report: ${parsed.file}: ${e.message}`);
        return 1;
      }
      throw e;
    }
    if (parsed.stat) {
      out.write(statText(dat));
      return 0;
    }
    const report = new TraceReport(dat, {
      cpus: parsed.cpus,
      filters: parsed.filters,
    });
    if (!out.write(report.header())) return 0;
    if (helper) {
      if (!printShared(report, helper, out)) return 0;
    } else {
      for (const chunk of report.chunks()) {
        if (!out.write(chunk)) return 0;
      }
    }
    const it = report.iterator;
    if (it.errorCount > 0) {
      console.error(
        `ringside report: ${it.errorCount} damaged page(s) skipped; first: ${it.errors[0].message}`,
      );
    }
    return it.errorCount > 0 ? 1 : 0;
  } finally {
    if (helper) await stopHelper(helper);
    src.close();
  }
}
