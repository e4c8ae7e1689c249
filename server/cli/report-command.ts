/**
 * `ringside report FILE`: print a trace.dat (v6/v7) as `trace-cmd report` 3.1.6 does with its
 * default options. The file is streamed (pages CPU by CPU, merged by time), and output goes to
 * stdout in ~64 KB writes that respect back-pressure; a closed pipe (`| head`) ends quietly.
 */
import {DecodeError} from '../../core/errors.ts';
import {TraceReport, statText} from '../../core/report/trace-report.ts';
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

/** Write to stdout, waiting for drain; resolves false once the reader has gone (EPIPE). */
class StdoutWriter {
  private closed = false;
  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') this.closed = true;
      else throw e;
    });
  }
  get gone(): boolean {
    return this.closed;
  }
  async write(text: string): Promise<boolean> {
    if (this.closed) return false;
    if (this.out.write(text)) return !this.closed;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.out.off('drain', done);
        this.out.off('error', done);
        this.out.off('close', done);
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('error', done);
      this.out.on('close', done);
    });
    return !this.closed;
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
      await out.write(statText(dat));
      return 0;
    }
    const report = new TraceReport(dat, {
      cpus: parsed.cpus,
      filters: parsed.filters,
    });
    if (!(await out.write(report.header()))) return 0;
    for (const chunk of report.chunks()) {
      if (!(await out.write(chunk))) return 0;
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
