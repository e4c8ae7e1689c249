/**
 * One CPU's timeline: a plain draw function over columns plus its hit test (Firefox
 * `ChartCanvas` split), so both run in tests against a recorded draw log.
 *
 *   y 0 ┌────────────────────────────────────────────┐
 *       │ ▏swap ticks (purple; red when sub-buffers were skipped)
 *   y 7 ├────────────────────────────────────────────┤
 *       │ ███ task slices, coloured by pid ██ comm ██│
 *  y 35 ├────────────────────────────────────────────┤
 *       │ │ ││ event marks coloured by type │  │││   │
 *   y h └────────────────────────────────────────────┘
 *         ▼ lost-event markers run the full height (red)
 *
 * Cost is bounded by pixels, not events: each column starts with a binary search to the first
 * visible item and breaks after the last (uPlot `closestIdx`, Firefox stack chart). Sub-pixel
 * slices collapse to one rect per pixel column; when more than 4 × widthPx events are visible
 * (or the worker's level of detail already merged columns, `events.count`) the marks switch to
 * one density bar per column (uPlot's `n > 4 × width` rule).
 */
import type {CanvasScale, TimelineHit, TimelineTrack, Viewport} from '../model/types.ts';
import {BarRuns} from './bar-runs.ts';
import {THEME, eventTypeColor, eventTypeColors, taskColor} from './colors.ts';
import {lowerBound, lowerBound2, nearestIndex} from './time-scale.ts';

export interface TimelineLanes {
  swapY: number;
  swapH: number;
  sliceY: number;
  sliceH: number;
  eventY: number;
  eventH: number;
}

export function timelineLanes(heightPx: number): TimelineLanes {
  const swapH = 5;
  const sliceY = swapH + 2;
  const rest = Math.max(10, heightPx - sliceY - 2);
  const sliceH = Math.round(rest * 0.58);
  const eventY = sliceY + sliceH + 2;
  return {swapY: 0, swapH, sliceY, sliceH, eventY, eventH: Math.max(4, heightPx - eventY - 1)};
}

export interface TimelineDrawOptions {
  /** Timestamp of the selected event or slice start, drawn as a white cursor. */
  selectedTsNs?: number;
  /** Pointer x (CSS px) for the hover crosshair. */
  hoverX?: number;
}

/** Density rule: more visible events than this factor × widthPx → one bar per pixel column. */
export const DENSE_EVENTS_PER_PX = 4;
/** Slices narrower than this get a comm label never; wider ones do. */
const LABEL_MIN_PX = 48;
const CHAR_PX = 6.2;

export function drawTimeline(
  ctx: CanvasRenderingContext2D,
  track: TimelineTrack,
  vp: Viewport,
  scale: CanvasScale,
  opts: TimelineDrawOptions = {},
): void {
  const w = scale.widthPx;
  const lanes = timelineLanes(scale.heightPx);
  ctx.setTransform(scale.dpr, 0, 0, scale.dpr, 0, 0);
  ctx.fillStyle = THEME.bg;
  ctx.fillRect(0, 0, w, scale.heightPx);
  ctx.fillStyle = THEME.lane;
  ctx.fillRect(0, lanes.sliceY, w, lanes.sliceH);
  const span = vp.endNs - vp.startNs;
  if (!(span > 0) || w <= 0) return;
  const k = w / span;
  drawSlices(ctx, track, vp, w, k, lanes);
  drawEvents(ctx, track, vp, w, k, lanes);
  drawSwaps(ctx, track, vp, k, lanes);
  drawLost(ctx, track, vp, k, scale.heightPx);
  if (opts.selectedTsNs !== undefined) {
    const x = (opts.selectedTsNs - vp.startNs) * k;
    if (x >= -1 && x <= w + 1) {
      ctx.fillStyle = THEME.selection;
      ctx.fillRect(Math.round(x) - 1, 0, 2, scale.heightPx);
    }
  }
  if (opts.hoverX !== undefined) {
    ctx.fillStyle = 'rgba(255,255,255,0.35)';
    ctx.fillRect(Math.round(opts.hoverX), 0, 1, scale.heightPx);
  }
}

function drawSlices(
  ctx: CanvasRenderingContext2D,
  track: TimelineTrack,
  vp: Viewport,
  w: number,
  k: number,
  lanes: TimelineLanes,
): void {
  const s = track.slices;
  const y = lanes.sliceY;
  const h = lanes.sliceH;
  let lastCol = -1; // last pixel column already painted by a slice
  let style = '';
  ctx.font = '11px ui-monospace, SFMono-Regular, Menlo, monospace';
  ctx.textBaseline = 'middle';
  for (let i = lowerBound(s.endNs, s.length, vp.startNs); i < s.length; i++) {
    const st = s.startNs[i];
    if (st > vp.endNs) break;
    const pid = s.pid[i];
    if (pid === 0) continue; // idle is the lane background
    let x0 = (st - vp.startNs) * k;
    let x1 = (s.endNs[i] - vp.startNs) * k;
    if (x0 < 0) x0 = 0;
    if (x1 > w) x1 = w;
    const c = taskColor(pid);
    if (x1 - x0 < 1) {
      const col = Math.floor(x0);
      if (col <= lastCol) continue;
      if (c !== style) ctx.fillStyle = style = c;
      ctx.fillRect(col, y, 1, h);
      lastCol = col;
      // Skip the rest of this column's slices by binary search: O(width × log n) when dense.
      const next = lowerBound2(s.endNs, i + 1, s.length, vp.startNs + (col + 1) / k);
      if (next - 1 > i) i = next - 1;
      continue;
    }
    if (c !== style) ctx.fillStyle = style = c;
    ctx.fillRect(x0, y, x1 - x0, h);
    lastCol = Math.ceil(x1) - 1;
    if (x1 - x0 >= LABEL_MIN_PX) {
      const comm = track.comms.get(pid) ?? String(pid);
      const label = `${comm}:${pid}`;
      const max = Math.floor((x1 - x0 - 8) / CHAR_PX);
      if (max >= 3) {
        ctx.fillStyle = 'rgba(255,255,255,0.88)';
        ctx.fillText(label.length > max ? label.slice(0, max - 1) + '…' : label, x0 + 4, y + h / 2);
        style = '';
      }
    }
  }
}

function drawEvents(
  ctx: CanvasRenderingContext2D,
  track: TimelineTrack,
  vp: Viewport,
  w: number,
  k: number,
  lanes: TimelineLanes,
): void {
  const e = track.events;
  const first = lowerBound(e.tsNs, e.length, vp.startNs);
  const end = lowerBound(e.tsNs, e.length, vp.endNs + 1);
  const y = lanes.eventY;
  const h = lanes.eventH;
  let style = '';
  const counts = e.count;
  const colors = eventTypeColors(track.typeNames);
  const colorOf = (type: number) => colors[type] ?? eventTypeColor('', type);
  let merged = false;
  if (counts && end - first <= DENSE_EVENTS_PER_PX * w) {
    for (let i = first; i < end && !merged; i++) merged = counts[i] > 1;
  }
  if (merged || end - first > DENSE_EVENTS_PER_PX * w) {
    // One bar per column; height grows with log2(count) so bursts stand out without clipping.
    // Whole-pixel heights, so neighbouring columns of a steady load merge into one rect.
    const runs = new BarRuns(ctx);
    const bar = (col: number, count: number, type: number) => {
      const c = colorOf(type);
      const bh = Math.min(h, Math.round(2 + Math.log2(count + 1) * 2.5));
      runs.add(col, y + h - bh, bh, c);
    };
    if (counts) {
      // Already merged by the worker: few items, walk them and sum per column.
      let col = -1;
      let count = 0;
      let type = 0;
      for (let i = first; i < end; i++) {
        const c = Math.floor((e.tsNs[i] - vp.startNs) * k);
        if (c !== col) {
          if (count > 0) bar(col, count, type);
          col = c;
          count = 0;
          type = e.type[i];
        }
        count += counts[i];
      }
      if (count > 0) bar(col, count, type);
      runs.flush();
      return;
    }
    // Raw columns: one binary search per pixel column, so cost is O(width × log n), not O(n).
    let i = first;
    const cols = Math.ceil(w);
    for (
      let col = Math.max(0, Math.floor((e.tsNs[first] - vp.startNs) * k));
      col < cols && i < end;
      col++
    ) {
      const j = lowerBound2(e.tsNs, i, end, vp.startNs + (col + 1) / k);
      if (j > i) {
        bar(col, j - i, e.type[i]);
        i = j;
      }
    }
    runs.flush();
    return;
  }
  for (let i = first; i < end; i++) {
    const x = Math.floor((e.tsNs[i] - vp.startNs) * k);
    const t = e.type[i];
    const c = colorOf(t);
    if (c !== style) ctx.fillStyle = style = c;
    ctx.fillRect(x, y, 1, h);
  }
}

function drawSwaps(
  ctx: CanvasRenderingContext2D,
  track: TimelineTrack,
  vp: Viewport,
  k: number,
  lanes: TimelineLanes,
): void {
  const s = track.swaps;
  const runs = new BarRuns(ctx);
  let lastCol = -1;
  for (let i = lowerBound(s.tsNs, s.length, vp.startNs); i < s.length; i++) {
    const t = s.tsNs[i];
    if (t > vp.endNs) break;
    const col = Math.floor((t - vp.startNs) * k);
    if (col === lastCol && s.skipped[i] === 0) continue;
    if (col === lastCol) {
      // A skip in a column already drawn in the swap colour: draw it over that one, in red.
      runs.flush();
      runs.add(col, lanes.swapY, lanes.swapH, THEME.loss);
      continue;
    }
    lastCol = col;
    runs.add(col, lanes.swapY, lanes.swapH, s.skipped[i] > 0 ? THEME.loss : THEME.swap);
  }
  runs.flush();
}

function drawLost(
  ctx: CanvasRenderingContext2D,
  track: TimelineTrack,
  vp: Viewport,
  k: number,
  heightPx: number,
): void {
  const l = track.lost;
  let lastCol = -1;
  ctx.fillStyle = THEME.loss;
  for (let i = lowerBound(l.tsNs, l.length, vp.startNs); i < l.length; i++) {
    const t = l.tsNs[i];
    if (t > vp.endNs) break;
    const col = Math.floor((t - vp.startNs) * k);
    if (col === lastCol) continue;
    lastCol = col;
    ctx.fillRect(col, 0, 1, heightPx);
    ctx.beginPath();
    ctx.moveTo(col - 4, 0);
    ctx.lineTo(col + 5, 0);
    ctx.lineTo(col + 0.5, 6);
    ctx.closePath();
    ctx.fill();
  }
}

/** Pointer tolerance for thin marks (CSS px). */
const HIT_TOLERANCE_PX = 3;

/** What is under (x, y) in CSS pixels, using the same geometry as `drawTimeline`. */
export function hitTestTimeline(
  track: TimelineTrack,
  vp: Viewport,
  scale: CanvasScale,
  x: number,
  y: number,
): TimelineHit | null {
  const span = vp.endNs - vp.startNs;
  if (!(span > 0) || scale.widthPx <= 0) return null;
  const k = scale.widthPx / span;
  const t = vp.startNs + x / k;
  const lanes = timelineLanes(scale.heightPx);
  const near = (ts: number) => Math.abs((ts - vp.startNs) * k - x) <= HIT_TOLERANCE_PX;

  const l = track.lost;
  const li = nearestIndex(l.tsNs, l.length, t);
  if (li >= 0 && near(l.tsNs[li])) {
    return {kind: 'lost', index: li, tsNs: l.tsNs[li], count: l.count[li]};
  }
  if (y < lanes.sliceY) {
    const s = track.swaps;
    const si = nearestIndex(s.tsNs, s.length, t);
    if (si >= 0 && near(s.tsNs[si])) {
      return {
        kind: 'swap',
        index: si,
        tsNs: s.tsNs[si],
        subbufId: s.subbufId[si],
        skipped: s.skipped[si],
      };
    }
    return null;
  }
  if (y >= lanes.eventY) {
    const e = track.events;
    const ei = nearestIndex(e.tsNs, e.length, t);
    if (ei >= 0 && near(e.tsNs[ei])) {
      return {kind: 'event', index: ei, id: e.id[ei], tsNs: e.tsNs[ei]};
    }
    return null;
  }
  const s = track.slices;
  let i = lowerBound(s.endNs, s.length, t);
  // A sub-pixel slice is drawn one column wide: accept it within the tolerance too.
  if (i < s.length && s.startNs[i] > t && i > 0 && near(s.endNs[i - 1])) i--;
  if (i < s.length && (s.startNs[i] <= t || near(s.startNs[i])) && s.pid[i] !== 0) {
    return {kind: 'slice', index: i, pid: s.pid[i], startNs: s.startNs[i], endNs: s.endNs[i]};
  }
  return null;
}
