/**
 * Time ↔ pixel math and the binary searches every draw loop starts with (uPlot `closestIdx`).
 */
import type {CanvasScale, Nanoseconds, Viewport} from '../model/types.ts';

export function nsToPx(tsNs: Nanoseconds, vp: Viewport, widthPx: number): number {
  return ((tsNs - vp.startNs) / (vp.endNs - vp.startNs)) * widthPx;
}

export function pxToNs(x: number, vp: Viewport, widthPx: number): Nanoseconds {
  return vp.startNs + (x / widthPx) * (vp.endNs - vp.startNs);
}

/** First index i in [0, n) with a[i] >= v (n when none). `a` sorted ascending. */
export function lowerBound(a: Float64Array, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i in [lo, hi) with a[i] >= v (hi when none). */
export function lowerBound2(a: Float64Array, lo: number, hi: number, v: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the value nearest to v, or -1 when n = 0. */
export function nearestIndex(a: Float64Array, n: number, v: number): number {
  if (n === 0) return -1;
  const i = lowerBound(a, n, v);
  if (i === 0) return 0;
  if (i === n) return n - 1;
  return v - a[i - 1] <= a[i] - v ? i - 1 : i;
}

const NS_UNITS: [number, string][] = [
  [1e9, 's'],
  [1e6, 'ms'],
  [1e3, 'µs'],
  [1, 'ns'],
];

/** "12.5 ms", "800 µs": a duration in the largest unit that keeps it >= 1. */
export function formatDurationNs(ns: Nanoseconds): string {
  const abs = Math.abs(ns);
  for (const [div, unit] of NS_UNITS) {
    if (abs >= div || div === 1) {
      const v = ns / div;
      const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
      return `${v.toFixed(digits)} ${unit}`;
    }
  }
  return `${ns} ns`;
}

/**
 * An axis label: the offset in the unit of the tick step, with just enough decimals to tell
 * neighbouring ticks apart ("+1.002 s" for 2 ms ticks past one second, "+350 µs").
 */
export function formatTickNs(offsetNs: Nanoseconds, stepNs: Nanoseconds): string {
  const sign = offsetNs < 0 ? '-' : '+';
  const abs = Math.abs(offsetNs);
  let div = 1;
  let unit = 'ns';
  // Half a step of slack: a tick at 999 999 999.7 ns after the origin is the 1 s tick.
  if (abs >= 1e9 - stepNs / 2 || stepNs >= 1e9) [div, unit] = [1e9, 's'];
  else if (stepNs >= 1e6) [div, unit] = [1e6, 'ms'];
  else if (stepNs >= 1e3) [div, unit] = [1e3, 'µs'];
  const decimals = Math.min(9, Math.max(0, Math.ceil(-Math.log10(stepNs / div) - 1e-9)));
  return `${sign}${(abs / div).toFixed(decimals)} ${unit}`;
}

/** Trace timestamp as trace-cmd prints it: seconds with 6 decimals. */
export function formatTraceTs(tsNs: Nanoseconds): string {
  const us = Math.floor(tsNs / 1000);
  return `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`;
}

/** A 1-2-5 tick step giving at least `minGapPx` between ticks. */
export function tickStepNs(vp: Viewport, widthPx: number, minGapPx = 80): Nanoseconds {
  const span = Math.max(1, vp.endNs - vp.startNs);
  const raw = (span / Math.max(1, widthPx)) * minGapPx;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (pow * m >= raw) return pow * m;
  return pow * 10;
}

/** Tick positions (ns) inside the viewport, multiples of the step. */
export function ticks(vp: Viewport, scale: CanvasScale, minGapPx = 80): Nanoseconds[] {
  const step = tickStepNs(vp, scale.widthPx, minGapPx);
  const out: number[] = [];
  for (let t = Math.ceil(vp.startNs / step) * step; t <= vp.endNs && out.length < 1000; t += step) {
    out.push(t);
  }
  return out;
}
