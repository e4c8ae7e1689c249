import {spawn} from 'node:child_process';
import {describe, expect, it} from 'vitest';
import {formatSchedSplit, schedSplit, snapshotThreads, type ThreadSample} from './sched-split.ts';

const sample = (tid: number, pid: number, runMs: number, waitMs: number): ThreadSample => ({
  pid,
  tid,
  name: `p${pid}/t${tid}`,
  runNs: runMs * 1e6,
  waitNs: waitMs * 1e6,
});

describe('schedSplit', () => {
  it('counts run and wait between snapshots, busiest first, leaving out idle and new threads', () => {
    const a = new Map([
      [1, sample(1, 1, 100, 10)],
      [2, sample(2, 1, 50, 0)],
      [3, sample(3, 3, 0, 0)],
      [4, sample(4, 4, 0, 0)],
    ]);
    const b = new Map([
      [1, sample(1, 1, 130, 90)], // 30 ms run, 80 ms waiting
      [2, sample(2, 1, 55, 1)], // 6 ms in all: below the threshold
      [3, sample(3, 3, 400, 5)],
      [4, sample(4, 9, 900, 0)], // tid reused by another process: no start to count from
      [5, sample(5, 5, 700, 0)], // started after the first snapshot
    ]);
    const rows = schedSplit(a, b, 20);
    expect(rows.map((r) => [r.tid, r.runMs, r.waitMs])).toEqual([
      [3, 400, 5],
      [1, 30, 80],
    ]);
    const text = formatSchedSplit(rows, 5000, 'heavy: ', new Map([[3, 'server']]));
    expect(text).toContain('heavy: threads over 5.0 s');
    expect(text).toMatch(/server\/t3 +tid +3 +run +400 ms/);
    expect(text).toMatch(/p1\/t1 +tid +1 +run +30 ms +waiting +80 ms/);
    expect(text).toContain('total run 430 ms, waiting 85 ms');
  });

  it('sees a process that spins on a CPU, on this machine', async () => {
    // Spins 300 ms, then sleeps (still alive for the second snapshot).
    const child = spawn(
      process.execPath,
      ['-e', 'const e = Date.now() + 300; while (Date.now() < e); setTimeout(() => {}, 5000)'],
      {stdio: 'ignore'},
    );
    try {
      const before = snapshotThreads(/-e const e = Date/);
      expect([...before.values()].some((t) => t.pid === child.pid)).toBe(true);
      await new Promise((r) => setTimeout(r, 800));
      const rows = schedSplit(before, snapshotThreads(/-e const e = Date/), 0);
      const main = rows.find((r) => r.tid === child.pid)!; // a process's first thread has its pid
      expect(main.name).toMatch(/^node\//);
      // Most of the spin falls between the snapshots (the child needs a few ms to start).
      expect(main.runMs).toBeGreaterThan(150);
      expect(main.runMs).toBeLessThan(800);
    } finally {
      child.kill();
    }
  });
});
