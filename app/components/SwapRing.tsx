/**
 * The sub-buffer ring of one CPU (drawRing). Animates only while a recent swap is fading, so an
 * idle dashboard paints nothing.
 */
import {useCallback, useEffect, useRef} from 'react';
import type {RingState} from '../model/types.ts';
import {drawRing, hitTestRing, SWAP_FADE_MS} from '../render/ring-draw.ts';
import {scheduler} from '../render/raf-scheduler.ts';
import {useSizedCanvas, ZERO_SCALE} from './use-sized-canvas.ts';

export function SwapRing({cpu, ring}: {cpu: number; ring: RingState}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const ringRef = useRef(ring);
  const scaleRef = useRef(ZERO_SCALE);
  const draw = useCallback((now: number) => {
    const ctx = ref.current?.getContext('2d');
    if (ctx && scaleRef.current.widthPx > 0) drawRing(ctx, ringRef.current, scaleRef.current, now);
  }, []);
  useSizedCanvas(ref, scaleRef, draw);
  useEffect(() => {
    ringRef.current = ring;
    scheduler.request(draw);
    const newest = ring.recentSwaps.length
      ? ring.recentSwaps[ring.recentSwaps.length - 1].atMs
      : -Infinity;
    const left = newest + SWAP_FADE_MS - performance.now();
    if (left <= 0) return;
    const stop = scheduler.animate(draw);
    const t = setTimeout(stop, left + 50);
    return () => {
      clearTimeout(t);
      stop();
    };
  }, [ring, draw]);
  useEffect(() => () => scheduler.cancel(draw), [draw]);
  const onMove = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    const id = hitTestRing(
      ringRef.current,
      scaleRef.current,
      e.clientX - r.left,
      e.clientY - r.top,
    );
    e.currentTarget.title =
      id < 0
        ? `CPU ${cpu}: ${ringRef.current.nrSubbufs} sub-buffers`
        : `sub-buffer ${id}${id === ringRef.current.readerId ? ' (reader)' : ''}${
            ringRef.current.lostIds.includes(id) ? ' · skipped (lost, derived)' : ''
          }`;
  };
  return (
    <canvas
      ref={ref}
      className="swap-ring"
      data-testid={`swap-ring-${cpu}`}
      onPointerMove={onMove}
      aria-label={`sub-buffer ring of CPU ${cpu}`}
    />
  );
}
