/**
 * The adapter against the real worker API across a real comlink boundary (expose on port1 of a
 * MessageChannel, wrap port2, as comlink's own tests do), fed with real captured sub-buffers.
 */
import {expose, proxy, wrap} from 'comlink';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {encodeHello, encodeNotice, PROTOCOL_VERSION, type HelloInfo} from '../../core/protocol.ts';
import {createWorkerApi, type Notification, type WorkerApi} from '../../worker/api.ts';
import type {WebSocketLike} from '../../worker/connection.ts';
import {captureMetadata, capturePages} from '../../worker/testing/capture-pages.ts';
import {NO_FILTERS} from '../store/filter-slice.ts';
import {problemFromClose, recentRate, splitReportLine, toWorkerFilter} from './worker-answers.ts';
import type {BackendNotice} from './backend.ts';
import {WorkerBackend} from './worker-backend.ts';

describe('worker-backend helpers', () => {
  it.each([
    [
      '          <idle>-0     [000] 12348.120350: sched_switch: swapper/0:0 [120] R ==> bash:1906 [120]',
      {comm: '<idle>', info: 'swapper/0:0 [120] R ==> bash:1906 [120]'},
    ],
    [
      '  kworker/u8:2-123 [001] 5.000001: print: 0xffff: hello: world',
      {comm: 'kworker/u8:2', info: '0xffff: hello: world'},
    ],
    [
      '  my-task-name-77 [001] d..1 5.000001: irq_handler_entry: irq=26',
      {comm: 'my-task-name', info: 'irq=26'},
    ],
    ['(left the window)', null],
  ])('splits %s', (line, want) => expect(splitReportLine(line)).toEqual(want));

  it('maps filters: digits are pids, anything else a comm', () => {
    expect(toWorkerFilter(NO_FILTERS)).toEqual({});
    expect(toWorkerFilter({cpus: [1], events: ['print'], task: '12, 13', text: ' hi '})).toEqual({
      cpus: [1],
      events: ['print'],
      pids: [12, 13],
      text: 'hi',
    });
    expect(toWorkerFilter({...NO_FILTERS, task: 'bash'})).toEqual({comm: 'bash'});
  });

  it('tells a refused token from a server that went away', () => {
    expect(problemFromClose('closed 1008: missing or wrong token').kind).toBe('unauthorized');
    expect(problemFromClose('closed 1006').kind).toBe('server-gone');
  });

  it('averages a cumulative counter over the last second', () => {
    const t = [0, 250, 500, 750, 1000, 1250];
    const v = [0, 100, 100, 100, 100, 600]; // bursts: last-sample rates would be 0 or 2000/s
    expect(recentRate(t, v)).toBe(500);
    expect(recentRate([0], [5])).toBe(0);
  });
});

describe('WorkerBackend over comlink with captured pages', () => {
  const {port1, port2} = new MessageChannel();
  let backend: WorkerBackend;
  let remote: ReturnType<typeof wrap<WorkerApi>>;
  const eventCalls: unknown[] = [];

  beforeAll(async () => {
    const api = createWorkerApi({notifyIntervalMs: 0});
    const events = api.events;
    api.events = (q) => (eventCalls.push(q), events(q));
    expose(api, port1);
    remote = wrap<WorkerApi>(port2);
    await remote.loadMetadata(captureMetadata([0, 1]));
    const pages = [...capturePages('mixed-cpu0.raw', 0), ...capturePages('mixed-cpu1.raw', 1)];
    await remote.feedPages(pages, true);
    backend = new WorkerBackend(remote);
  });

  afterAll(() => {
    port1.close();
    port2.close();
  });

  it('reports the window and per-CPU statistics', async () => {
    const s = await backend.stats();
    expect(s.window.events).toBeGreaterThan(0);
    expect(s.dataRange).not.toBeNull();
    expect(s.dataRange!.endNs).toBeGreaterThan(s.dataRange!.startNs);
    expect(s.cpuStats.map((c) => c.cpu)).toEqual([0, 1]);
    // No META frames were fed (like the read source): meta figures are absent, not zero.
    expect(s.cpuStats[0].entries).toBeNull();
  });

  it('answers timeline columns sorted by time, with event ids that resolve to details', async () => {
    const {dataRange} = await backend.stats();
    const track = await backend.timeline(0, dataRange!, 400);
    expect(track.events.length).toBeGreaterThan(0);
    for (let i = 1; i < track.events.length; i++)
      expect(track.events.tsNs[i]).toBeGreaterThanOrEqual(track.events.tsNs[i - 1]);
    expect(track.typeNames.length).toBeGreaterThan(0);
    const d = await backend.eventDetail(track.events.id[0]);
    expect(d).not.toBeNull();
    expect(d!.cpu).toBe(0);
    expect(d!.tsNs).toBe(track.events.tsNs[0]);
    expect(d!.line).toContain('[000]');
    expect(d!.fields.length).toBeGreaterThan(0);
  });

  it('pages the event list from the end and by index, with names and split lines', async () => {
    eventCalls.length = 0;
    const tail = await backend.events({filters: NO_FILTERS, offset: -5, limit: 5});
    expect(eventCalls).toHaveLength(1); // the tail in one call: one consistent total
    expect(tail.rows).toHaveLength(5);
    expect(tail.offset).toBe(tail.total - 5);
    const head = await backend.events({filters: NO_FILTERS, offset: 0, limit: 3});
    expect(head.offset).toBe(0);
    expect(head.rows[0].tsNs).toBeLessThanOrEqual(tail.rows[0].tsNs);
    for (const r of [...head.rows, ...tail.rows]) {
      expect(r.name).not.toBe('?');
      expect(r.info).not.toContain('[00');
    }
    const idx = await backend.eventIndexAt(NO_FILTERS, tail.rows[2].tsNs);
    expect(idx).toBeLessThanOrEqual(tail.offset + 2);
  });

  it('filters by CPU and by event name', async () => {
    const cpu1 = await backend.events({filters: {...NO_FILTERS, cpus: [1]}, offset: 0, limit: 50});
    expect(cpu1.rows.length).toBeGreaterThan(0);
    expect(cpu1.rows.every((r) => r.cpu === 1)).toBe(true);
    const names = await backend.eventNames();
    expect(names.length).toBeGreaterThan(0);
    const one = await backend.events({
      filters: {...NO_FILTERS, events: [names[0]]},
      offset: 0,
      limit: 50,
    });
    expect(one.rows.every((r) => r.name === names[0])).toBe(true);
  });

  it('summarises tasks', async () => {
    const t = await backend.tasks();
    expect(Array.isArray(t.tasks)).toBe(true);
    expect(t.histograms.every((h) => h.counts.length === h.bucketLowNs.length)).toBe(true);
  });

  it('names tasks from the worker (no timeline asked first) and has per-task histograms', async () => {
    const fresh = new WorkerBackend(remote);
    const t = await fresh.tasks();
    expect(t.tasks.length).toBeGreaterThan(5);
    expect(t.tasks.every((r) => r.comm !== '')).toBe(true);
    expect(t.tasks.map((r) => r.comm)).toContain('cc1');
    const sum = (c: number[]) => c.reduce((a, b) => a + b, 0);
    expect(t.tasks.some((r) => r.latencyCount > 0)).toBe(true);
    for (const r of t.tasks) {
      expect(r.latencyCounts).toHaveLength(t.bucketLowNs.length);
      expect(sum(r.latencyCounts)).toBe(r.latencyCount);
    }
    const perCpu = t.histograms.reduce((n, c) => n + sum(c.counts), 0);
    expect(t.tasks.reduce((n, r) => n + sum(r.latencyCounts), 0)).toBe(perCpu);
  });
});

const HELLO: HelloInfo = {
  protocol: PROTOCOL_VERSION,
  sessionId: 'adapter-test',
  source: 'sim',
  cpus: [1, 0],
  subbufSize: 4096,
  nrSubbufs: 353,
  traceClock: 'local',
  littleEndian: true,
  server: {name: 'ringside', version: 't', allowControl: false, windowFrames: 8},
};

/** A server that opens and sends its HELLO, then nothing (no data, so no data notices). */
class HelloOnlySocket implements WebSocketLike {
  /** What the server says in HELLO, and after how many ms (subclasses change them). */
  protected hello(): HelloInfo {
    return HELLO;
  }
  protected helloDelayMs = 20;
  binaryType = '';
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: {data: unknown}) => void) | null = null;
  onclose: ((ev: {code: number; reason: string}) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(_url: string) {
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
      setTimeout(
        () => this.onmessage?.({data: encodeHello(this.hello()).slice().buffer}),
        this.helloDelayMs,
      );
    }, 0);
  }
  send(): void {}
  close(): void {
    this.readyState = 3;
  }
}

describe('WorkerBackend and the HELLO push', () => {
  it('announces the source when HELLO arrives', async () => {
    const {port1, port2} = new MessageChannel();
    const api = createWorkerApi({WebSocket: HelloOnlySocket, notifyIntervalMs: 0});
    expose(api, port1);
    const remote = wrap<WorkerApi>(port2);
    try {
      const pushed: Notification[] = [];
      await remote.subscribe(proxy((n: Notification) => void pushed.push(n)));
      const backend = new WorkerBackend(remote);
      const notices: BackendNotice[] = [];
      await backend.subscribe((n) => notices.push(n));
      await backend.connect('ws://127.0.0.1:1/ws', 't');
      const end = Date.now() + 5000;
      while (!notices.some((n) => n.kind === 'open') && Date.now() < end)
        await new Promise((r) => setTimeout(r, 10));
      expect(pushed.filter((n) => n.kind === 'hello')).toEqual([
        {kind: 'hello', hello: HELLO, sameSession: false},
      ]);
      const open = notices.find((n) => n.kind === 'open');
      expect(open).toMatchObject({source: {kind: 'sim', cpus: [0, 1], nrSubbufs: 353}});
      await remote.disconnect();
    } finally {
      port1.close();
      port2.close();
    }
  });
});

/** A server allowing control: HELLO, then answers every CONTROL with control-ok and the notice. */
class ControlSocket extends HelloOnlySocket {
  static hello: HelloInfo = {
    ...HELLO,
    tracingOn: true,
    sourceReason: 'tracefs not mounted',
    sourceReasonCode: 'no-tracefs',
    server: {...HELLO.server, allowControl: true, controlActions: ['tracing-off']},
  };
  protected override hello(): HelloInfo {
    return ControlSocket.hello;
  }
  protected override helloDelayMs = 0;
  override send(data?: unknown): void {
    if (!(data instanceof Uint8Array)) return;
    const text = new TextDecoder().decode(data);
    const action = /"action":"([^"]+)"/.exec(text)?.[1];
    const id = /"id":"([^"]+)"/.exec(text)?.[1];
    if (!action || !id) return; // credits, HELLO_ACK
    const reply = (b: Uint8Array) => setTimeout(() => this.onmessage?.({data: b.slice().buffer}));
    reply(encodeNotice('control-ok', -1, `#${id} ${action}`));
    if (action === 'tracing-off') reply(encodeNotice('tracing-off', -1, ''));
  }
}

describe('WorkerBackend: control and notices through comlink', () => {
  it('sends CONTROL, relays the answer and notices, and describes why this source', async () => {
    const {port1, port2} = new MessageChannel();
    const api = createWorkerApi({WebSocket: ControlSocket, notifyIntervalMs: 0});
    expose(api, port1);
    const backend = new WorkerBackend(wrap<WorkerApi>(port2));
    try {
      const got: BackendNotice[] = [];
      await backend.subscribe((n) => got.push(n));
      await backend.connect('ws://127.0.0.1:1/ws', 't');
      const wait = async (cond: () => boolean) => {
        const end = Date.now() + 5000;
        while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      };
      await wait(() => got.some((n) => n.kind === 'open'));
      expect(got.find((n) => n.kind === 'open')).toMatchObject({
        source: {
          controlAllowed: true,
          controlActions: ['tracing-off'],
          reasonCode: 'no-tracefs',
          reason: 'tracefs not mounted',
          tracingOn: true,
        },
      });
      const id = await backend.control({action: 'tracing-off'});
      expect(id).toBeTruthy();
      await wait(() => got.filter((n) => n.kind === 'notice').length >= 2);
      expect(got.filter((n) => n.kind === 'notice')).toEqual([
        {
          kind: 'notice',
          notice: 'control-ok',
          message: `#${id} tracing-off`,
          text: 'Done: tracing-off',
        },
        {kind: 'notice', notice: 'tracing-off', message: '', text: 'Tracing is off'},
      ]);
      expect((await api.connection()).data.tracingOn).toBe(false);
    } finally {
      port1.close();
      port2.close();
    }
  });
});
