/**
 * Test helpers around the real trace-cmd 3.1.6: build the EPERM LD_PRELOAD shim (the function
 * tracer controls are locked on these VMs, see /work/shared/tools/trace-cmd-eperm-shim.c) into
 * node_modules/.cache, record into a private tracefs instance, run `trace-cmd report`, and
 * always remove the instance again.
 */
import {execFileSync, spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, rmdirSync, statSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {TraceReport} from '../../core/report/trace-report.ts';
import type {TraceDat} from '../../core/tracedat/tracedat-file.ts';
import {TRACEFS} from './kernel-gate.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
export const SHIM_SOURCE =
  process.env.RINGSIDE_SHIM_SOURCE ?? '/work/shared/tools/trace-cmd-eperm-shim.c';
const CACHE = join(REPO, 'node_modules/.cache/ringside-tracecmd');

/** Build (or reuse) the shim; returns the path of the .so. */
export function buildShim(): string {
  mkdirSync(CACHE, {recursive: true});
  const out = join(CACHE, 'trace-cmd-eperm-shim.so');
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(SHIM_SOURCE).mtimeMs) return out;
  execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', out, SHIM_SOURCE, '-ldl'], {stdio: 'pipe'});
  return out;
}

export interface RecordOptions {
  /** tracefs instance to record into (created by trace-cmd, removed by `removeInstance`). */
  instance: string;
  /** `-e` arguments. */
  events: string[];
  output: string;
  /** `-C` trace clock. */
  clock?: string;
  fileVersion?: 6 | 7;
  /** `--compression` (none, zstd, any). */
  compression?: string;
  /** More `trace-cmd record` arguments for the first instance (e.g. `-b 8`). */
  extra?: string[];
  /** Extra `-B inst -e …` groups recorded into the same file. */
  more?: {instance: string; events: string[]}[];
  /** The workload, run by trace-cmd as its command (sh -c). */
  script: string;
  timeoutMs?: number;
}

/**
 * trace-cmd 3.1.6 writes saved_cmdlines (and other tracefs files) by reading the file twice: once
 * to learn its size, which goes into the trace.dat, and once to copy it (trace-output.c,
 * save_tracing_file_data). A process that gets a new comm in between makes the copy longer than
 * the recorded size; trace-cmd only warns "error in size of file" and still exits 0, and the
 * trace.dat is then corrupt for every reader (ours reads the cpu count out of the cmdlines text).
 */
const SIZE_RACE = /error in size of file/;

/**
 * `trace-cmd record` with the shim. Returns trace-cmd's stderr+stdout for diagnostics. A recording
 * that hit trace-cmd's own size race (above) is made again, up to three times in all.
 */
export function traceCmdRecord(o: RecordOptions): string {
  for (let attempt = 1; ; attempt++) {
    const text = traceCmdRecordOnce(o);
    if (!SIZE_RACE.test(text)) return text;
    if (attempt === 3) throw new Error(`trace-cmd record hit its size race 3 times: ${text}`);
    console.warn(`trace-cmd record hit its size race (attempt ${attempt}); recording again`);
  }
}

function traceCmdRecordOnce(o: RecordOptions): string {
  const shim = buildShim();
  const args = ['record'];
  if (o.fileVersion) args.push('--file-version', String(o.fileVersion));
  if (o.compression) args.push('--compression', o.compression);
  args.push('-B', o.instance);
  if (o.clock) args.push('-C', o.clock);
  for (const e of o.events) args.push('-e', e);
  args.push(...(o.extra ?? []));
  for (const m of o.more ?? []) {
    args.push('-B', m.instance);
    if (o.clock) args.push('-C', o.clock);
    for (const e of m.events) args.push('-e', e);
  }
  args.push('-o', o.output, 'sh', '-c', o.script);
  const r = spawnSync('trace-cmd', args, {
    env: {...process.env, LD_PRELOAD: shim},
    encoding: 'utf8',
    timeout: o.timeoutMs ?? 30_000,
    maxBuffer: 64 << 20,
  });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`trace-cmd record failed (${r.status ?? r.signal}): ${text}`);
  return text;
}

/** `trace-cmd report FILE` text (default options). */
export function traceCmdReport(file: string, extra: string[] = []): string {
  return execFileSync('trace-cmd', ['report', ...extra, file], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Remove a tracefs instance (trace-cmd leaves it behind with -B); ignores a missing one. */
export function removeInstance(name: string): void {
  const dir = join(TRACEFS, 'instances', name);
  if (!existsSync(dir)) return;
  try {
    execFileSync('trace-cmd', ['reset', '-B', name], {
      stdio: 'ignore',
      timeout: 20_000,
      env: {...process.env, LD_PRELOAD: buildShim()},
    });
  } catch {
    // fall through to rmdir
  }
  try {
    rmdirSync(dir);
  } catch {
    // already gone (trace-cmd reset -B may remove it) or busy; nothing else to do
  }
}

/** Path of the instance's trace_marker files, for workloads. */
export function markerPath(instance: string, raw = false): string {
  return join(TRACEFS, 'instances', instance, raw ? 'trace_marker_raw' : 'trace_marker');
}

/** Line-by-line difference of two reports: [line number, expected, got] of each changed line. */
export function diffLines(
  expected: string,
  got: string,
): {count: number; samples: [number, string, string][]} {
  const a = expected.split('\n');
  const b = got.split('\n');
  const n = Math.max(a.length, b.length);
  const samples: [number, string, string][] = [];
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      count++;
      if (samples.length < 20) samples.push([i + 1, a[i] ?? '<missing>', b[i] ?? '<missing>']);
    }
  }
  return {count, samples};
}

/**
 * kallsyms text cut down to the symbols a report of `dat` looks up (plus, for each, the symbol
 * after it, which bounds libtraceevent's address → symbol search, and every symbol at those
 * addresses), so a small fixture prints exactly like the original. Lines keep their file order.
 */
export function trimKallsyms(dat: TraceDat): string {
  const report = new TraceReport(dat);
  const reg = report.registry;
  const usedIdx = new Set<number>();
  const usedNames = new Set<string>();
  const symbolIndex = reg.symbolIndex.bind(reg);
  reg.symbolIndex = (a: bigint): number => {
    const i = symbolIndex(a);
    if (i >= 0) usedIdx.add(i);
    return i;
  };
  const lookupSymbol = reg.lookupSymbol.bind(reg);
  reg.lookupSymbol = (a: bigint | number) => {
    const i = symbolIndex(BigInt.asUintN(64, BigInt(a)));
    if (i >= 0) usedIdx.add(i);
    return lookupSymbol(a);
  };
  const symbolAddress = reg.symbolAddress.bind(reg);
  reg.symbolAddress = (name: string) => {
    usedNames.add(name);
    return symbolAddress(name);
  };
  for (const chunk of report.chunks()) void chunk;
  // Addresses to keep: each used symbol's and the next distinct address after it.
  const keepAddr = new Set<bigint>();
  for (const i of usedIdx) {
    const a = reg.symbolStart(i);
    keepAddr.add(a);
    for (let j = i + 1; ; j++) {
      let b: bigint;
      try {
        b = reg.symbolStart(j);
      } catch {
        break;
      }
      if (b === undefined) break;
      if (b !== a) {
        keepAddr.add(b);
        break;
      }
    }
  }
  const out: string[] = [];
  for (const line of dat.kallsyms.split('\n')) {
    const m = /^([0-9a-fA-F]{1,16})\s+(\S)\s+(\S+)/.exec(line);
    if (!m) continue;
    if (keepAddr.has(BigInt(`0x${m[1]}`)) || usedNames.has(m[3])) out.push(line);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
