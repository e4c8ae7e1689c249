import {describe, expect, it} from 'vitest';
import {createRecordingContext} from '../testing/recording-context.ts';
import {CELL, drawRing, FADE_LEVELS, hitTestRing, SWAP_FADE_MS} from './ring-draw.ts';
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
    // All 8 idle cells in one fill (8 sub-paths), then reader highlight + reader fill level.
    expect(rc.ops('fill').map((f) => f.fillStyle)).toEqual([
      CELL,
      'rgba(88,166,214,0.25)',
      THEME.accent,
    ]);
    // One sub-path per cell, plus the reader's highlight, fill level and outline.
    expect(rc.ops('moveTo')).toHaveLength(8 + 3);
    expect(rc.ops('arc')).toHaveLength((8 + 3) * 2);
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
    // Which cells each fill covers: the outer arc of each sub-path starts at its cell's angle.
    const step = (Math.PI * 2) / 4;
    const cellsByFill: [string, number[]][] = [];
    let cur: number[] = [];
    for (const op of rc.log) {
      if (op.op === 'beginPath') cur = [];
      if (op.op === 'arc' && op.r === 50 - 3)
        cur.push(Math.round((op.a0 + Math.PI / 2) / step - 0.1) + 0);
      if (op.op === 'fill') cellsByFill.push([op.fillStyle, cur]);
    }
    // Reader (0) and the swap too old to glow (2) are idle cells; 1 glows; 3 is lost.
    expect(cellsByFill[0]).toEqual([CELL, [0, 2]]);
    expect(cellsByFill[1][0]).toMatch(/^rgba\(180,142,173/);
    expect(cellsByFill[1][1]).toEqual([1]);
    expect(cellsByFill[2]).toEqual([THEME.loss, [3]]);
  });

  it('fills neighbouring cells of one colour as one sector when the ring has no gaps', () => {
    // 352 sub-buffers (the default 1410 KiB of 4 KiB pages); the reader swapped through them in
    // order over the last 1.4 s, as under load, and two are lost.
    const n = 352;
    const now = 10_000;
    const recentSwaps = Array.from({length: n}, (_, id) => ({
      subbufId: id,
      atMs: now - 1400 + (id * 1400) / n,
    }));
    const rc = createRecordingContext();
    drawRing(
      rc.ctx,
      {nrSubbufs: n, readerId: n - 1, readerFill: 0.5, recentSwaps, lostIds: [100, 101]},
      scale,
      now,
    );
    // Outer arcs of the colour fills (before the reader's own three paths).
    const fills = rc.ops('fill').length - 2;
    const outer: {a0: number; a1: number}[] = [];
    let seenFills = 0;
    for (const op of rc.log) {
      if (op.op === 'fill') seenFills++;
      if (seenFills < fills && op.op === 'arc' && op.r === 50 - 3) outer.push(op);
    }
    // Eight fade levels, the lost pair and the idle reader: a dozen sectors, not 352 cells.
    expect(outer.length).toBeLessThanOrEqual(FADE_LEVELS + 4);
    // Together they still cover the whole circle once.
    const total = outer.reduce((a, o) => a + (o.a1 - o.a0), 0);
    expect(total).toBeCloseTo(Math.PI * 2, 9);
    expect(rc.ops('fill').some((f) => f.fillStyle === THEME.loss)).toBe(true);
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
