/**
 * `ringside report FILE` vs `trace-cmd report FILE` on the same large trace.dat: wall time (three
 * alternating runs per side, best kept; outputs to files) and a byte-for-byte comparison of the
 * two outputs. The trace.dat is recorded here with trace-cmd into a private instance: sched,
 * timer and irq events of a fork-heavy shell loop plus 100k/s trace_marker_raw markers, a few
 * hundred thousand events (kept in bench/build/report-bench.dat; `--record` records anew).
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
import {installCleanup} from './lib/cleanup.ts';
import {BUILD, buildTools} from './lib/tools.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));

function record(file: string): void {
  const t = buildTools();
  const instance = `ringside-bench-report-${process.pid}`;
  const script =
    `${t.markgen} -i ${instance} -c 1 -r 100000 -d 2 >/dev/null & ` +
    `(i=0; while [ $i -lt 1500 ]; do echo x | cat >/dev/null; i=$((i+1)); done) & wait`;
  const r = spawnSync(
    'trace-cmd',
    [
      'record',
      '-B',
      instance,
      '-e',
      'sched',
      '-e',
      'timer',
      '-e',
      'irq',
      '-o',
      file,
      'sh',
      '-c',
      script,
    ],
    {env: {...process.env, LD_PRELOAD: t.shim}, encoding: 'utf8', timeout: 60_000},
  );
  spawnSync('rmdir', [`/sys/kernel/tracing/instances/${instance}`]);
  if (r.status !== 0) throw new Error(`trace-cmd record failed: ${r.stderr}`);
}

function timed(cmd: string, args: string[], out: string): number {
  const fd = openSync(out, 'w');
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {cwd: REPO, stdio: ['ignore', fd, 'pipe'], maxBuffer: 1 << 26});
  const s = (performance.now() - t0) / 1000;
  closeSync(fd);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr?.toString().slice(0, 500)}`);
  return s;
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

export const reportBench = {
  describe:
    '`ringside report` vs `trace-cmd report` wall time on one large trace.dat, outputs compared byte for byte',
  async run(args: string[]) {
    installCleanup();
    const fi = args.indexOf('--file');
    const file = fi >= 0 ? args[fi + 1] : join(BUILD, 'report-bench.dat');
    if (fi < 0 && (args.includes('--record') || !existsSync(file))) record(file);
    const dir = mkdtempSync(join(tmpdir(), 'ringside-bench-report-'));
    try {
      const tcOut = join(dir, 'trace-cmd.txt');
      const rsOut = join(dir, 'ringside.txt');
      const ringside = [join(REPO, 'bin/ringside.mjs'), 'report', file];
      timed(process.execPath, ringside, rsOut); // warm tsx's compile cache
      const startup = Math.min(
        ...[0, 1, 2].map(() =>
          timed(
            process.execPath,
            [join(REPO, 'bin/ringside.mjs'), 'report', '--help'],
            join(dir, 'h'),
          ),
        ),
      );
      let tc = Infinity;
      let rs = Infinity;
      for (let i = 0; i < 3; i++) {
        tc = Math.min(tc, timed('trace-cmd', ['report', file], tcOut));
        rs = Math.min(rs, timed(process.execPath, ringside, rsOut));
      }
      const a = readFileSync(tcOut);
      const b = readFileSync(rsOut);
      const identical = a.equals(b);
      const lines = a.toString('latin1').split('\n').length - 1;
      console.log(
        `file ${file}: ${(statSync(file).size / 1e6).toFixed(1)} MB, ${lines} report lines, ${(a.length / 1e6).toFixed(1)} MB of text`,
      );
      console.log(
        `trace-cmd report: ${tc.toFixed(2)} s (${(lines / tc / 1e6).toFixed(2)} M lines/s)`,
      );
      console.log(
        `ringside report:  ${rs.toFixed(2)} s (${(lines / rs / 1e6).toFixed(2)} M lines/s; node+tsx start-up ${startup.toFixed(2)} s of it)`,
      );
      console.log(
        `ratio trace-cmd / ringside wall time: ${(tc / rs).toFixed(2)}x (>1: ringside faster)`,
      );
      console.log(
        identical
          ? 'outputs byte-identical'
          : `outputs DIFFER (${a.length} vs ${b.length} bytes) at ${firstDifference(a, b)}`,
      );
      return {
        file,
        fileBytes: statSync(file).size,
        lines,
        traceCmdS: tc,
        ringsideS: rs,
        startupS: startup,
        ratio: tc / rs,
        identical,
        traceCmdBytes: a.length,
        ringsideBytes: b.length,
      };
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
  },
};
