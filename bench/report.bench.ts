/**
 * `ringside report FILE` vs `trace-cmd report FILE` on two trace.dat files recorded here with
 * trace-cmd into a private instance (LD_PRELOAD shim):
 *  - small: sched, timer and irq events of a fork-heavy shell loop plus 100k/s trace_marker_raw
 *    markers, ~350k report lines (bench/build/report-bench.dat);
 *  - large: also raw_syscalls and kmem:kmalloc/kfree of the workload's own tasks (-c -F), 3 s of
 *    markers, v7 with zstd, ~2M lines (bench/build/report-bench-large.dat).
 * For each: wall time and CPU time (user+sys), best of three alternating runs per side (outputs
 * to files) and a byte-for-byte comparison of the outputs; ringside as it runs by default (two
 * threads for large files unless the machine is busy) and with one and two threads forced.
 * The precompiled CLI (dist-cli/) is built first; its start-up (`report --help`) is printed
 * separately, with tsx's for comparison.
 *
 * npm run bench report [--record] [--file trace.dat]
 */
import {spawnSync} from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {installCleanup, removeInstance, trackInstance} from './lib/cleanup.ts';
import {BUILD, buildTools} from './lib/tools.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const RINGSIDE = join(REPO, 'bin/ringside.mjs');
const RUNS = 3;

interface Recording {
  file: string;
  events: string[];
  /** trace-cmd record options before `-B` (file format) and after it (for the instance). */
  fileOptions: string[];
  instanceOptions: string[];
  script: (markgen: string, instance: string) => string;
}

const SMALL: Recording = {
  file: join(BUILD, 'report-bench.dat'),
  events: ['sched', 'timer', 'irq'],
  fileOptions: [],
  instanceOptions: [],
  script: (markgen, instance) =>
    `${markgen} -i ${instance} -c 1 -r 100000 -d 2 >/dev/null & ` +
    `(i=0; while [ $i -lt 1500 ]; do echo x | cat >/dev/null; i=$((i+1)); done) & wait`,
};

const LARGE: Recording = {
  file: join(BUILD, 'report-bench-large.dat'),
  events: ['sched', 'irq', 'timer', 'raw_syscalls', 'kmem:kmalloc', 'kmem:kfree'],
  fileOptions: ['--file-version', '7', '--compression', 'zstd'],
  instanceOptions: ['-b', '16384', '-c', '-F'],
  script: (markgen, instance) =>
    `${markgen} -i ${instance} -c 0 -r 100000 -d 3 >/dev/null & ` +
    `(i=0; while [ $i -lt 2000 ]; do echo x | cat >/dev/null; i=$((i+1)); done) & wait`,
};

function record(rec: Recording): void {
  const t = buildTools();
  const instance = `ringside-bench-report-${process.pid}`;
  trackInstance(instance, t.shim);
  try {
    const r = spawnSync(
      'trace-cmd',
      [
        'record',
        ...rec.fileOptions,
        '-B',
        instance,
        ...rec.instanceOptions,
        ...rec.events.flatMap((e) => ['-e', e]),
        '-o',
        rec.file,
        'sh',
        '-c',
        rec.script(t.markgen, instance),
      ],
      {env: {...process.env, LD_PRELOAD: t.shim}, encoding: 'utf8', timeout: 120_000},
    );
    if (r.status !== 0) throw new Error(`trace-cmd record failed: ${r.stderr}`);
  } finally {
    removeInstance(instance);
  }
}

interface Run {
  wallS: number;
  cpuS?: number;
}

/** Run with stdout to `out`; wall time, and user+sys CPU time when /usr/bin/time is there. */
function timed(cmd: string, args: string[], out: string, env?: NodeJS.ProcessEnv): Run {
  const fd = openSync(out, 'w');
  const timeFile = `${out}.time`;
  const useTime = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = useTime
    ? spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, cmd, ...args], {
        cwd: REPO,
        env: env ?? process.env,
        stdio: ['ignore', fd, 'pipe'],
      })
    : spawnSync(cmd, args, {cwd: REPO, env: env ?? process.env, stdio: ['ignore', fd, 'pipe']});
  const wallS = (performance.now() - t0) / 1000;
  closeSync(fd);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr?.toString().slice(0, 500)}`);
  if (!useTime) return {wallS};
  const [user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ');
  return {wallS, cpuS: Number(user) + Number(sys)};
}

function best(runs: Run[]): Run {
  const wallS = Math.min(...runs.map((r) => r.wallS));
  const cpu = runs.map((r) => r.cpuS).filter((c): c is number => c !== undefined);
  return {wallS, cpuS: cpu.length ? Math.min(...cpu) : undefined};
}

function firstDifference(a: Buffer, b: Buffer): string {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  const line = a.subarray(0, i).toString('latin1').split('\n').length;
  const grab = (x: Buffer) => {
    const s = x.lastIndexOf(10, i) + 1;
    const e = x.indexOf(10, i);
    return x.subarray(s, e < 0 ? x.length : e).toString('latin1');
  };
  return `line ${line}:\n  trace-cmd: ${grab(a)}\n  ringside:  ${grab(b)}`;
}

function countLines(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  return n;
}

const cpuText = (r: Run): string => (r.cpuS === undefined ? '' : `, CPU ${r.cpuS.toFixed(2)} s`);

function compare(file: string, dir: string) {
  const tcOut = join(dir, 'trace-cmd.txt');
  const args = [RINGSIDE, 'report', file];
  // As it runs by default (two threads for large files unless the machine is busy), and each forced.
  const variants = [
    {key: 'ringside', label: 'ringside report:', env: process.env},
    {
      key: 'oneThread',
      label: '  one thread:',
      env: {...process.env, RINGSIDE_REPORT_THREADS: '1'},
    },
    {
      key: 'twoThreads',
      label: '  two threads:',
      env: {...process.env, RINGSIDE_REPORT_THREADS: '2'},
    },
  ].map((v) => ({...v, out: join(dir, `${v.key}.txt`), runs: [] as Run[]}));
  timed(process.execPath, args, variants[0].out); // page cache, koffi
  const tcRuns: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    tcRuns.push(timed('trace-cmd', ['report', file], tcOut));
    for (const v of variants) v.runs.push(timed(process.execPath, args, v.out, v.env));
  }
  const tc = best(tcRuns);
  const a = readFileSync(tcOut);
  const lines = countLines(a);
  console.log(
    `file ${file}: ${(statSync(file).size / 1e6).toFixed(1)} MB, ${lines} report lines, ${(a.length / 1e6).toFixed(1)} MB of text`,
  );
  const rate = (r: Run) => `${(lines / r.wallS / 1e6).toFixed(2)} M lines/s`;
  console.log(`  trace-cmd report:   ${tc.wallS.toFixed(2)} s (${rate(tc)}${cpuText(tc)})`);
  const figures: Record<string, unknown> = {};
  let allIdentical = true;
  for (const v of variants) {
    const r = best(v.runs);
    const b = readFileSync(v.out);
    const identical = a.equals(b);
    allIdentical &&= identical;
    console.log(
      `  ${v.label.padEnd(18)} ${r.wallS.toFixed(2)} s (${rate(r)}${cpuText(r)}), ` +
        `ratio ${(tc.wallS / r.wallS).toFixed(2)}x, ` +
        (identical
          ? 'byte-identical'
          : `DIFFERS (${a.length} vs ${b.length} bytes) at ${firstDifference(a, b)}`),
    );
    figures[v.key] = {
      wallS: r.wallS,
      cpuS: r.cpuS,
      ratio: tc.wallS / r.wallS,
      identical,
      runs: v.runs,
    };
  }
  const rs = best(variants[0].runs);
  console.log(
    `  ratio trace-cmd / ringside wall time: ${(tc.wallS / rs.wallS).toFixed(2)}x (>1: ringside faster)`,
  );
  return {
    file,
    fileBytes: statSync(file).size,
    lines,
    traceCmdS: tc.wallS,
    traceCmdCpuS: tc.cpuS,
    ringsideS: rs.wallS,
    ringsideCpuS: rs.cpuS,
    ratio: tc.wallS / rs.wallS,
    identical: allIdentical,
    traceCmdBytes: a.length,
    traceCmdRuns: tcRuns,
    ...figures,
  };
}

function startup(dir: string) {
  const help = (env?: NodeJS.ProcessEnv) =>
    best(
      [0, 1, 2].map(() =>
        timed(process.execPath, [RINGSIDE, 'report', '--help'], join(dir, 'h'), env),
      ),
    ).wallS;
  const bundled = help();
  const tsx = help({...process.env, RINGSIDE_NO_BUNDLE: '1'});
  const bare = best(
    [0, 1, 2].map(() => timed(process.execPath, ['-e', '0'], join(dir, 'h'))),
  ).wallS;
  console.log(
    `start-up (report --help): bundled CLI ${bundled.toFixed(3)} s, under tsx ${tsx.toFixed(3)} s, bare node ${bare.toFixed(3)} s`,
  );
  return {bundledS: bundled, tsxS: tsx, bareNodeS: bare};
}

export const reportBench = {
  describe:
    '`ringside report` vs `trace-cmd report` wall and CPU time on a ~350k- and a ~2M-line trace.dat, outputs compared byte for byte',
  async run(args: string[]) {
    installCleanup();
    const build = spawnSync(process.execPath, [join(REPO, 'server/cli/build-cli.mjs')], {
      encoding: 'utf8',
    });
    if (build.status !== 0) throw new Error(`building the CLI failed: ${build.stderr}`);
    const fi = args.indexOf('--file');
    const recordings = fi >= 0 ? [] : [SMALL, LARGE];
    for (const rec of recordings) {
      if (args.includes('--record') || !existsSync(rec.file)) record(rec);
    }
    const files = fi >= 0 ? [args[fi + 1]] : recordings.map((r) => r.file);
    const dir = mkdtempSync(join(tmpdir(), 'ringside-bench-report-'));
    try {
      const start = startup(dir);
      const results = files.map((f) => compare(f, dir));
      const [first, ...more] = results;
      // The first file's figures stay at the top level (as before the large file was added).
      return {...first, startup: start, startupS: start.bundledS, files: results, large: more[0]};
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
  },
};
