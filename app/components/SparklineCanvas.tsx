/** A small canvas sparkline (events/s, swaps/s); repaints through the rAF scheduler. */
import {useCallback, useEffect, useRef} from 'react';
import {drawSparkline} from '../render/sparkline-draw.ts';
import {scheduler} from '../render/raf-scheduler.ts';
import {useSizedCanvas, ZERO_SCALE} from './use-sized-canvas.ts';

export function SparklineCanvas({
  values,
  color,
  label,
}: {
  values: number[];
  color?: string;
  label: string;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const valuesRef = useRef(values);
  const scaleRef = useRef(ZERO_SCALE);
  const draw = useCallback(() => {
    const ctx = ref.current?.getContext('2d');
    if (ctx && scaleRef.current.widthPx > 0)
      drawSparkline(ctx, valuesRef.current, scaleRef.current, color);
  }, [color]);
  useSizedCanvas(ref, scaleRef, draw);
  useEffect(() => {
    valuesRef.current = values;
    scheduler.request(draw);
  }, [values, draw]);
  useEffect(() => () => scheduler.cancel(draw), [draw]);
  return <canvas ref={ref} className="sparkline" aria-label={label} />;
}
