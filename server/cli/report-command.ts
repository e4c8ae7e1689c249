/**
 * `ringside report FILE`: print a trace.dat (v6/v7) as `trace-cmd report` 3.1.6 does with its
 * default options. The file is streamed (pages CPU by CPU, merged by time), and output goes to
 * fd 1 in ~64 KB blocking writes (no stream machinery: it costs more than the writes
 * themselves); a closed pipe (`| head`) ends quietly. Large files are printed by two threads
 * (report-threads.ts); output and zstd are in report-output.ts.
 */
import {isMainThread} from 'node:worker_threads';
import {setFlagsFromString} from 'node:v8';
import {DecodeError} from '../../core/errors.ts';
import {TraceReport, statText} from '../../core/report/trace-report.ts';
import {readTraceDat} from '../../core/tracedat/tracedat-file.ts';
import {FileByteSource} from '../sources/replay-source.ts';
import {parseCpuList} from './args.ts';
import {StdoutWriter, installNativeZstd} from './report-output.ts';
import {printShared, startHelper, stopHelper, wantHelper} from './report-threads.ts';

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
 * Young-generation GCs on one thread, not with helpers from V8's thread pool. Printing makes
 * short-lived strings by the gigabyte, so scavenges run all the time; on the 2-core VM their
 * parallel tasks competed with the other printing thread (and with other processes) and cost
 * more than they saved: large file 1.62 s instead of 2.06 s (two threads, load 1.5), small
 * file 0.56 s instead of 0.65 s. The flag is read at every scavenge, so setting it now is safe
 * (unlike the concurrent-marking flags, which V8 fixes at start-up).
 */
function serialScavenges(): void {
  if (process.env.RINGSIDE_REPORT_PARALLEL_GC !== '1') setFlagsFromString('--no-parallel-scavenge');
}

/**
 * End the process as soon as the report is out (everything went through synchronous writes):
 * a normal exit tears down the heaps of both threads first, which took 50-150 ms after a large
 * report. Only in the CLI's main thread (where reportCommand's caller exits with its code).
 */
function exitNow(code: number): number {
  if (!isMainThread) return code;
  process.exitCode = code;
  process.exit();
}

export async function reportCommand(args: string[]): Promise<number> {
  const parsed = parseReportArgs(args);
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  serialScavenges();
  return exitNow(await printReport(parsed));
}

async function printReport(parsed: ReportArgs): Promise<number> {
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
