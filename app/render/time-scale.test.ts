import {describe, expect, it} from 'vitest';
import {
  formatDurationNs,
  formatTickNs,
  formatTraceTs,
  lowerBound,
  nearestIndex,
  tickStepNs,
  ticks,
} from './time-scale.ts';

describe('time-scale', () => {
  const a = Float64Array.from([10, 20, 20, 30]);
  it.each([
    [5, 0],
    [10, 0],
    [15, 1],
    [20, 1],
    [25, 3],
    [31, 4],
  ])('lowerBound(%d) = %d', (v, i) => expect(lowerBound(a, 4, v)).toBe(i));

  it.each([
    [0, 0],
    [14, 0],
    [16, 1],
    [29, 3],
    [99, 3],
  ])('nearestIndex(%d) = %d', (v, i) => expect(nearestIndex(a, 4, v)).toBe(i));

  it('nearestIndex of nothing is -1', () => expect(nearestIndex(a, 0, 5)).toBe(-1));

  it.each([
    [1_500_000_000, '1.50 s'],
    [12_345_678, '12.3 ms'],
    [800_000, '800 µs'],
    [42, '42.0 ns'],
  ])('formatDurationNs(%d) = %s', (ns, s) => expect(formatDurationNs(ns)).toBe(s));

  it.each([
    [1_002_000_000, 2_000_000, '+1.002 s'],
    [999_999_999.7, 2e8, '+1.0 s'],
    [350_000, 50_000, '+350 µs'],
    [20_000_000, 5_000_000, '+20 ms'],
    [3e9, 1e9, '+3 s'],
    [1_000_500, 100, '+1000500 ns'],
  ])('formatTickNs(%d, step %d) = %s', (ns, step, s) => expect(formatTickNs(ns, step)).toBe(s));

  it('prints timestamps like trace-cmd (seconds.microseconds)', () => {
    expect(formatTraceTs(12_345_678_901)).toBe('12.345678');
  });

  it('picks 1-2-5 tick steps at least the minimum gap apart', () => {
    const vp = {startNs: 0, endNs: 1e9};
    const step = tickStepNs(vp, 1000, 80);
    expect(step).toBe(1e8);
    expect(ticks(vp, {widthPx: 1000, heightPx: 20, dpr: 1})).toHaveLength(11);
    expect(tickStepNs({startNs: 0, endNs: 3e6}, 1000, 80)).toBe(5e5);
  });
});
