/**
 * Paint probe for `npm run bench painted` (latency from an event's write to the frame that draws
 * it). Off unless the page defines `window.__ringsidePaintProbe = []` before the app's scripts run
 * (the bench does, with Playwright's addInitScript). Then every timeline draw appends six numbers:
 * wall time of the draw (performance.timeOrigin + performance.now(), ms), CPU, the newest event
 * timestamp the frame drew (trace clock, ns), the viewport's start and end (ns) and the number
 * of event marks in the track it drew from.
 *
 * A second log, `window.__ringsideEdgeProbe = []`, gets three numbers per 'edge' push the main
 * thread handles (wall ms, the pushed range's newest timestamp, wall ms when the worker sent it
 * or NaN): where an event's latency goes, in the worker, waiting for the main thread, or after
 * (query and draw).
 *
 * Why a global read once at load and not a URL flag or a store field: when nobody measures, the
 * draw pays one `undefined` check and nothing else (no allocation, no array growth, no store
 * subscription), so the probe cannot change what it measures or slow a normal session.
 */
import type {TimelineTrack, Viewport} from '../model/types.ts';

export type PaintLog = number[];

const probes = globalThis as {__ringsidePaintProbe?: unknown; __ringsideEdgeProbe?: unknown};

/** The log to append to, or undefined (the normal case: no probe). */
export const paintProbe: PaintLog | undefined = Array.isArray(probes.__ringsidePaintProbe)
  ? (probes.__ringsidePaintProbe as PaintLog)
  : undefined;

/** The 'edge' push log, or undefined (no probe). */
export const edgeProbe: PaintLog | undefined = Array.isArray(probes.__ringsideEdgeProbe)
  ? (probes.__ringsideEdgeProbe as PaintLog)
  : undefined;

export function noteEdge(log: PaintLog, range: Viewport, sentMs = NaN): void {
  log.push(performance.timeOrigin + performance.now(), range.endNs, sentMs);
}

/**
 * Newest timestamp this draw put on screen for `track`: the track holds, per CPU and in order,
 * every event the worker had up to its last mark, so everything up to min(last mark, viewport
 * end) is drawn. A last mark that merges several events (level of detail) stands at its first
 * event, which makes the figure conservative by less than one pixel column.
 */
export function newestDrawnNs(track: TimelineTrack, vp: Viewport): number {
  const ev = track.events;
  if (ev.length === 0) return -Infinity;
  return Math.min(ev.tsNs[ev.length - 1], vp.endNs);
}

export function notePaint(log: PaintLog, cpu: number, track: TimelineTrack, vp: Viewport): void {
  const wallMs = performance.timeOrigin + performance.now();
  log.push(wallMs, cpu, newestDrawnNs(track, vp), vp.startNs, vp.endNs, track.events.length);
}
