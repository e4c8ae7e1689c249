/**
 * The visible time range shared by every timeline, and live follow.
 *
 * In follow mode the viewport keeps its span and slides so its end sits at the newest data.
 * Any manual pan or zoom leaves follow mode (as a terminal stops scrolling when you scroll up);
 * the header's Follow button and the End key resume it.
 */
import type {StateCreator} from 'zustand';
import type {Viewport} from '../model/types.ts';
import type {AppState} from '../store.ts';

/** Never zoom closer than 1 µs across the whole width: below that, pixels are empty. */
export const MIN_SPAN_NS = 1_000;
export const DEFAULT_SPAN_NS = 2e9;

export interface ViewportSlice {
  /** What the timelines show. */
  viewport: Viewport;
  /** Slide with new data. */
  followLive: boolean;
  /**
   * The span follow mode shows: the last one the user chose (zoom, setViewport), else the
   * default. Kept apart from `viewport` because a short data range narrows the followed view
   * (maxSpan) and the view must widen again as data accumulates; without this, a first look
   * at 8 ms of data pinned the live view at 12 ms for good.
   */
  followSpanNs: number;
  /** Oldest and newest timestamp the worker's window holds; null before the first event. */
  dataRange: Viewport | null;
  setViewport: (vp: Viewport) => void;
  /** Move by a fraction of the span (positive = later). */
  panByFraction: (fraction: number) => void;
  panByNs: (deltaNs: number) => void;
  /** Zoom by `factor` (< 1 zooms in) keeping `anchorNs` at the same screen position. */
  zoomAt: (anchorNs: number, factor: number) => void;
  setFollowLive: (on: boolean) => void;
  setDataRange: (range: Viewport) => void;
  /** Centre `tsNs` on screen (keeps the span) and stop following. */
  jumpTo: (tsNs: number) => void;
}

function clampSpan(vp: Viewport, maxSpanNs: number): Viewport {
  const span = vp.endNs - vp.startNs;
  if (span >= MIN_SPAN_NS && span <= maxSpanNs) return vp;
  const want = Math.min(Math.max(span, MIN_SPAN_NS), maxSpanNs);
  const mid = (vp.startNs + vp.endNs) / 2;
  return {startNs: mid - want / 2, endNs: mid + want / 2};
}

function maxSpan(range: Viewport | null): number {
  // Allow seeing a little beyond the data, but never more than 1 h (a typo-safe bound).
  return range ? Math.max(MIN_SPAN_NS * 10, (range.endNs - range.startNs) * 1.5) : 3.6e12;
}

export const createViewportSlice: StateCreator<AppState, [], [], ViewportSlice> = (set, get) => ({
  viewport: {startNs: 0, endNs: DEFAULT_SPAN_NS},
  followLive: true,
  followSpanNs: DEFAULT_SPAN_NS,
  dataRange: null,
  setViewport: (vp) => {
    const viewport = clampSpan(vp, maxSpan(get().dataRange));
    set({viewport, followLive: false, followSpanNs: viewport.endNs - viewport.startNs});
  },
  panByFraction: (fraction) => {
    const {viewport} = get();
    get().panByNs((viewport.endNs - viewport.startNs) * fraction);
  },
  panByNs: (deltaNs) => {
    const {viewport} = get();
    set({
      viewport: {startNs: viewport.startNs + deltaNs, endNs: viewport.endNs + deltaNs},
      followLive: false,
    });
  },
  zoomAt: (anchorNs, factor) => {
    const {viewport, dataRange} = get();
    const startNs = anchorNs - (anchorNs - viewport.startNs) * factor;
    const endNs = anchorNs + (viewport.endNs - anchorNs) * factor;
    const next = clampSpan({startNs, endNs}, maxSpan(dataRange));
    // Clamping re-centres; keep the anchor where it was instead.
    if (next.endNs - next.startNs !== endNs - startNs) {
      const f = (anchorNs - viewport.startNs) / (viewport.endNs - viewport.startNs);
      const span = next.endNs - next.startNs;
      set({
        viewport: {startNs: anchorNs - f * span, endNs: anchorNs + (1 - f) * span},
        followLive: false,
        followSpanNs: span,
      });
      return;
    }
    set({viewport: next, followLive: false, followSpanNs: next.endNs - next.startNs});
  },
  setFollowLive: (on) => {
    set({followLive: on});
    const {dataRange} = get();
    if (on && dataRange) get().setDataRange(dataRange);
  },
  setDataRange: (range) => {
    const {followLive, followSpanNs} = get();
    if (!followLive) {
      set({dataRange: range});
      return;
    }
    const span = Math.min(followSpanNs, maxSpan(range));
    set({dataRange: range, viewport: {startNs: range.endNs - span, endNs: range.endNs}});
  },
  jumpTo: (tsNs) => {
    const {viewport} = get();
    const half = (viewport.endNs - viewport.startNs) / 2;
    set({viewport: {startNs: tsNs - half, endNs: tsNs + half}, followLive: false});
  },
});
