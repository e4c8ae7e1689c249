/**
 * The time axis and one timeline per CPU, plus the shared hover tooltip and W/A/S/D keys.
 * The span readout and the container's data-start-ns/data-end-ns attributes are written from
 * the axis draw, not by React, so they stay current while panning (and e2e tests can read them).
 */
import {useCallback, useEffect, useRef} from 'react';
import {useData} from '../data/context.ts';
import {appStore, useAppStore} from '../store.ts';
import {drawTimeAxis} from '../render/axis-draw.ts';
import {scheduler} from '../render/raf-scheduler.ts';
import {formatDurationNs} from '../render/time-scale.ts';
import {applyKey} from './timeline-input.ts';
import {TimelineCanvas, type TooltipSink} from './TimelineCanvas.tsx';
import {useSizedCanvas, ZERO_SCALE} from './use-sized-canvas.ts';

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return (
    !!el &&
    (el.tagName === 'INPUT' ||
      el.tagName === 'SELECT' ||
      el.tagName === 'TEXTAREA' ||
      el.isContentEditable)
  );
}

export function TimelinePanel() {
  const cpus = useAppStore((s) => s.source?.cpus ?? []);
  const {cache} = useData();
  const rootRef = useRef<HTMLDivElement>(null);
  const axisRef = useRef<HTMLCanvasElement>(null);
  const spanRef = useRef<HTMLSpanElement>(null);
  const tipRef = useRef<HTMLDivElement>(null);
  const originNs = useRef(NaN);
  const axisScale = useRef(ZERO_SCALE);

  const drawAxis = useCallback(() => {
    const st = appStore.getState();
    if (Number.isNaN(originNs.current) && st.dataRange) originNs.current = st.dataRange.startNs;
    const vp = st.viewport;
    const root = rootRef.current;
    if (root) {
      root.dataset.startNs = String(Math.round(vp.startNs));
      root.dataset.endNs = String(Math.round(vp.endNs));
      // How the columns came (e2e: a followed view is served by the worker's pushes).
      const pushed = String(cache.accepted);
      const asked = String(cache.fetches);
      if (root.dataset.pushedColumns !== pushed) root.dataset.pushedColumns = pushed;
      if (root.dataset.askedColumns !== asked) root.dataset.askedColumns = asked;
    }
    // Only when it changes: a text write, even of the same text, makes the page lay out and
    // paint again, in every frame of a followed view (a Chromium trace of `bench painted`:
    // 321 layouts in 5 s before, 68 after; main thread 3.0 → 2.3 s busy).
    const span = formatDurationNs(vp.endNs - vp.startNs);
    if (spanRef.current && spanRef.current.textContent !== span) spanRef.current.textContent = span;
    const ctx = axisRef.current?.getContext('2d');
    if (ctx && axisScale.current.widthPx > 0) {
      drawTimeAxis(
        ctx,
        vp,
        axisScale.current,
        Number.isNaN(originNs.current) ? vp.startNs : originNs.current,
      );
    }
  }, [cache]);
  useSizedCanvas(axisRef, axisScale, drawAxis);

  useEffect(() => {
    const un = appStore.subscribe((s, p) => {
      if (s.viewport !== p.viewport || s.dataRange !== p.dataRange) scheduler.request(drawAxis);
    });
    scheduler.request(drawAxis);
    return () => {
      un();
      scheduler.cancel(drawAxis);
    };
  }, [drawAxis]);

  const pointerFrac = useRef<number | null>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
      if (applyKey(appStore.getState(), e.key, pointerFrac.current ?? 0.5)) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const tooltip: TooltipSink = {
    show(text, x, y) {
      const el = tipRef.current;
      if (!el) return;
      el.textContent = text;
      el.style.display = 'block';
      const w = el.offsetWidth;
      el.style.left = `${Math.min(window.innerWidth - w - 8, x + 14)}px`;
      el.style.top = `${y + 16}px`;
    },
    hide() {
      if (tipRef.current) tipRef.current.style.display = 'none';
    },
  };

  const onPointerMove = (e: React.PointerEvent<HTMLDivElement>) => {
    const c = axisRef.current?.getBoundingClientRect();
    if (c)
      pointerFrac.current = Math.min(1, Math.max(0, (e.clientX - c.left) / Math.max(1, c.width)));
  };

  return (
    <section
      className="panel timelines"
      ref={rootRef}
      data-testid="timelines"
      onPointerMove={onPointerMove}
      onPointerLeave={() => (pointerFrac.current = null)}
    >
      <div className="timeline-row axis-row">
        <span className="lane-label muted" title="visible span">
          <span ref={spanRef} className="num" data-testid="visible-span" />
        </span>
        <canvas ref={axisRef} className="axis-canvas" />
      </div>
      {cpus.map((cpu) => (
        <div className="timeline-row" key={cpu}>
          <span className="lane-label">CPU {cpu}</span>
          <TimelineCanvas cpu={cpu} tooltip={tooltip} originNs={originNs} />
        </div>
      ))}
      <div className="hint muted">
        wheel: zoom · shift+wheel or drag: pan · W/S zoom · A/D pan · F/End: follow live · click:
        select
      </div>
      <div ref={tipRef} className="tooltip" role="tooltip" />
    </section>
  );
}
