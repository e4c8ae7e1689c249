import {describe, expect, it} from 'vitest';
import {RafScheduler, type FrameClock} from './raf-scheduler.ts';

function manualClock() {
  let next = 1;
  const cbs = new Map<number, (t: number) => void>();
  const clock: FrameClock = {
    request: (cb) => {
      cbs.set(next, cb);
      return next++;
    },
    cancel: (id) => cbs.delete(id),
  };
  return {
    clock,
    pending: () => cbs.size,
    tick(t: number) {
      const all = [...cbs.values()];
      cbs.clear();
      for (const cb of all) cb(t);
    },
  };
}

describe('RafScheduler', () => {
  it('coalesces many requests into one paint per frame', () => {
    const c = manualClock();
    const s = new RafScheduler(c.clock);
    let a = 0;
    let b = 0;
    const fa = () => a++;
    const fb = () => b++;
    for (let i = 0; i < 100; i++) {
      s.request(fa);
      s.request(fb);
    }
    expect(c.pending()).toBe(1);
    c.tick(16);
    expect([a, b, s.frames]).toEqual([1, 1, 1]);
    c.tick(32); // nothing dirty, nothing armed
    expect([a, b]).toEqual([1, 1]);
    expect(c.pending()).toBe(0);
  });

  it('keeps animating until stopped and survives a throwing draw', () => {
    const c = manualClock();
    const s = new RafScheduler(c.clock);
    let n = 0;
    const stop = s.animate(() => n++);
    s.request(() => {
      throw new Error('boom');
    });
    const err = console.error;
    console.error = () => {};
    c.tick(100);
    console.error = err;
    c.tick(200);
    c.tick(300);
    expect(n).toBe(3);
    stop();
    c.tick(400);
    expect(n).toBe(3);
    expect(c.pending()).toBe(0);
  });

  it('paints animations every sixth 60 Hz frame (100 ms), dirty canvases every frame', () => {
    const c = manualClock();
    const s = new RafScheduler(c.clock);
    let anim = 0;
    let dirty = 0;
    const stop = s.animate(() => anim++);
    const fd = () => dirty++;
    for (let i = 1; i <= 36; i++) {
      s.request(fd);
      c.tick(i * 16.7);
    }
    expect(dirty).toBe(36);
    expect(anim).toBe(6); // frames 1, 7, 13, 19, 25, 31
    expect(c.pending()).toBe(1); // still armed for the animation
    stop();
  });
});
