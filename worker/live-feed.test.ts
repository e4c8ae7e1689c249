import WebSocket from 'ws';
import {describe, expect, it} from 'vitest';
import {startSimServe} from '../server/testing/sim-serve.ts';
import {createWorkerApi, type Notification} from './api.ts';
import type {WebSocketConstructor} from './connection.ts';
import {socketUrl} from './live-feed.ts';

async function until(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('socketUrl', () => {
  it.each([
    ['http://127.0.0.1:8080/?token=abc', '', 'ws://127.0.0.1:8080/ws?token=abc'],
    ['http://127.0.0.1:8080/', 'T', 'ws://127.0.0.1:8080/ws?token=T'],
    ['https://h:1/x', 'T', 'wss://h:1/ws?token=T'],
    ['ws://h:2', 'T', 'ws://h:2/ws?token=T'],
    ['ws://h:2/ws?token=old', 'new', 'ws://h:2/ws?token=new'],
  ])('%s + %s → %s', (url, token, want) => expect(socketUrl(url, token)).toBe(want));
});

describe('connect: serve (sim source) → WebSocket → reader loop → store', () => {
  it('every scripted marker lands in the event list exactly once, with stats and no loss', async () => {
    const {serve, sim} = await startSimServe(['--seed', '3']);
    const api = createWorkerApi({
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      notifyIntervalMs: 50,
    });
    const got: Notification[] = [];
    api.subscribe((n) => void got.push(n));
    try {
      api.connect(serve.url, '');
      await until(
        () => got.some((n) => n.kind === 'connection' && n.state === 'open'),
        10_000,
        'open',
      );
      await until(() => api.summary().data.events > 0, 10_000, 'first events');
      const n = 500;
      for (let i = 0; i < n; i++) sim.writeMarker(i % sim.buffers.length, `live-${i}`);
      const markers = () =>
        api.events({from: {index: 0}, count: 1000, filter: {text: 'live-'}, budgetMs: 1e6}).data;
      await until(() => markers().total >= n, 20_000, 'markers');
      const page = markers();
      expect(page.total).toBe(n);
      const ids = page.rows.line.map((l) => Number(/live-(\d+)/.exec(l)![1]));
      expect(new Set(ids).size).toBe(n);
      expect(got.some((x) => x.kind === 'data')).toBe(true);
      const s = api.summary().data;
      expect(s.formatErrors).toEqual([]);
      expect(s.cpus.length).toBe(sim.buffers.length);
      await until(() => api.stats().data.some((c) => c.series.length > 1), 10_000, 'meta samples');
      for (const c of api.stats().data) {
        expect(c.totals.kernelLostEvents).toBe(0);
        expect(c.totals.deliveryGapSlices).toBe(0);
      }
      const info = api.connection().data;
      expect(info.state).toBe('open');
      expect(api.hello().data?.cpus).toEqual(s.cpus.map((c) => c.cpu));
      // HELLO is pushed as it arrives (once for this connection), with what hello() answers.
      const hellos = got.filter((x) => x.kind === 'hello');
      expect(hellos).toHaveLength(1);
      expect(hellos[0]).toEqual({kind: 'hello', hello: api.hello().data, sameSession: false});
      // No negative durations on the live sim (the sched view's cross-CPU order).
      const t = api.sched().data.tasks;
      for (let i = 0; i < t.length; i++) {
        expect(t.runnableNs[i]).toBeGreaterThanOrEqual(0);
        expect(t.latencySumNs[i]).toBeGreaterThanOrEqual(0);
      }
      expect(info.loss.every((l) => l.unexplainedSlices === 0 && l.decodeErrors === 0)).toBe(true);
      const sched = api.sched().data;
      expect(sched.cpus.some((c) => c.slices.length > 0)).toBe(true);
    } finally {
      api.disconnect();
      await serve.stop();
    }
  });

  it('names the skipped sub-buffers when the writer laps the ring (stats totals)', async () => {
    const {serve, sim} = await startSimServe(['--seed', '4', '--buffer-kb', '64']);
    const api = createWorkerApi({
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      notifyIntervalMs: 50,
    });
    try {
      api.connect(serve.url, '');
      await until(() => api.connection().data.state === 'open', 10_000, 'open');
      await until(() => api.summary().data.events > 0, 10_000, 'first events');
      // Far more than the 64 KiB ring holds, written at once: the writer laps the reader.
      for (let i = 0; i < 6000; i++) sim.writeMarker(0, `lap-${i}`);
      const loss0 = () => api.connection().data.loss.find((l) => l.cpu === 0);
      await until(() => (loss0()?.skippedSubbufsDerived ?? 0) > 0, 20_000, 'skips');
      await until(
        () => {
          const t = api.stats().data.find((c) => c.cpu === 0)?.totals;
          return !!t && t.skippedSubbufIds.length + t.skippedSubbufIdsMissing > 0;
        },
        10_000,
        'skipped ids in stats',
      );
      const l = loss0()!;
      const t = api.stats().data.find((c) => c.cpu === 0)!.totals;
      expect(l.ringModelValid).toBe(true);
      expect(t.skippedSubbufIds.length + t.skippedSubbufIdsMissing).toBe(l.skippedSubbufsDerived);
      expect(t.skippedSubbufIdsMissing).toBe(0);
      const nr = api.hello().data!.nrSubbufs;
      expect(t.skippedSubbufIds.every((id) => id >= 0 && id < nr)).toBe(true);
    } finally {
      api.disconnect();
      await serve.stop();
    }
  });
});

describe('control and notices through the worker API', () => {
  it('forwards CONTROL to the server and pushes its answer and HELLO fields', async () => {
    const {serve} = await startSimServe(['--allow-control']);
    const api = createWorkerApi({
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      notifyIntervalMs: 50,
    });
    const got: Notification[] = [];
    api.subscribe((n) => void got.push(n));
    try {
      expect(api.control({action: 'tracing-off'})).toBeUndefined(); // not connected yet
      api.connect(serve.url, '');
      await until(() => api.hello().data !== undefined, 10_000, 'hello');
      const hello = api.hello().data!;
      expect(hello.sourceReasonCode).toBe('explicit');
      expect(typeof hello.sourceReason).toBe('string');
      // The simulator runs no control actions: the server must deny, and the answer must reach us.
      expect(hello.server.controlActions ?? []).toEqual([]);
      const id = api.control({action: 'tracing-off'});
      expect(id).toMatch(/.+/);
      await until(
        () => got.some((n) => n.kind === 'notice' && n.notice.message.startsWith(`#${id} `)),
        10_000,
        'control answer',
      );
      const answer = got.find((n) => n.kind === 'notice' && n.notice.message.startsWith(`#${id} `));
      expect(answer).toMatchObject({kind: 'notice', notice: {kind: 'control-denied', cpu: -1}});
      expect(api.connection().data.tracingOn).toBe(hello.tracingOn);
    } finally {
      api.disconnect();
      await serve.stop();
    }
  }, 30_000);
});
