/**
 * One CPU's timeline canvas. React renders it once; after that, viewport, selection and data
 * changes reach it through `appStore.subscribe` and the timeline cache, which request a frame
 * from the shared scheduler (zustand transient updates). Panning never re-renders React.
 */
import {useCallback, useEffect, useRef} from 'react';
import {emptyTrack, type TimelineHit, type TimelineTrack} from '../model/types.ts';
import {appStore} from '../store.ts';
import {useData} from '../data/context.ts';
import {drawTimeline, hitTestTimeline} from '../render/timeline-draw.ts';
import {notePaint, paintProbe} from '../render/paint-probe.ts';
import {scheduler} from '../render/raf-scheduler.ts';
import {formatDurationNs} from '../render/time-scale.ts';
import {applyWheel} from './timeline-input.ts';
import {useSizedCanvas, ZERO_SCALE} from './use-sized-canvas.ts';

export interface TooltipSink {
  show(text: string, clientX: number, clientY: number): void;
  hide(): void;
}

/** Pointer travel (px) below which a press-release is a click, not a drag. */
const CLICK_SLOP_PX = 3;

function describeHit(hit: TimelineHit, track: TimelineTrack, originNs: number): string {
  const at = (ts: number) => `+${formatDurationNs(ts - originNs)}`;
  switch (hit.kind) {
    case 'event':
      return `${track.typeNames[track.events.type[hit.index]] ?? 'event'}  ${at(hit.tsNs)}  · click for details`;
    case 'slice': {
      const comm = track.comms.get(hit.pid) ?? '?';
      return `${comm}:${hit.pid}  ran ${formatDurationNs(hit.endNs - hit.startNs)} from ${at(hit.startNs)}`;
    }
    case 'lost':
      return hit.count < 0
        ? `kernel lost events here (count unknown)  ${at(hit.tsNs)}`
        : `kernel lost ${hit.count} events here  ${at(hit.tsNs)}`;
    case 'swap':
      return `reader swap → sub-buffer ${hit.subbufId}${hit.skipped ? ` · ${hit.skipped} skipped (derived)` : ''}  ${at(hit.tsNs)}`;
  }
}

export function TimelineCanvas({
  cpu,
  tooltip,
  originNs,
}: {
  cpu: number;
  tooltip: TooltipSink;
  originNs: {current: number};
}) {
  const {cache} = useData();
  const ref = useRef<HTMLCanvasElement>(null);
  const hoverX = useRef<number | undefined>(undefined);
  const scaleRef = useRef(ZERO_SCALE);
  /** What the canvas shows now: a followed slide can keep it until its columns arrive. */
  const shown = useRef<{
    track: TimelineTrack | undefined;
    scale: unknown;
    selection: unknown;
    hoverX: number | undefined;
  }>({track: undefined, scale: undefined, selection: undefined, hoverX: undefined});
  const draw = useCallback(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    const scale = scaleRef.current;
    if (!ctx || scale.widthPx <= 0) return;
    const st = appStore.getState();
    cache.ensure(cpu, st.viewport, scale.widthPx, st.dataVersion, st.followLive);
    const was = shown.current;
    if (
      st.followLive &&
      cache.pending(cpu) &&
      was.track !== undefined &&
      was.track === cache.get(cpu) &&
      was.scale === scale &&
      was.selection === st.selection &&
      was.hoverX === hoverX.current
    ) {
      // Following: only the view slid, and this CPU's columns for it are on their way (their
      // arrival asks for a draw). Painting the old columns at the new position first would
      // double the canvas work per slide, which in headless Chromium is software raster on
      // the main thread (the page's largest cost under load): keep the last frame instead.
      return;
    }
    const sel = st.selection;
    const selectedTsNs =
      sel?.kind === 'event'
        ? sel.tsNs
        : sel?.kind === 'slice' && sel.cpu === cpu
          ? sel.startNs
          : undefined;
    const cached = cache.get(cpu);
    const track = cached ?? emptyTrack(cpu);
    drawTimeline(ctx, track, st.viewport, scale, {selectedTsNs, hoverX: hoverX.current});
    shown.current = {track: cached, scale, selection: sel, hoverX: hoverX.current};
    if (paintProbe) notePaint(paintProbe, cpu, track, st.viewport); // bench only (paint-probe.ts)
  }, [cpu, cache]);
  useSizedCanvas(ref, scaleRef, draw);

  useEffect(() => {
    const unStore = appStore.subscribe((s, p) => {
      if (
        s.viewport !== p.viewport ||
        s.selection !== p.selection ||
        s.dataVersion !== p.dataVersion
      ) {
        // Following live data: ask for the new columns now, not in the next frame's draw, so
        // they are usually here when that frame paints.
        if (s.followLive && s.viewport !== p.viewport) {
          cache.ensure(cpu, s.viewport, scaleRef.current.widthPx, s.dataVersion, true);
        }
        scheduler.request(draw);
      }
    });
    const unCache = cache.subscribe(() => scheduler.request(draw));
    scheduler.request(draw);
    return () => {
      unStore();
      unCache();
      scheduler.cancel(draw);
    };
  }, [draw, cache, cpu]);

  // Wheel must be non-passive to stop the page from scrolling.
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const r = canvas.getBoundingClientRect();
      applyWheel(appStore.getState(), e, (e.clientX - r.left) / Math.max(1, r.width));
    };
    canvas.addEventListener('wheel', onWheel, {passive: false});
    return () => canvas.removeEventListener('wheel', onWheel);
  }, []);

  const drag = useRef<{x0: number; lastX: number; moved: boolean} | null>(null);

  const local = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    return {x: e.clientX - r.left, y: e.clientY - r.top};
  };

  const onPointerDown = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (e.button !== 0) return;
    e.currentTarget.setPointerCapture?.(e.pointerId);
    drag.current = {x0: e.clientX, lastX: e.clientX, moved: false};
  };

  const onPointerMove = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const {x, y} = local(e);
    const d = drag.current;
    if (d) {
      if (Math.abs(e.clientX - d.x0) > CLICK_SLOP_PX) d.moved = true;
      if (d.moved) {
        const st = appStore.getState();
        const nsPerPx =
          (st.viewport.endNs - st.viewport.startNs) / Math.max(1, scaleRef.current.widthPx);
        st.panByNs(-(e.clientX - d.lastX) * nsPerPx);
        d.lastX = e.clientX;
        tooltip.hide();
        return;
      }
    }
    hoverX.current = x;
    scheduler.request(draw);
    const track = cache.get(cpu);
    const hit = track
      ? hitTestTimeline(track, appStore.getState().viewport, scaleRef.current, x, y)
      : null;
    e.currentTarget.style.cursor = hit ? 'pointer' : 'grab';
    if (hit && track) tooltip.show(describeHit(hit, track, originNs.current), e.clientX, e.clientY);
    else tooltip.hide();
  };

  const onPointerUp = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const d = drag.current;
    drag.current = null;
    if (!d || d.moved) return;
    const {x, y} = local(e);
    const track = cache.get(cpu);
    const st = appStore.getState();
    const hit = track ? hitTestTimeline(track, st.viewport, scaleRef.current, x, y) : null;
    if (!hit) {
      st.clearSelection();
    } else if (hit.kind === 'event') {
      st.select({kind: 'event', id: hit.id, cpu, tsNs: hit.tsNs});
    } else if (hit.kind === 'slice') {
      st.select({kind: 'slice', cpu, pid: hit.pid, startNs: hit.startNs, endNs: hit.endNs});
    }
  };

  const onPointerLeave = () => {
    hoverX.current = undefined;
    tooltip.hide();
    scheduler.request(draw);
  };

  return (
    <canvas
      ref={ref}
      className="timeline-canvas"
      data-testid={`timeline-cpu-${cpu}`}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerLeave={onPointerLeave}
      aria-label={`timeline of CPU ${cpu}`}
    />
  );
}
