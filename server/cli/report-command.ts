/**
 * `ringside report FILE`: print a trace.dat (v6/v7) as `trace-cmd report` 3.1.6 does with its
 * default options. The file is streamed (pages CPU by CPU, merged by time), and output goes to
 * fd 1 in ~64 KB blocking writes (no stream machinery: it costs more than the writes
 * themselves); a closed pipe (`| head`) ends quietly. zstd blocks go through the system's
 * libzstd (koffi) when it loads, else through the pure-JS decoder.
 */
import {writeSync} from 'node:fs';
import {createRequire} from 'node:module';
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
    let buf: Buffer | undefined;
    let done = 0;
    for (;;) {
      try {
        if (buf === undefined) {
          // Most writes take the whole string at once; a partial one continues as bytes.
          const n = writeSync(1, text);
          if (n === Buffer.byteLength(text)) return true;
          buf = Buffer.from(text);
          done = n;
        } else {
          done += writeSync(1, buf, done);
          if (done >= buf.length) return true;
        }
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          Atomics.wait(this.sleeper, 0, 0, 1);
          continue;
        }
        if (code === 'EPIPE') {
          this.closed = true;
          return false;
        }
        throw e;
      }
    }
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
    for (const chunk of report.chunks()) {
      if (!out.write(chunk)) return 0;
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
