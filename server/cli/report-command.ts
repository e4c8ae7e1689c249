/**
 * `ringside report FILE`: print a trace.dat (v6/v7) as `trace-cmd report` 3.1.6 does with its
 * default options. The file is streamed (pages CPU by CPU, merged by time), and output goes to
 * fd 1 in ~64 KB blocking writes (no stream machinery: it costs more than the writes
 * themselves); a closed pipe (`| head`) ends quietly. zstd blocks go through the system's
 * libzstd (koffi) when it loads, else through the pure-JS decoder.
 */
import {statSync, writeSync} from 'node:fs';
import {createRequire} from 'node:module';
import {
  MessageChannel,
  type MessagePort,
  Worker,
  isMainThread,
  receiveMessageOnPort,
  workerData,
} from 'node:worker_threads';
import type * as KoffiNs from 'koffi';
import {DecodeError} from '../../core/errors.ts';
import {TraceReport, statText} from '../../core/report/trace-report.ts';
import {setZstdDecoder} from '../../core/tracedat/compression.ts';
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
  write(text: string): boolean {
    if (this.closed) return false;
    let n: number;
    try {
      n = writeSync(1, text);
    } catch (e) {
      if (!this.failed(e)) throw e;
      return this.writeBytes(Buffer.from(text));
    }
    // Most writes take the whole string at once; a partial one continues as bytes.
    return n === Buffer.byteLength(text) ? true : this.writeBytes(Buffer.from(text), n);
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

/** Decode zstd blocks with the system libzstd through koffi; false (fzstd stays) if it fails. */
export function installNativeZstd(): boolean {
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
    setZstdDecoder((data, size) => {
      const out = new Uint8Array(size);
      const r = decompress(out, size, data, data.length);
      if (isError(r)) throw new Error(errorName(r));
      return Number(r) === size ? out : out.subarray(0, Number(r));
    });
    return true;
  } catch {
    return false;
  }
}

/*
 * Two threads share the printing of large files: the text is cut into blocks of BLOCK_EVENTS
 * records; once the helper thread is up, it prints every other block (TraceReport.blocks,
 * following the comm state through the blocks it skips) and hands them over as UTF-8 bytes,
 * while this thread prints the others and writes all of them in order. The helper stays at
 * most AHEAD_BLOCKS ahead of the writer. Opt-in (RINGSIDE_REPORT_THREADS=2): on the shared
 * 2-core test VM it cost ~2 s more CPU than it saved in wall time, so one thread is the default.
 */
const BLOCK_EVENTS = 4096;
const AHEAD_BLOCKS = 8;
const PARALLEL_MIN_BYTES = 1 << 20;
/** Give up on a helper that has shown no progress for this long. */
const HELPER_TIMEOUT_MS = 60_000;

interface HelperJob {
  kind: 'ringside-report-helper';
  file: string;
  cpus?: number[];
  filters: string[];
  port: MessagePort;
  /** Int32 [0]: blocks written by the main thread; [1]: messages posted by the helper. */
  signal: SharedArrayBuffer;
}

type HelperMessage = {ready: true} | {block: number; bytes: ArrayBuffer} | {error: string};

interface Helper {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Start the helper thread (tsx compiles this module there too); undefined if it cannot be. */
function startHelper(parsed: ReportArgs): Helper | undefined {
  if (process.env.RINGSIDE_REPORT_THREADS !== '2') return undefined;
  try {
    const api = import.meta.resolve('tsx/esm/api');
    const code =
      `import {register} from ${JSON.stringify(api)}; register();` +
      `await import(${JSON.stringify(import.meta.url)});`;
    const {port1, port2} = new MessageChannel();
    const signal = new SharedArrayBuffer(8);
    const job: HelperJob = {
      kind: 'ringside-report-helper',
      file: parsed.file,
      cpus: parsed.cpus,
      filters: parsed.filters,
      port: port2,
      signal,
    };
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), {
      workerData: job,
      transferList: [port2],
      stdout: true,
      stderr: true,
    });
    worker.on('error', () => {});
    worker.unref();
    return {worker, port: port1, signal: new Int32Array(signal)};
  } catch {
    return undefined;
  }
}

/** Print the body with the helper; false when the reader went away. */
function printShared(report: TraceReport, helper: Helper, out: StdoutWriter): boolean {
  const {port, signal} = helper;
  const received = new Map<number, Uint8Array>();
  let ready = false;
  let start = -1;
  const poll = (): void => {
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const msg = m.message as HelperMessage;
      if ('ready' in msg) ready = true;
      else if ('block' in msg) received.set(msg.block, new Uint8Array(msg.bytes));
      else throw new Error(`report helper thread failed: ${msg.error}`);
    }
  };
  const helperPrints = (b: number): boolean => start >= 0 && b >= start && (b - start) % 2 === 0;
  const printed = (b: number): boolean => {
    if (start < 0) {
      poll();
      if (ready) {
        start = b + 1;
        port.postMessage({start});
      }
    }
    return !helperPrints(b);
  };
  let written = 0;
  const wrote = (n: number): void => {
    written = n;
    Atomics.store(signal, 0, n);
    Atomics.notify(signal, 0);
  };
  /** Write the helper's blocks before block `end`. */
  const flush = (end: number): boolean => {
    for (; written < end; wrote(written + 1)) {
      let bytes = received.get(written);
      let waitedMs = 0;
      while (bytes === undefined) {
        const seen = Atomics.load(signal, 1);
        poll();
        bytes = received.get(written);
        if (bytes !== undefined) break;
        if (waitedMs >= HELPER_TIMEOUT_MS) throw new Error('report helper thread stopped');
        if (Atomics.wait(signal, 1, seen, 100) === 'timed-out') waitedMs += 100;
      }
      received.delete(written);
      if (!out.writeBytes(bytes)) return false;
    }
    return true;
  };
  for (const [b, text] of report.blocks(BLOCK_EVENTS, printed)) {
    if (!flush(b) || !out.write(text)) return false;
    wrote(b + 1);
  }
  return flush(Math.ceil(report.events / BLOCK_EVENTS));
}

/** The helper thread: print the blocks the main thread leaves to it. */
async function helperMain(job: HelperJob): Promise<void> {
  const {port} = job;
  const signal = new Int32Array(job.signal);
  const post = (msg: HelperMessage, transfer: ArrayBuffer[] = []): void => {
    port.postMessage(msg, transfer);
    Atomics.add(signal, 1, 1);
    Atomics.notify(signal, 1);
  };
  try {
    installNativeZstd();
    const src = FileByteSource.open(job.file);
    try {
      const report = new TraceReport(readTraceDat(src), {cpus: job.cpus, filters: job.filters});
      const started = new Promise<number>((resolve) => {
        port.once('message', (m: {start: number}) => resolve(m.start));
      });
      post({ready: true});
      const start = await started;
      const mine = (b: number): boolean => {
        if (b < start || (b - start) % 2 !== 0) return false;
        for (let w = Atomics.load(signal, 0); b - w > AHEAD_BLOCKS; w = Atomics.load(signal, 0))
          Atomics.wait(signal, 0, w, 100);
        return true;
      };
      for (const [b, text] of report.blocks(BLOCK_EVENTS, mine)) {
        const buf = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
        buf.write(text);
        post({block: b, bytes: buf.buffer as ArrayBuffer}, [buf.buffer as ArrayBuffer]);
      }
    } finally {
      src.close();
    }
  } catch (e) {
    post({error: e instanceof Error ? e.message : String(e)});
  } finally {
    port.close();
  }
}

if (!isMainThread && (workerData as HelperJob | undefined)?.kind === 'ringside-report-helper') {
  void helperMain(workerData as HelperJob);
}

export async function reportCommand(args: string[]): Promise<number> {
  const parsed = parseReportArgs(args);
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  const src = FileByteSource.open(parsed.file);
  const out = new StdoutWriter();
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
    const helper = fileSize(parsed.file) >= PARALLEL_MIN_BYTES ? startHelper(parsed) : undefined;
    if (helper) {
      try {
        if (!printShared(report, helper, out)) return 0;
      } finally {
        void helper.worker.terminate();
      }
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
    src.close();
  }
}
