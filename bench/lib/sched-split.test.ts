import {spawn} from 'node:child_process';
import {describe, expect, it} from 'vitest';
import {
  formatSchedSplit,
  parseTaskStat,
  schedSplit,
  snapshotThreads,
  type ThreadSample,
} from './sched-split.ts';

const sample = (
  tid: number,
  pid: number,
  runMs: number,
  waitMs: number,
  sysMs = 0,
  minorFaults = 0,
): ThreadSample => ({
  pid,
  tid,
  name: `p${pid}/t${tid}`,
  runNs: runMs * 1e6,
  waitNs: waitMs * 1e6,
  sysMs,
  minorFaults,
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
      [1, sample(1, 1, 130, 90, 20, 1500)], // 30 ms run (20 in the kernel), 80 ms waiting
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
    expect(text).toMatch(
      /p1\/t1 +tid +1 +run +30 ms +waiting +80 ms +kernel +20 ms +minor faults +1500/,
    );
    expect(text).toContain('total run 430 ms (kernel 20), waiting 85 ms, minor faults 1500');
  });

  it('reads minflt and stime from a stat line whose comm holds spaces and parentheses', () => {
    // Fields 3.. of a real line: state ppid pgrp session tty tpgid flags minflt cminflt majflt
    // cmajflt utime stime …
    const line = '4242 (Web (Content) 1) S 1 4242 4242 0 -1 4194560 7311 0 3 0 250 42 0 0 20 0';
    expect(parseTaskStat(line)).toEqual({minorFaults: 7311, sysMs: 420});
  });

  it('sees a process that spins on a CPU, on this machine', async () => {
    // Spins 300 ms, writes 16 MiB of fresh memory (4,096 pages), then sleeps (still alive for
    // the second snapshot).
    const child = spawn(
      process.execPath,
      [
        '-e',
        'const e = Date.now() + 300; while (Date.now() < e);' +
          'globalThis.m = new Uint8Array(16 << 20).fill(1); setTimeout(() => {}, 5000)',
      ],
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
      // The spin is user time; the fresh memory is page faults.
      expect(main.sysMs).toBeLessThan(main.runMs / 2);
      expect(main.minorFaults).toBeGreaterThan(3000);
    } finally {
      child.kill();
    }
  });
});
