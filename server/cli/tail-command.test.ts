import {describe, expect, it} from 'vitest';
import {CpuMerger} from './tail-command.ts';

describe('CpuMerger with CAUGHT_UP', () => {
  it('a line waits until every other CPU passed its time or was drained by a later read', () => {
    const m = new CpuMerger();
    m.expect([0, 1]);
    m.push(0, 10, 'a10', 0);
    m.push(0, 20, 'a20', 0);
    m.caughtUp([0, 1]); // read 1: covers only lines of reads before it (none)
    expect(m.drain(1, false)).toEqual([]);
    m.push(1, 15, 'b15', 2); // read 2
    expect(m.drain(2, false)).toEqual(['a10', 'b15']); // cpu1 passed 10; cpu0 passed 15
    m.caughtUp([1]); // read 2 drained cpu1: lines of read 1 (a20) are safe now
    expect(m.drain(3, false)).toEqual(['a20']);
  });

  it('a CPU drained in the same read as the line does not vouch for it', () => {
    const m = new CpuMerger();
    m.expect([0, 1]);
    m.caughtUp([]);
    m.push(0, 100, 'a100', 0);
    m.caughtUp([0, 1]); // cpu1 may have been drained before cpu0 in this read
    expect(m.drain(0, false)).toEqual([]);
    m.push(1, 90, 'b90', 1); // written by cpu1 after its drain, before cpu0's
    m.caughtUp([0, 1]);
    expect(m.drain(1, false)).toEqual(['b90', 'a100']);
  });

  it('no timeouts decide order: a silent CPU holds lines until it is drained (5 s last resort)', () => {
    const m = new CpuMerger();
    m.expect([0, 1, 2]);
    m.caughtUp([]);
    m.push(0, 5, 'a5', 0);
    m.push(1, 7, 'b7', 0);
    m.caughtUp([0, 1]); // cpu2 not drained (budget ran out)
    m.caughtUp([0, 1]);
    expect(m.drain(600, false)).toEqual([]); // the old rule let them go after 500 ms
    expect(m.drain(4999, false)).toEqual([]);
    expect(m.drain(5000, false)).toEqual(['a5', 'b7']);
  });

  it('force drains everything in timestamp order', () => {
    const m = new CpuMerger();
    m.caughtUp([]);
    m.push(1, 3, 'b3', 0);
    m.push(0, 1, 'a1', 0);
    m.push(0, 4, 'a4', 0);
    expect(m.drain(0, true)).toEqual(['a1', 'b3', 'a4']);
  });
});

describe('CpuMerger without CAUGHT_UP (sim, replay)', () => {
  it('keeps the old rule: a CPU that delivered in the last 500 ms holds the others', () => {
    const m = new CpuMerger();
    m.expect([0, 1]);
    m.push(0, 10, 'a10', 0);
    expect(m.drain(100, false)).toEqual([]); // cpu1 announced, silent, data started 100 ms ago
    m.push(1, 5, 'b5', 100);
    expect(m.drain(100, false)).toEqual(['b5']);
    expect(m.drain(550, false)).toEqual([]); // cpu1 delivered 450 ms ago: still waited for
    expect(m.drain(601, false)).toEqual(['a10']);
  });
});
