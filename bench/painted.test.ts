/** The painted bench's arithmetic: which draw paints an event, and the per-second split. */
import {describe, expect, it} from 'vitest';
import {paintedLatencies, perSecondMs} from './painted.bench.ts';

const frame = (monoNs: number, newestNs: number) => ({
  monoNs,
  newestNs,
  vpStartNs: 0,
  vpEndNs: 0,
  marks: 1,
});

describe('painted bench arithmetic', () => {
  it('takes the first draw whose newest event is at least the event, and splits by second', () => {
    const events = [2.5e9, 0.2e9, 0.1e9, 1.1e9, 9e9];
    const frames = [
      frame(0.15e9, 0.1e9),
      frame(0.3e9, 0.2e9),
      frame(1.3e9, 1.2e9),
      frame(2.6e9, 2.5e9),
    ];
    const p = paintedLatencies(events, frames);
    expect(p.unpainted).toBe(1); // 9 s: no draw reached it
    expect(p.tsNs).toEqual([0.1e9, 0.2e9, 1.1e9, 2.5e9]);
    expect(p.latencyNs.map((x) => Math.round(x / 1e6))).toEqual([50, 100, 200, 100]);
    const bySecond = perSecondMs(p).map(([a, b]) => [Math.round(a), Math.round(b)]);
    expect(bySecond.length).toBe(3);
    expect(bySecond[1]).toEqual([200, 200]);
    expect(bySecond[2]).toEqual([100, 100]);
    expect(bySecond[0][1]).toBeGreaterThanOrEqual(99);
  });
});
