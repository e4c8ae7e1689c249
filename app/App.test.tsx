// @vitest-environment jsdom
/**
 * The page in jsdom over a small synthetic backend: connection states and their advice, the
 * panels' test ids, the loss banner, and the rule that panning repaints canvases through the
 * scheduler without re-rendering React.
 */
import {act, Profiler} from 'react';
import {createRoot, type Root} from 'react-dom/client';
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {App} from './App.tsx';
import {appStore} from './store.ts';
import {DataContext} from './data/context.ts';
import {DashboardController} from './data/controller.ts';
import {TimelineCache} from './data/timeline-cache.ts';
import {createRecordingContext, type RecordingContext} from './testing/recording-context.ts';
import {createSyntheticBackend} from './testing/synthetic-backend.ts';
import type {CpuStatsView} from './store/stats-slice.ts';

(globalThis as {IS_REACT_ACT_ENVIRONMENT?: boolean}).IS_REACT_ACT_ENVIRONMENT = true;

let contexts = new WeakMap<HTMLCanvasElement, RecordingContext>();
let root: Root | undefined;
let host: HTMLDivElement;
let renders = 0;

beforeEach(() => {
  contexts = new WeakMap();
  renders = 0;
  // Reset the shared store to a fresh state.
  appStore.setState(appStore.getInitialState(), true);
  vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockImplementation(function (
    this: HTMLCanvasElement,
  ) {
    let rc = contexts.get(this);
    if (!rc) contexts.set(this, (rc = createRecordingContext(this.width, this.height)));
    return rc.ctx as never;
  } as never);
  // jsdom lays nothing out: give canvases a size.
  vi.spyOn(HTMLElement.prototype, 'getBoundingClientRect').mockReturnValue({
    x: 0,
    y: 0,
    left: 0,
    top: 0,
    width: 800,
    height: 60,
    right: 800,
    bottom: 60,
    toJSON: () => ({}),
  } as DOMRect);
  host = document.createElement('div');
  document.body.appendChild(host);
});

afterEach(() => {
  act(() => root?.unmount());
  root = undefined;
  host.remove();
  vi.restoreAllMocks();
});

async function mount(
  search: string,
  tweak?: (b: ReturnType<typeof createSyntheticBackend>) => void,
) {
  const backend = createSyntheticBackend(2, 5_000, 1e9);
  tweak?.(backend);
  const cache = new TimelineCache(backend);
  const controller = new DashboardController(appStore, backend, cache);
  await act(async () => {
    root = createRoot(host);
    root.render(
      <DataContext value={{backend, cache}}>
        <Profiler id="app" onRender={() => renders++}>
          <App />
        </Profiler>
      </DataContext>,
    );
    await controller.start({protocol: 'http:', host: 'localhost:1', search});
  });
  await act(() => new Promise((r) => setTimeout(r, 50)));
  return {backend, controller};
}

const q = (id: string) => host.querySelector(`[data-testid="${id}"]`);
const frame = () => act(() => new Promise<void>((r) => requestAnimationFrame(() => r())));

describe('App', () => {
  it('without ?token= explains how to open the right URL', async () => {
    const {controller} = await mount('');
    expect(q('empty-state')?.getAttribute('data-problem')).toBe('no-token');
    expect(q('empty-state')?.textContent).toContain('ringside serve');
    controller.stop();
  });

  it('shows the source, every panel test id, and the ring', async () => {
    const {controller} = await mount('?token=t');
    expect(q('source-kind')?.textContent).toBe('sim');
    expect(q('connection-state')?.textContent).toContain('live');
    for (const cpu of [0, 1]) {
      const panel = q(`cpu-stats-${cpu}`)!;
      for (const id of [
        'stat-entries',
        'stat-overrun',
        'stat-read',
        'stat-subbufs-lost',
        'stat-reader-id',
      ]) {
        expect(panel.querySelector(`[data-testid="${id}"]`), id).not.toBeNull();
      }
      expect(q(`timeline-cpu-${cpu}`)?.tagName).toBe('CANVAS');
      expect(q(`swap-ring-${cpu}`)?.tagName).toBe('CANVAS');
    }
    expect(q('cpu-stats-0')!.querySelector('[data-testid="stat-entries"]')!.textContent).toBe(
      '5,000',
    );
    expect(q('event-list')).not.toBeNull();
    expect(q('follow-toggle')).not.toBeNull();
    controller.stop();
  });

  it('pans by repainting canvases, without re-rendering React', async () => {
    const {controller} = await mount('?token=t');
    await frame();
    await frame();
    controller.stop(); // no stats polls during the measurement: they re-render the panels
    await frame();
    const before = renders;
    const timelineCtx = [0, 1].map((cpu) =>
      contexts.get(q(`timeline-cpu-${cpu}`) as HTMLCanvasElement)!,
    );
    expect(timelineCtx.every(Boolean)).toBe(true);
    const drawsBefore = timelineCtx.reduce((n, c) => n + c.ops('setTransform').length, 0);
    for (let i = 0; i < 10; i++) {
      act(() => appStore.getState().panByFraction(0.01));
      await frame();
    }
    const drawsAfter = timelineCtx.reduce((n, c) => n + c.ops('setTransform').length, 0);
    expect(drawsAfter - drawsBefore).toBeGreaterThanOrEqual(10);
    // The follow button is the one thing that re-renders (follow turned off once).
    expect(renders - before).toBeLessThanOrEqual(1);
  });

  it('following, shows the newest rows even when the total has moved on since the page', async () => {
    const {controller} = await mount('?token=t', (b) => {
      const events = b.events.bind(b);
      // As when events arrive between the worker's count and its page: total runs ahead.
      b.events = async (query) => {
        const p = await events(query);
        return {...p, total: p.total + 100};
      };
    });
    await act(() => new Promise((r) => setTimeout(r, 400)));
    const rows = host.querySelectorAll('[data-testid="event-row"]');
    expect(rows.length).toBeGreaterThan(5);
    // The last row shown is the newest event of the page.
    expect(rows[rows.length - 1].getAttribute('data-event-id')).toBe(String(4999));
    controller.stop();
  });

  it('raises the loss banner on kernel loss and hides it when dismissed', async () => {
    const {controller} = await mount('?token=t');
    controller.stop(); // freeze polling; drive the store directly
    const base = appStore.getState().cpuStats[0];
    const lossy: CpuStatsView = {...base, kernelLostEvents: 42, derivedLostSubbufs: 2};
    act(() => appStore.getState().setStats([lossy], appStore.getState().window, 1));
    expect(q('loss-banner')?.textContent).toContain('42 events overwritten by the kernel');
    expect(q('loss-banner')?.textContent).toContain('2 sub-buffers skipped (derived)');
    act(() => (q('loss-banner')!.querySelector('button') as HTMLButtonElement).click());
    expect(q('loss-banner')).toBeNull();
  });

  it('says the token was refused and keeps the dashboard away', async () => {
    const {controller} = await mount('?token=t');
    controller.stop();
    act(() =>
      appStore
        .getState()
        .setClosed({kind: 'unauthorized', message: 'closed 1008: missing or wrong token'}),
    );
    // A source is known, yet a refused token still blocks.
    expect(q('empty-state')?.getAttribute('data-problem')).toBe('unauthorized');
    expect(q('timeline-cpu-0')).toBeNull();
  });

  it('keeps the window browsable with a banner when the server goes away', async () => {
    const {controller} = await mount('?token=t');
    controller.stop();
    act(() => appStore.getState().setClosed({kind: 'server-gone', message: 'closed 1006'}));
    expect(q('server-gone-banner')).not.toBeNull();
    expect(q('timeline-cpu-0')).not.toBeNull();
    expect(q('connection-state')?.textContent).toContain('disconnected');
  });
});
