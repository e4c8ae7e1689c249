import {describe, expect, it} from 'vitest';
import {WaitPacer} from './wait-pacer.ts';

/** One CPU's buffer: the kernel default 1410 KiB, 4 KiB sub-buffers. */
const opts = {cpus: 2, subbufSize: 4096, cpuBufferBytes: 1410 * 1024};

describe('WaitPacer', () => {
  it('does not hold back after an empty read (go straight to poll)', () => {
    const p = new WaitPacer(opts);
    p.noteRead(0, 1000);
    expect(p.gapMs()).toBe(0);
    expect(p.remainingMs(1000)).toBe(0);
  });

  it('a trickle holds back the base gap by default, or a shorter trickle gap when given', () => {
    const p = new WaitPacer(opts);
    const short = new WaitPacer({...opts, trickleGapMs: 4});
    for (const x of [p, short]) {
      x.noteRead(0, 0);
      for (let t = 4; t <= 40; t += 4) x.noteRead(96, t); // 1k events/s of 24 B
      expect(x.busy).toBe(false);
    }
    expect(p.gapMs()).toBe(8);
    expect(p.remainingMs(41)).toBe(7);
    expect(p.remainingMs(48)).toBe(0);
    expect(short.gapMs()).toBe(4);
    expect(short.remainingMs(41)).toBe(3);
    expect(short.remainingMs(44)).toBe(0);
  });

  it('a lone event after a quiet spell is read at once', () => {
    const p = new WaitPacer(opts);
    p.noteRead(24, 1000);
    expect(p.remainingMs(1500)).toBe(0);
  });

  it('batches for baseGapMs once the busiest CPU brings a sub-buffer per gap', () => {
    const p = new WaitPacer(opts);
    let t = 0;
    // 100k events/s of 24 B = 2.4 KB/ms: a 4 KiB sub-buffer in 1.7 ms.
    for (let i = 0; i < 10; i++) p.noteRead(2400 * 8, (t += 8));
    expect(p.busy).toBe(true);
    expect(p.gapMs()).toBe(8);
    expect(p.remainingMs(t + 3)).toBe(5);
  });

  it('uses the busiest CPU, not the sum, to decide', () => {
    const spread = new WaitPacer({...opts, cpus: 16});
    const one = new WaitPacer({...opts, cpus: 16});
    let t = 0;
    for (let i = 0; i < 10; i++) {
      t += 4;
      spread.noteRead(16 * 300, t, 300); // 16 CPUs, each 75 B/ms: a page per 55 ms each
      one.noteRead(16 * 300, t, 16 * 300); // the same bytes from one CPU
    }
    expect(spread.busy).toBe(false);
    expect(one.busy).toBe(true);
  });

  it('shortens the gap when one CPU would fill its own buffer (overrun guard), never below minGapMs', () => {
    const p = new WaitPacer(opts);
    let t = 0;
    // ~100 KB/ms on one CPU (4 M events/s of 24 B): its 1410 KiB fill in ~14 ms, guard 3.6 ms.
    for (let i = 0; i < 20; i++) p.noteRead(100_000 * 4, (t += 4), 100_000 * 4);
    expect(p.rateBytesPerMs).toBeGreaterThan(90_000);
    expect(p.gapMs()).toBeGreaterThan(3);
    expect(p.gapMs()).toBeLessThan(4);
    // The same total spread over 2 CPUs: each fills its buffer half as fast.
    const two = new WaitPacer(opts);
    for (let i = 0; i < 20; i++) two.noteRead(100_000 * 4, (t += 4), 50_000 * 4);
    expect(two.gapMs()).toBeCloseTo((1410 * 1024) / 50_000 / 4, 1);
    const tiny = new WaitPacer({...opts, cpuBufferBytes: 16 * 1024});
    for (let i = 0; i < 20; i++) tiny.noteRead(150_000 * 10, (t += 10));
    expect(tiny.gapMs()).toBe(1);
  });

  it('decays back to idle', () => {
    const p = new WaitPacer(opts);
    p.noteRead(1_000_000, 10);
    for (let i = 0; i < 40; i++) p.noteRead(0, 20 + i);
    expect(p.rateBytesPerMs).toBe(0);
    expect(p.gapMs()).toBe(0);
  });
});
