/**
 * The shared time axis above the per-CPU timelines: 1-2-5 ticks with labels relative to
 * `originNs` (the first timestamp of the session), so numbers stay short.
 */
import type {CanvasScale, Viewport} from '../model/types.ts';
import {THEME} from './colors.ts';
import {formatTickNs, tickStepNs, ticks} from './time-scale.ts';

export function drawTimeAxis(
  ctx: CanvasRenderingContext2D,
  vp: Viewport,
  scale: CanvasScale,
  originNs: number,
): number[] {
  const w = scale.widthPx;
  const h = scale.heightPx;
  ctx.setTransform(scale.dpr, 0, 0, scale.dpr, 0, 0);
  ctx.fillStyle = THEME.bg;
  ctx.fillRect(0, 0, w, h);
  const span = vp.endNs - vp.startNs;
  if (!(span > 0)) return [];
  const ts = ticks(vp, scale);
  const step = tickStepNs(vp, w);
  ctx.font = '10px ui-monospace, SFMono-Regular, Menlo, monospace';
  ctx.textBaseline = 'top';
  const xs: number[] = [];
  for (const t of ts) {
    const x = Math.round(((t - vp.startNs) / span) * w);
    xs.push(x);
    ctx.fillStyle = THEME.grid;
    ctx.fillRect(x, h - 6, 1, 6);
    ctx.fillStyle = THEME.muted;
    ctx.fillText(formatTickNs(t - originNs, step), x + 3, 3);
  }
  return xs;
}
