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

describe('App: controls, server notices, why this source', () => {
  type Backend = ReturnType<typeof createSyntheticBackend>;
  type Notice = Parameters<Parameters<Backend['subscribe']>[0]>[0];
  type Source = Extract<Notice, {kind: 'open'}>['source'];

  /** The synthetic backend, opening with `source` and answering control like a server would. */
  function withSource(source: Partial<Source>, answer?: (action: string) => Notice[]) {
    const sent: {action: string; args?: Record<string, unknown>}[] = [];
    const tweak = (b: Backend) => {
      let push: (n: Notice) => void = () => {};
      b.subscribe = async (on) => {
        push = on;
        on({
          kind: 'open',
          source: {
            kind: 'sim',
            cpus: [0, 1],
            subbufSize: 4096,
            nrSubbufs: 8,
            traceClock: 'local',
            controlAllowed: false,
            ...source,
          },
        });
        on({kind: 'data', dataVersion: 1});
        return () => {};
      };
      if (answer) {
        b.control = async (cmd) => {
          sent.push(cmd);
          const id = `c${sent.length}`;
          queueMicrotask(() => answer(cmd.action).forEach((n) => push(n)));
          return id;
        };
      }
    };
    return {tweak, sent};
  }

  const click = (el: Element | null | undefined) =>
    act(async () => {
      (el as HTMLButtonElement).click();
      await new Promise((r) => setTimeout(r, 0));
    });

  it('lists only the accepted actions, sends them, and shows the answer and tracing state', async () => {
    const ok = (action: string): Notice[] => [
      {kind: 'notice', notice: 'control-ok', message: `#c1 ${action}`, text: `Done: ${action}`},
    ];
    const {tweak, sent} = withSource(
      {controlAllowed: true, controlActions: ['tracing-off', 'enable-event'], tracingOn: true},
      ok,
    );
    const {controller} = await mount('?token=t', tweak);
    controller.stop();
    const buttons = [...q('controls')!.querySelectorAll('button')].map((b) => b.textContent);
    expect(buttons).toEqual(['Stop']);
    expect(q('tracing-state')?.textContent).toBe('tracing on');
    const ev = q('event-control')!;
    expect([...ev.querySelectorAll('button')].map((b) => b.textContent)).toEqual(['Enable']);
    await click(q('controls')!.querySelector('[data-action="tracing-off"]'));
    expect(sent).toEqual([{action: 'tracing-off'}]);
    expect(q('notice')?.getAttribute('data-kind')).toBe('control-ok');
    expect(q('notice')?.textContent).toBe('Done: tracing-off');
    expect(q('tracing-state')?.textContent).toBe('tracing off');
    // An event in trace-cmd syntax goes out as enable-event {event}.
    const input = ev.querySelector('input')!;
    act(() => {
      const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
      set.call(input, 'sched:sched_switch');
      input.dispatchEvent(new Event('input', {bubbles: true}));
    });
    await click(ev.querySelector('button'));
    expect(sent[1]).toEqual({action: 'enable-event', args: {event: 'sched:sched_switch'}});
  });

  it('shows a denial with its reason as a warning', async () => {
    const denied = (action: string): Notice[] => [
      {
        kind: 'notice',
        notice: 'control-denied',
        message: `#c1 ${action}: not allowed`,
        text: `Denied: ${action} — not allowed`,
      },
    ];
    const {tweak} = withSource({controlAllowed: true, controlActions: ['clear']}, denied);
    const {controller} = await mount('?token=t', tweak);
    controller.stop();
    await click(q('controls')!.querySelector('button'));
    expect(q('notice')?.getAttribute('data-kind')).toBe('control-denied');
    expect(q('notice')?.className).toContain('loss');
    expect(q('notice')?.textContent).toContain('not allowed');
    expect(q('tracing-state')).toBeNull(); // HELLO said nothing about tracing
  });

  it('has no controls when the server does not allow them', async () => {
    const {tweak} = withSource({controlAllowed: false, controlActions: []}, () => []);
    const {controller} = await mount('?token=t', tweak);
    controller.stop();
    expect(q('controls')).toBeNull();
    expect(q('event-control')).toBeNull();
  });

  it('explains a simulator fallback from sourceReasonCode, dismissibly', async () => {
    const {tweak} = withSource({
      reasonCode: 'no-permission',
      reason: 'tracefs: EACCES (not root)',
    });
    const {controller} = await mount('?token=t', tweak);
    controller.stop();
    expect(q('source-reason')?.textContent).toBe('fallback: no-permission');
    expect(q('source-kind')?.getAttribute('title')).toContain('EACCES');
    const advice = q('source-advice')!;
    expect(advice.getAttribute('data-problem')).toBe('no-permission');
    expect(advice.textContent).toContain('simulator');
    expect(advice.textContent).toContain('sudo');
    expect(q('timeline-cpu-0')).not.toBeNull(); // the dashboard stays
    act(() => (advice.querySelector('button') as HTMLButtonElement).click());
    expect(q('source-advice')).toBeNull();
  });

  it('shows no explanation when the source was asked for', async () => {
    const {tweak} = withSource({reasonCode: 'explicit', reason: '--source sim'});
    const {controller} = await mount('?token=t', tweak);
    controller.stop();
    expect(q('source-advice')).toBeNull();
    expect(q('source-reason')?.textContent).toBe('as asked');
  });

  it('shows overrun from before the session apart, only when there is some', async () => {
    const {controller} = await mount('?token=t');
    controller.stop();
    const base = appStore.getState().cpuStats[0];
    expect(q('stat-overrun-before')).toBeNull();
    act(() =>
      appStore
        .getState()
        .setStats([{...base, overrunBeforeSession: 1234}], appStore.getState().window, 1),
    );
    expect(q('stat-overrun-before')?.textContent).toContain('1,234');
    act(() =>
      appStore
        .getState()
        .setStats([{...base, overrunBeforeSession: -1}], appStore.getState().window, 2),
    );
    expect(q('stat-overrun-before')).toBeNull();
  });
});
