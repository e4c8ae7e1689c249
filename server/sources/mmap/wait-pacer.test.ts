import {describe, expect, it} from 'vitest';
import {WaitPacer} from './wait-pacer.ts';

const opts = {cpus: 2, subbufSize: 4096, bufferBytes: 2 * 1410 * 1024};

describe('WaitPacer', () => {
  it('does not hold back after an empty read (go straight to poll)', () => {
    const p = new WaitPacer(opts);
    p.noteRead(0, 1000);
    expect(p.gapMs()).toBe(0);
    expect(p.remainingMs(1000)).toBe(0);
  });

  it('batches for baseGapMs after a read that found data', () => {
    const p = new WaitPacer(opts);
    p.noteRead(0, 0);
    p.noteRead(2000, 1000); // a trickle
    expect(p.gapMs()).toBe(16);
    expect(p.remainingMs(1004)).toBe(12);
    expect(p.remainingMs(1020)).toBe(0);
  });

  it('shortens the gap when the buffer would fill (overrun guard), never below minGapMs', () => {
    const p = new WaitPacer(opts);
    let t = 0;
    // ~150 KB/ms (4.8 M events/s of 32 B): the whole buffer fills in ~19 ms.
    for (let i = 0; i < 20; i++) p.noteRead(150_000 * 10, (t += 10));
    expect(p.rateBytesPerMs).toBeGreaterThan(100_000);
    expect(p.gapMs()).toBeLessThan(16);
    expect(p.gapMs()).toBeGreaterThanOrEqual(2);
    const tiny = new WaitPacer({...opts, bufferBytes: 16 * 1024});
    for (let i = 0; i < 20; i++) tiny.noteRead(150_000 * 10, (t += 10));
    expect(tiny.gapMs()).toBe(2);
  });

  it('decays back to idle', () => {
    const p = new WaitPacer(opts);
    p.noteRead(1_000_000, 10);
    for (let i = 0; i < 40; i++) p.noteRead(0, 20 + i);
    expect(p.rateBytesPerMs).toBe(0);
    expect(p.gapMs()).toBe(0);
  });
});
