/**
 * Reference tools for the live benchmarks, built at run time into bench/build/ (ignored by git):
 * markgen (fixed-rate trace_marker_raw writer with 4-byte per-CPU ids, /work/shared/tools) and the
 * LD_PRELOAD shim trace-cmd needs on this VM (its function-tracer files are locked: EPERM).
 * Plus the trace-cmd runs (record, stream) with their id checks.
 */
import {execFileSync, spawn} from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  readSync,
  readdirSync,
  statSync,
} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {readTraceDat, type TraceDat} from '../../core/tracedat/tracedat-file.ts';
import {CpuEventStream} from '../../core/tracedat/event-iterator.ts';
import {FileByteSource} from '../../server/sources/replay-source.ts';
import {
  onEnded,
  signalChild,
  trackChild,
  trackInstance,
  removeInstance,
  TRACEFS,
} from './cleanup.ts';

export const BUILD = fileURLToPath(new URL('../build/', import.meta.url));
const TOOLS = process.env.RINGSIDE_TOOLS ?? '/work/shared/tools';

function buildIfStale(out: string, src: string, args: string[]): string {
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return out;
  execFileSync('cc', args, {stdio: 'pipe'});
  return out;
}

export interface Tools {
  markgen: string;
  shim: string;
}

export function buildTools(): Tools {
  mkdirSync(BUILD, {recursive: true});
  const mg = `${TOOLS}/markgen.c`;
  const sh = `${TOOLS}/trace-cmd-eperm-shim.c`;
  return {
    markgen: buildIfStale(`${BUILD}markgen`, mg, ['-O2', '-o', `${BUILD}markgen`, mg]),
    shim: buildIfStale(`${BUILD}trace-cmd-eperm-shim.so`, sh, [
      '-shared',
      '-fPIC',
      '-O2',
      '-o',
      `${BUILD}trace-cmd-eperm-shim.so`,
      sh,
      '-ldl',
    ]),
  };
}

export interface Writer {
  cpu: number;
  rate: number;
}

/**
 * The heavy load's background writer rate in `bench latency` and `bench painted` (events/s):
 * one constant, because painted compares its heavy runs with latency's trace-cmd reference.
 */
export const HEAVY_RATE = 500_000;

export interface MarkgenResult {
  cpu: number;
  written: number;
  errors: number;
  elapsedS: number;
  rate: number;
  /** markgen's own CPU time (user+system). */
  cpuS?: number;
}

export function parseMarkgen(text: string, cpus: number[]): MarkgenResult[] {
  const out: MarkgenResult[] = [];
  const rx = /markgen written=(\d+) errors=(\d+) elapsed=([\d.]+) rate=(\d+)\/s cpu=([\d.]+)s/g;
  let i = 0;
  for (const m of text.matchAll(rx)) {
    out.push({
      cpu: cpus[i++] ?? -1,
      written: Number(m[1]),
      errors: Number(m[2]),
      elapsedS: Number(m[3]),
      rate: Number(m[4]),
      cpuS: Number(m[5]),
    });
  }
  return out;
}

/** Shell command running one pinned markgen per writer, each printing "cpu=N markgen …". */
export function markgenScript(
  t: Tools,
  instance: string,
  writers: Writer[],
  secs: number,
  outFile: string,
): string {
  const one = (w: Writer) =>
    `${t.markgen} -i ${instance} -c ${w.cpu} -r ${w.rate} -d ${secs} > ${outFile}.${w.cpu}`;
  return `${writers.map(one).join(' & ')} & wait`;
}

export function readMarkgen(outFile: string, writers: Writer[]): MarkgenResult[] {
  return writers.flatMap((w) => parseMarkgen(readFileSync(`${outFile}.${w.cpu}`, 'utf8'), [w.cpu]));
}

/** Run markgen writers directly (for the Ringside side, whose instance already exists). */
export function runMarkgens(
  t: Tools,
  instance: string,
  writers: Writer[],
  secs: number,
): Promise<MarkgenResult[]> {
  return Promise.all(
    writers.map(
      (w) =>
        new Promise<MarkgenResult>((resolve, reject) => {
          const c = trackChild(
            spawn(
              t.markgen,
              ['-i', instance, '-c', String(w.cpu), '-r', String(w.rate), '-d', String(secs)],
              {
                stdio: ['ignore', 'pipe', 'inherit'],
              },
            ),
          );
          let text = '';
          c.stdout!.on('data', (d: Buffer) => (text += d.toString()));
          onEnded(c, (code) => {
            const r = parseMarkgen(text, [w.cpu])[0];
            if (code !== 0 || !r) reject(new Error(`markgen failed (${code}): ${text}`));
            else resolve(r);
          });
        }),
    ),
  );
}

export interface IdCount {
  cpu: number;
  received: number;
  next: number;
  missingInside: number;
  backwards: number;
}

function newCount(cpu: number): IdCount {
  return {cpu, received: 0, next: 0, missingInside: 0, backwards: 0};
}

function see(c: IdCount, id: number): void {
  c.received++;
  if (id >= c.next) {
    c.missingInside += id - c.next;
    c.next = id + 1;
  } else c.backwards++;
}

/**
 * Every page of every CPU of every non-latency buffer of a trace.dat, decoded (core/tracedat):
 * `page(cpu, stream)` sees the stream right after each loadNextPage.
 */
function forEachTraceDatPage(
  file: string,
  page: (cpu: number, s: CpuEventStream) => void,
  begin?: (dat: TraceDat) => void,
): void {
  const src = FileByteSource.open(file);
  try {
    const dat = readTraceDat(src);
    begin?.(dat);
    dat.buffers.forEach((b, bi) => {
      if (b.latency) return;
      for (const d of b.cpus) {
        if (d.size === 0) continue;
        const s = new CpuEventStream(dat, b, bi, d.cpu, (e) =>
          console.error(`trace.dat: ${e.message}`),
        );
        for (let more = s.loadNextPage(); more; more = s.loadNextPage()) page(d.cpu, s);
      }
    });
  } finally {
    src.close?.();
  }
}

/** Per-CPU raw_data ids in a trace.dat (all buffers), read with core/tracedat. */
export function idsInTraceDat(file: string, rawDataType: number): Map<number, IdCount> {
  const counts = new Map<number, IdCount>();
  forEachTraceDatPage(file, (cpu, s) => {
    let c = counts.get(cpu);
    if (!c) counts.set(cpu, (c = newCount(cpu)));
    const dv = new DataView(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength);
    const po = s.cols.payloadOffset;
    for (let i = 0; i < s.cols.length; i++) {
      if (dv.getUint16(po[i], true) === rawDataType) see(c, dv.getUint32(po[i] + 8, true));
    }
  });
  return counts;
}

/** Per-CPU raw_data ids in trace-cmd's text output ("[001] … raw_data: … # <hex id> …"). */
export function idsInText(file: string): Map<number, IdCount> {
  const counts = new Map<number, IdCount>();
  const text = readFileSync(file, 'latin1');
  const rx = /\[(\d+)\][^\n]*?raw_data: +# ([0-9a-f]+)/g;
  for (const m of text.matchAll(rx)) {
    const cpu = Number(m[1]);
    let c = counts.get(cpu);
    if (!c) counts.set(cpu, (c = newCount(cpu)));
    see(c, parseInt(m[2], 16));
  }
  return counts;
}

export function rawDataTypeId(): number {
  const m = /^ID:\s*(\d+)/m.exec(readFileSync(`${TRACEFS}/events/ftrace/raw_data/format`, 'utf8'));
  if (!m) throw new Error('no ftrace/raw_data format in tracefs');
  return Number(m[1]);
}

/**
 * `trace-cmd record|stream -B INSTANCE` around the markgen writers (trace-cmd runs them as its
 * command, so it is reading before the first write and stops after the last). `stdoutFile`
 * receives trace-cmd's stdout (stream prints every event there).
 */
export function runTraceCmd(
  t: Tools,
  mode: 'record' | 'stream',
  instance: string,
  script: string,
  o: {output?: string; stdoutFile: string; clock?: string; extra?: string[]; timeoutMs: number},
): Promise<{wallS: number; stderr: string; pid: number; watchdog: boolean}> {
  trackInstance(instance, t.shim);
  const args = [mode, '-B', instance];
  if (o.clock) args.push('-C', o.clock);
  // raw_data has no enable file; trace-cmd wants one enabled event: exec fires once per run.
  args.push('-e', 'sched:sched_process_exec', ...(o.extra ?? []));
  if (mode === 'record') args.push('-o', o.output!);
  args.push('sh', '-c', script);
  const fd = openSync(o.stdoutFile, 'w');
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const c = trackChild(
      spawn('trace-cmd', args, {
        env: {...process.env, LD_PRELOAD: t.shim},
        stdio: ['ignore', fd, 'pipe'],
        detached: true, // own process group: the watchdog stops trace-cmd and its recorders
      }),
      true,
    );
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // trace-cmd stream sometimes does not notice that its command ended: stop it the way a
    // user would (SIGINT flushes and exits), then harder.
    let watchdog = false;
    const soft = setTimeout(() => {
      watchdog = true;
      signalChild(c, 'SIGINT');
    }, o.timeoutMs);
    const hard = setTimeout(() => signalChild(c, 'SIGKILL'), o.timeoutMs + 5000);
    onEnded(c, (code) => {
      clearTimeout(soft);
      clearTimeout(hard);
      closeSync(fd);
      removeInstance(instance);
      if (code !== 0 && !watchdog) {
        reject(new Error(`trace-cmd ${mode} failed (${code}): ${stderr.slice(-2000)}`));
      } else resolve({wallS: (performance.now() - t0) / 1000, stderr, pid: c.pid!, watchdog});
    });
  });
}

export interface CpuEventCount {
  cpu: number;
  events: number;
  /** Events of the tracer's own processes (comm `selfComm`), when asked for. */
  self?: number;
  /** Loss the data itself records (trace.dat page headers, stream's "EVENTS DROPPED" lines). */
  lost: number;
  /** Places where events were lost but the count is unknown. */
  lostUnknown: number;
}

function cpuCount(m: Map<number, CpuEventCount>, cpu: number): CpuEventCount {
  let c = m.get(cpu);
  if (!c) m.set(cpu, (c = {cpu, events: 0, lost: 0, lostUnknown: 0}));
  return c;
}

/** Events per CPU in a trace.dat (every buffer), and the loss its page headers record. */
export function eventsInTraceDat(file: string, selfComm?: string): Map<number, CpuEventCount> {
  const counts = new Map<number, CpuEventCount>();
  // pids whose saved comm is selfComm (the file's cmdlines: "pid comm" lines)
  const selfPids = new Set<number>();
  const begin = (dat: TraceDat): void => {
    if (!selfComm) return;
    for (const l of dat.cmdlines.split('\n')) {
      const m = /^(\d+) (.*)$/.exec(l);
      if (m && m[2] === selfComm) selfPids.add(Number(m[1]));
    }
  };
  forEachTraceDatPage(
    file,
    (cpu, s) => {
      const c = cpuCount(counts, cpu);
      c.events += s.cols.length;
      if (selfPids.size) {
        const dv = new DataView(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength);
        for (let i = 0; i < s.cols.length; i++) {
          if (selfPids.has(dv.getInt32(s.cols.payloadOffset[i] + 4, true))) {
            c.self = (c.self ?? 0) + 1;
          }
        }
      }
      if (s.pageLost > 0) c.lost += s.pageLost;
      else if (s.pageLost < 0) c.lostUnknown++;
    },
    begin,
  );
  return counts;
}

/**
 * Events per CPU in trace-cmd stream/report text ("comm-pid [001] …" lines) and the drops it
 * printed ("CPU:1 [84865 EVENTS DROPPED]"). Read in chunks: the file can be hundreds of MB.
 */
export function eventsInText(file: string, selfComm?: string): Map<number, CpuEventCount> {
  const counts = new Map<number, CpuEventCount>();
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(8 << 20);
  let rest = '';
  const line = /^[^\n]{0,48}?\[(\d{3})\] /;
  const drop = /^CPU:(\d+) \[(\d+|\?) EVENTS DROPPED\]/;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      const text = rest + buf.toString('latin1', 0, n);
      const lines = text.split('\n');
      rest = n > 0 ? lines.pop()! : '';
      for (const l of lines) {
        const m = line.exec(l);
        if (m) {
          const c = cpuCount(counts, Number(m[1]));
          c.events++;
          if (selfComm && l.trimStart().startsWith(`${selfComm}-`)) c.self = (c.self ?? 0) + 1;
          continue;
        }
        const d = drop.exec(l);
        if (d) {
          const c = cpuCount(counts, Number(d[1]));
          if (d[2] === '?') c.lostUnknown++;
          else c.lost += Number(d[2]);
        }
      }
      if (n === 0) break;
    }
  } finally {
    closeSync(fd);
  }
  return counts;
}

/** The kernel's per-CPU statistics of an instance (per_cpu/cpuN/stats), e.g. overrun, entries. */
export function instanceCpuStats(instance: string): Map<number, Record<string, number>> {
  const out = new Map<number, Record<string, number>>();
  const dir = `${TRACEFS}/instances/${instance}/per_cpu`;
  for (const name of readdirSync(dir)) {
    const m = /^cpu(\d+)$/.exec(name);
    if (!m) continue;
    const rec: Record<string, number> = {};
    for (const l of readFileSync(`${dir}/${name}/stats`, 'utf8').split('\n')) {
      const kv = /^([a-z ]+):\s*([\d.]+)/.exec(l);
      if (kv) rec[kv[1]] = Number(kv[2]);
    }
    out.set(Number(m[1]), rec);
  }
  return out;
}

/**
 * Run a shell command (a workload such as hackbench) as the leader of its own process group;
 * resolves when it exits. The group is killed when the command ends and by the cleanup on
 * Ctrl-C or exit, so no forked worker outlives the bench.
 */
export function runWorkload(
  cmd: string,
  timeoutMs: number,
  /** Called with the shell's pid before the command starts (e.g. to set an event pid filter). */
  beforeStart?: (pid: number) => void,
): Promise<{code: number | null; wallS: number; output: string}> {
  let t0 = performance.now();
  return new Promise((resolve) => {
    // With beforeStart the shell waits for one line on stdin, then execs the command.
    const script = beforeStart ? `read go; exec sh -c '${cmd.replace(/'/g, `'\\''`)}'` : cmd;
    const c = trackChild(
      spawn('sh', ['-c', script], {
        stdio: [beforeStart ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        detached: true,
      }),
      true,
    );
    if (beforeStart) {
      beforeStart(c.pid!);
      t0 = performance.now();
      c.stdin!.end('go\n');
    }
    let output = '';
    c.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const hard = setTimeout(() => signalChild(c, 'SIGKILL'), timeoutMs);
    onEnded(c, (code) => {
      clearTimeout(hard);
      resolve({code, wallS: (performance.now() - t0) / 1000, output});
    });
  });
}
