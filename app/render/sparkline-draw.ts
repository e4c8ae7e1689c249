/**
 * A sparkline over a ring of samples (events/s, swaps/s). When there are more samples than
 * pixel columns it draws the min/max of each column as one vertical stroke (uPlot `linear.js`),
 * so cost follows width, not history length.
 */
import type {CanvasScale} from '../model/types.ts';
import {THEME} from './colors.ts';

export function drawSparkline(
  ctx: CanvasRenderingContext2D,
  values: ArrayLike<number>,
  scale: CanvasScale,
  color: string = THEME.accent,
): {max: number} {
  const w = scale.widthPx;
  const h = scale.heightPx;
  ctx.setTransform(scale.dpr, 0, 0, scale.dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const n = values.length;
  let max = 0;
  for (let i = 0; i < n; i++) if (values[i] > max) max = values[i];
  if (n < 2) return {max};
  const top = max > 0 ? max : 1;
  const yOf = (v: number) => h - 1 - (v / top) * (h - 3);
  ctx.strokeStyle = color;
  ctx.lineWidth = 1;
  ctx.beginPath();
  if (n > w) {
    // Min/max per pixel column.
    let col = -1;
    let lo = 0;
    let hi = 0;
    const flush = () => {
      if (col < 0) return;
      ctx.moveTo(col + 0.5, yOf(lo));
      ctx.lineTo(col + 0.5, yOf(hi) - 0.5);
    };
    for (let i = 0; i < n; i++) {
      const c = Math.floor((i * w) / n); // equal-sized buckets
      const v = values[i];
      if (c !== col) {
        flush();
        col = c;
        lo = hi = v;
      } else {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    flush();
  } else {
    for (let i = 0; i < n; i++) {
      const x = (i / (n - 1)) * (w - 1);
      if (i === 0) ctx.moveTo(x, yOf(values[i]));
      else ctx.lineTo(x, yOf(values[i]));
    }
  }
  ctx.stroke();
  return {max};
}
