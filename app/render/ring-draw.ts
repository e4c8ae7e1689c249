/**
 * The sub-buffer ring of one CPU as cells on a circle (kernel-abi.md §2.6: the reader page
 * swaps with the head page; skipped sub-buffers are loss). The current reader cell is
 * highlighted and filled to `reader.read / subbuf_size`; cells that recently became the reader
 * glow and fade over SWAP_FADE_MS; cells the ring model says were skipped are marked red.
 *
 *            ┌─┐
 *        ┌─┐     ┌─┐        one cell per sub-buffer, id 0 at 12 o'clock, clockwise
 *      ┌─┐  ring   ┌─┐      reader: accent outline + fill level
 *        └─┘     └─┘        recent swap: glow; lost: red cross
 *            └─┘
 *
 * Cells of one colour are filled as one path (one `fill` per colour, not per cell): while data
 * streams the ring animates every frame, and per-cell fills of a few hundred sub-buffers were
 * the largest draw cost on the page (profile of `npm run bench painted` heavy, 2026-11-22).
 * Without gaps (many sub-buffers), neighbouring cells of one colour are one sector, and the fade
 * has FADE_LEVELS steps: under load the reader swaps through the ring in order, so the glowing
 * cells form a few runs instead of a few hundred cells. Software Canvas 2D rasterises the path
 * when the canvas is handed to the compositor; with a sector per cell the two rings cost the
 * main thread ~0.6 ms a frame (docs/benchmarks.md, session 13).
 */
import type {CanvasScale, RingState} from '../model/types.ts';
import {THEME} from './colors.ts';

export const SWAP_FADE_MS = 1500;
/** Idle cell colour: visible on the panel background without competing with the reader. */
export const CELL = '#323844';
/** Above this many sub-buffers the cells are drawn as thin arc segments without gaps. */
const MAX_GAPPED_CELLS = 64;
/** Steps of the swap glow's fade (8 over SWAP_FADE_MS: ~190 ms each). */
export const FADE_LEVELS = 8;

export interface RingGeometry {
  cx: number;
  cy: number;
  rOuter: number;
  rInner: number;
}

export function ringGeometry(scale: CanvasScale): RingGeometry {
  const r = Math.max(4, Math.min(scale.widthPx, scale.heightPx) / 2 - 3);
  return {cx: scale.widthPx / 2, cy: scale.heightPx / 2, rOuter: r, rInner: r * 0.62};
}

function cellAngles(id: number, n: number): [number, number] {
  const step = (Math.PI * 2) / n;
  const gap = n <= MAX_GAPPED_CELLS ? Math.min(0.06, step * 0.15) : 0;
  const a0 = -Math.PI / 2 + id * step + gap / 2;
  return [a0, a0 + step - gap];
}

/**
 * Adds one cell as a sub-path (the caller begins the path and fills it). No closePath: fill
 * closes every sub-path itself, and in Chromium each closePath on a path of many sub-paths
 * costs more as the path grows (it took half the page's main thread in a heavy-load profile).
 */
function addCell(
  ctx: CanvasRenderingContext2D,
  g: RingGeometry,
  a0: number,
  a1: number,
  rOut: number,
): void {
  ctx.moveTo(g.cx + rOut * Math.cos(a0), g.cy + rOut * Math.sin(a0));
  ctx.arc(g.cx, g.cy, rOut, a0, a1);
  ctx.arc(g.cx, g.cy, g.rInner, a1, a0, true);
}

function cellPath(
  ctx: CanvasRenderingContext2D,
  g: RingGeometry,
  a0: number,
  a1: number,
  rOut: number,
): void {
  ctx.beginPath();
  addCell(ctx, g, a0, a1, rOut);
  ctx.closePath(); // for the outline's stroke
}

/** A cell's colour: idle, lost, or the swap glow of its age, in FADE_LEVELS steps. */
function cellFill(
  id: number,
  readerId: number,
  lost: Set<number>,
  age: number | undefined,
): string {
  if (lost.has(id)) return THEME.loss;
  if (age === undefined || age < 0 || age >= SWAP_FADE_MS || id === readerId) return CELL;
  const level = Math.ceil((1 - age / SWAP_FADE_MS) * FADE_LEVELS);
  return `rgba(180,142,173,${(0.25 + (level / FADE_LEVELS) * 0.8).toFixed(2)})`;
}

export function drawRing(
  ctx: CanvasRenderingContext2D,
  ring: RingState,
  scale: CanvasScale,
  nowMs: number,
): void {
  ctx.setTransform(scale.dpr, 0, 0, scale.dpr, 0, 0);
  ctx.clearRect(0, 0, scale.widthPx, scale.heightPx);
  const n = ring.nrSubbufs;
  if (n <= 0) return;
  const g = ringGeometry(scale);
  const lost = new Set(ring.lostIds);
  // Newest swap per id wins; ages in ms.
  const swapAge = new Map<number, number>();
  for (const s of ring.recentSwaps) swapAge.set(s.subbufId, nowMs - s.atMs);

  // Runs of neighbouring cells by colour, idle cells first; Map keeps first-seen order. With
  // gaps every cell is its own run.
  const merge = n > MAX_GAPPED_CELLS;
  const byFill = new Map<string, [number, number][]>([[CELL, []]]);
  let runFill = '';
  let run: [number, number] | undefined;
  for (let id = 0; id < n; id++) {
    const fill = cellFill(id, ring.readerId, lost, swapAge.get(id));
    if (merge && run && fill === runFill) {
      run[1] = id;
      continue;
    }
    run = [id, id];
    runFill = fill;
    const runs = byFill.get(fill);
    if (runs) runs.push(run);
    else byFill.set(fill, [run]);
  }
  for (const [fill, runs] of byFill) {
    if (runs.length === 0) continue;
    ctx.fillStyle = fill;
    ctx.beginPath();
    for (const [first, last] of runs) {
      addCell(ctx, g, cellAngles(first, n)[0], cellAngles(last, n)[1], g.rOuter);
    }
    ctx.fill();
  }
  if (ring.readerId >= 0 && ring.readerId < n) {
    const [a0, a1] = cellAngles(ring.readerId, n);
    ctx.fillStyle = 'rgba(88,166,214,0.25)';
    cellPath(ctx, g, a0, a1, g.rOuter);
    ctx.fill();
    const f = Math.max(0, Math.min(1, ring.readerFill));
    if (f > 0) {
      ctx.fillStyle = THEME.accent;
      cellPath(ctx, g, a0, a1, g.rInner + (g.rOuter - g.rInner) * f);
      ctx.fill();
    }
    ctx.strokeStyle = THEME.accent;
    ctx.lineWidth = 1.5;
    cellPath(ctx, g, a0, a1, g.rOuter);
    ctx.stroke();
  }
}

/** Sub-buffer id under (x, y), or -1 (the hole in the middle and the corners hit nothing). */
export function hitTestRing(ring: RingState, scale: CanvasScale, x: number, y: number): number {
  const n = ring.nrSubbufs;
  if (n <= 0) return -1;
  const g = ringGeometry(scale);
  const dx = x - g.cx;
  const dy = y - g.cy;
  const r = Math.hypot(dx, dy);
  if (r < g.rInner || r > g.rOuter) return -1;
  let a = Math.atan2(dy, dx) + Math.PI / 2; // 0 at 12 o'clock, clockwise
  if (a < 0) a += Math.PI * 2;
  return Math.min(n - 1, Math.floor(a / ((Math.PI * 2) / n)));
}
