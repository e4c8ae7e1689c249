/**
 * Keeps a canvas's backing store at CSS size × devicePixelRatio, writes the scale into
 * `scaleRef` and asks the scheduler to repaint with `draw` on every change. The component owns
 * only the <canvas>, its size and its events (Firefox `ChartCanvas` split); drawing happens in
 * plain functions called from the rAF scheduler.
 */
import {useLayoutEffect, useRef, type RefObject} from 'react';
import type {CanvasScale} from '../model/types.ts';
import {scheduler, type DrawFn} from '../render/raf-scheduler.ts';

export const ZERO_SCALE: CanvasScale = {widthPx: 0, heightPx: 0, dpr: 1};

export function useSizedCanvas(
  canvasRef: RefObject<HTMLCanvasElement | null>,
  scaleRef: RefObject<CanvasScale>,
  draw: DrawFn,
): void {
  const drawRef = useRef(draw);
  useLayoutEffect(() => {
    drawRef.current = draw;
  });
  useLayoutEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const apply = () => {
      const rect = canvas.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      const widthPx = Math.max(0, Math.round(rect.width));
      const heightPx = Math.max(0, Math.round(rect.height));
      const s = scaleRef.current;
      if (widthPx === s.widthPx && heightPx === s.heightPx && dpr === s.dpr) return;
      scaleRef.current = {widthPx, heightPx, dpr};
      canvas.width = Math.round(widthPx * dpr);
      canvas.height = Math.round(heightPx * dpr);
      scheduler.request(drawRef.current);
    };
    apply();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(apply);
    ro.observe(canvas);
    return () => ro.disconnect();
  }, [canvasRef, scaleRef]);
}
