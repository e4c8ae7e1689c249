import {describe, expect, it} from 'vitest';
import {createRecordingContext} from '../testing/recording-context.ts';
import {CELL, drawRing, hitTestRing, SWAP_FADE_MS} from './ring-draw.ts';
import {THEME} from './colors.ts';

const scale = {widthPx: 100, heightPx: 100, dpr: 1};

describe('drawRing', () => {
  it('draws one cell per sub-buffer and outlines the reader', () => {
    const rc = createRecordingContext();
    drawRing(
      rc.ctx,
      {nrSubbufs: 8, readerId: 3, readerFill: 0.5, recentSwaps: [], lostIds: []},
      scale,
      0,
    );
    // 8 cells + reader highlight + reader fill level.
    expect(rc.ops('fill')).toHaveLength(10);
    expect(rc.ops('stroke').map((s) => s.strokeStyle)).toEqual([THEME.accent]);
  });

  it('marks lost cells red and fades recent swaps', () => {
    const rc = createRecordingContext();
    drawRing(
      rc.ctx,
      {
        nrSubbufs: 4,
        readerId: 0,
        readerFill: 0,
        recentSwaps: [
          {subbufId: 1, atMs: 900},
          {subbufId: 2, atMs: 1000 - SWAP_FADE_MS - 1},
        ],
        lostIds: [3],
      },
      scale,
      1000,
    );
    const fills = rc.ops('fill').map((f) => f.fillStyle);
    expect(fills[0]).toBe(CELL); // reader cell base
    expect(fills[1]).toMatch(/^rgba\(180,142,173/); // recent swap glows
    expect(fills[2]).toBe(CELL); // swap too old: faded out
    expect(fills[3]).toBe(THEME.loss);
  });

  it('draws nothing without a ring (read source has no meta page)', () => {
    const rc = createRecordingContext();
    drawRing(
      rc.ctx,
      {nrSubbufs: 0, readerId: -1, readerFill: 0, recentSwaps: [], lostIds: []},
      scale,
      0,
    );
    expect(rc.ops('fill')).toHaveLength(0);
  });
});

describe('hitTestRing', () => {
  const ring = {nrSubbufs: 4, readerId: 0, readerFill: 0, recentSwaps: [], lostIds: []};
  it.each([
    [50, 5, 0], // 12 o'clock → id 0 (clockwise from the top)
    [95, 50, 1], // 3 o'clock
    [50, 95, 2],
    [5, 50, 3],
    [50, 50, -1], // the hole
    [0, 0, -1], // outside
  ])('(%d,%d) → %d', (x, y, id) => {
    // Nudge clockwise so the point is inside the cell, not on its boundary.
    const a = Math.atan2(y - 50, x - 50) + 0.1;
    const r = Math.hypot(x - 50, y - 50);
    expect(hitTestRing(ring, scale, 50 + r * Math.cos(a), 50 + r * Math.sin(a))).toBe(id);
  });
});
