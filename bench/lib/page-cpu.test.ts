import {spawn} from 'node:child_process';
import {describe, expect, it} from 'vitest';
import {cpuShare, cpuWindow, snapshotTree} from './page-cpu.ts';

describe('page-cpu', () => {
  it("counts a child process's CPU in its parent's tree, and an idle window as ~0", async () => {
    // A child that spins for 400 ms after a 300 ms pause (so its threads exist before the
    // window), then idles until killed (so they still exist after it).
    const child = spawn(process.execPath, [
      '-e',
      'setTimeout(() => { const t = Date.now(); while (Date.now() - t < 400); }, 300); setInterval(() => {}, 1000)',
    ]);
    const exited = new Promise((r) => child.once('exit', r));
    await new Promise((r) => setTimeout(r, 150));
    expect([...snapshotTree(process.pid).values()].some((s) => s.pid === child.pid)).toBe(true);
    const w = cpuWindow(child.pid!);
    await new Promise((r) => setTimeout(r, 650));
    const share = w.stop();
    child.kill();
    await exited;
    // ~400 ms of spinning over ~650 ms: 50-70 % of a core (the spin may start late on a busy machine).
    expect(share.pctOfCore).toBeGreaterThan(35);
    expect(share.pctOfCore).toBeLessThan(110);
    expect(share.busiest.pctOfCore).toBeGreaterThan(35);
    expect(share.busiest.name).toMatch(/^node\//);
  });

  it('a window with no threads is 0 % with no busiest thread', () => {
    expect(cpuShare(new Map(), new Map(), 1000)).toEqual({
      pctOfCore: 0,
      busiest: {name: '', pctOfCore: 0},
    });
  });
});
