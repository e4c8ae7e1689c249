import {spawn} from 'node:child_process';
import {request} from 'node:http';
import {join} from 'node:path';
import {describe, expect, it} from 'vitest';
import {until} from '../fanout/testing/spy-source.ts';
import {startSimServe} from '../testing/sim-serve.ts';
import {REPO_ROOT} from './serve-command.ts';
import type {TailArgs} from './args.ts';
import {runTail} from './tail-command.ts';

const MARKER = /^\s*(\S+)-(\d+)\s+\[(\d{3})\]\s+(\d+\.\d{6}): print:\s+\S+: e2e-(\d+)$/;

/** A sim `serve` and a `tail` of it over a real WebSocket; `stop()` ends the tail (as Ctrl-C). */
async function tailOfSimServe(seed: string, args: Partial<TailArgs> = {}) {
  const {serve, sim} = await startSimServe(['--seed', seed]);
  const lines: string[] = [];
  const errs: string[] = [];
  const ac = new AbortController();
  const tail = runTail(
    {source: 'auto', events: [], url: serve.url, help: false, ...args},
    {
      write: (t) => lines.push(...t.split('\n').filter(Boolean)),
      err: (l) => errs.push(l),
      signal: ac.signal,
    },
  );
  const stop = () => {
    ac.abort();
    return tail;
  };
  return {serve, sim, lines, errs, stop};
}

describe('serve → tail over a real WebSocket (sim source)', () => {
  it('scripted markers arrive exactly once, in order, with no loss', async () => {
    const {serve, sim, lines, errs, stop} = await tailOfSimServe('7');
    try {
      await until(() => lines.length > 0, 10_000, 'first lines');
      const n = 3000;
      for (let i = 0; i < n; i++) {
        sim.writeMarker(i % sim.buffers.length, `e2e-${i}`);
        if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5));
      }
      const markers = () => lines.filter((l) => l.includes(' e2e-'));
      await until(() => markers().length >= n, 20_000, `markers (${markers().length})`);
      await new Promise((r) => setTimeout(r, 300));
      const result = await stop();
      const got = markers().map((l) => {
        const m = MARKER.exec(l);
        if (!m) throw new Error(`unexpected line: ${l}`);
        return {cpu: Number(m[3]), ts: Number(m[4]), i: Number(m[5])};
      });
      expect(got.length).toBe(n); // exactly once
      expect(new Set(got.map((g) => g.i)).size).toBe(n);
      for (let cpu = 0; cpu < sim.buffers.length; cpu++) {
        const seq = got.filter((g) => g.cpu === cpu).map((g) => g.i);
        expect(seq).toEqual([...seq].sort((a, b) => a - b)); // in order per CPU
        expect(seq.every((i) => i % sim.buffers.length === cpu)).toBe(true);
      }
      // merged output is in timestamp order
      const ts = lines.map((l) => Number(/\] +(\d+\.\d+):/.exec(l)?.[1] ?? 'NaN'));
      const bad = ts.findIndex((t, k) => k > 0 && t < ts[k - 1]);
      expect(bad, bad >= 0 ? lines.slice(Math.max(0, bad - 3), bad + 2).join('\n') : '').toBe(-1);
      expect(result.ended).toBe('signal');
      expect(result.kernelLost.every((k) => k === 0)).toBe(true);
      expect(
        result.loss.every(
          (l) => l.gapSlices === 0 && l.unexplainedSlices === 0 && l.decodeErrors === 0,
        ),
      ).toBe(true);
      expect(errs.at(-1)).toMatch(
        /^total: \d+ events; kernel loss 0 events; delivery gaps 0 slices/,
      );
    } finally {
      await serve.stop();
    }
  });

  it('tail --cpu: the server sends only that CPU, and its lines are not held for the others', async () => {
    const {serve, sim, lines, errs, stop} = await tailOfSimServe('8', {cpus: [1, 9]});
    try {
      await until(() => lines.length > 0, 10_000, 'first lines');
      const n = 400;
      for (let i = 0; i < n; i++) sim.writeMarker(i % 2, `e2e-${i}`);
      const markers = () => lines.filter((l) => l.includes(' e2e-'));
      await until(() => markers().length >= n / 2, 10_000, `cpu1 markers (${markers().length})`);
      await new Promise((r) => setTimeout(r, 300));
      const result = await stop();
      expect(new Set(lines.map((l) => /\[(\d{3})\]/.exec(l)?.[1]))).toEqual(new Set(['001']));
      expect(markers().map((l) => Number(MARKER.exec(l)?.[5]))).toEqual(
        Array.from({length: n / 2}, (_, k) => 2 * k + 1),
      );
      // cpu0 was never sent: the reader loop never heard of it.
      expect(result.loss.length).toBe(1);
      expect(errs[0]).toMatch(/--cpu 9: not in this source \(CPUs 0,1/);
    } finally {
      await serve.stop();
    }
  });

  it('`ringside serve` prints the source, then exactly one URL line, and exits 0 on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/ringside.mjs'),
        'serve',
        '--source',
        'sim',
        '--port',
        '0',
        '--no-open',
        '--no-build',
      ],
      {stdio: ['ignore', 'pipe', 'pipe']},
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await until(() => /^http:\/\/\S+\n/m.test(out), 20_000, `URL line (stdout: ${out})`);
      const urlLines = out.split('\n').filter((l) => l.startsWith('http'));
      expect(urlLines).toHaveLength(1);
      expect(urlLines[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
      expect(out.split('\n')[0]).toMatch(/^source sim/);
      const status = await new Promise<number>((resolve, reject) => {
        request(urlLines[0], {agent: false}, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      expect(status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('`ringside tail` in-process (no URL) on the sim source stops at --count', async () => {
    const lines: string[] = [];
    const errs: string[] = [];
    const r = await runTail(
      {source: 'sim', events: [], seed: 3, count: 500, help: false},
      {write: (t) => lines.push(...t.split('\n').filter(Boolean)), err: (l) => errs.push(l)},
    );
    expect(r.ended).toBe('count');
    expect(lines).toHaveLength(500);
    expect(r.printed).toBe(500);
    expect(errs.some((l) => l.startsWith('total: '))).toBe(true);
  });

  it('`ringside tail --duration` stops on time; SIGINT stops the CLI cleanly with totals', async () => {
    const errs: string[] = [];
    const t0 = Date.now();
    const r = await runTail(
      {source: 'sim', events: [], seed: 4, durationS: 0.4, help: false},
      {write: () => {}, err: (l) => errs.push(l)},
    );
    expect(r.ended).toBe('duration');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);

    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'bin/ringside.mjs'), 'tail', '--source', 'sim'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    await until(() => out.split('\n').length > 20, 20_000, 'tail output');
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(err).toMatch(/^total: \d+ events; kernel loss \d+ events; delivery gaps 0 slices/m);
    expect(out.split('\n')[0]).toMatch(/^\s+\S+-\d+\s+\[\d{3}\] \d+\.\d{6}: \w+:/);
  });
});
