import {describe, expect, it} from 'vitest';
import {createRecordingContext} from '../testing/recording-context.ts';
import {drawSparkline} from './sparkline-draw.ts';

describe('drawSparkline', () => {
  it('draws a polyline through every sample when they fit', () => {
    const rc = createRecordingContext();
    const {max} = drawSparkline(rc.ctx, [0, 5, 10], {widthPx: 101, heightPx: 21, dpr: 1});
    expect(max).toBe(10);
    const pts = rc.log.filter((o) => o.op === 'moveTo' || o.op === 'lineTo');
    expect(pts.map((p) => ('x' in p ? [p.x, p.y] : []))).toEqual([
      [0, 20],
      [50, 11],
      [100, 2],
    ]);
  });

  it('draws min/max per pixel column when samples outnumber pixels', () => {
    const values = Array.from({length: 10_000}, (_, i) => (i % 2 ? 100 : 0));
    const rc = createRecordingContext();
    drawSparkline(rc.ctx, values, {widthPx: 50, heightPx: 20, dpr: 1});
    const moves = rc.ops('moveTo');
    expect(moves).toHaveLength(50);
    expect(rc.ops('lineTo')).toHaveLength(50);
    // Each column spans the full range: bottom (0) to top (100).
    for (const m of moves) expect(m.y).toBe(19);
  });
});
