import {expose, proxy, transfer, wrap, type Remote} from 'comlink';
import {afterEach, describe, expect, it, vi} from 'vitest';
import {MIN_POOLED_BYTES} from './answer-buffers.ts';
import {createWorkerApi, type Notification, type WorkerApi} from './api.ts';
import {Session} from './session.ts';
import {lodTransferables} from './timeline-lod.ts';
import {captureMetadata, capturePages} from './testing/capture-pages.ts';

const pages = [...capturePages('mixed-cpu0.raw', 0), ...capturePages('mixed-cpu1.raw', 1)];
const channels: MessageChannel[] = [];

/** The comlink boundary as in comlink's own tests: expose on port1, wrap port2. */
function boundary(api = createWorkerApi({notifyIntervalMs: 20})): {
  api: WorkerApi;
  remote: Remote<WorkerApi>;
} {
  const ch = new MessageChannel();
  channels.push(ch);
  expose(api, ch.port1 as unknown as Parameters<typeof expose>[1]);
  return {api, remote: wrap<WorkerApi>(ch.port2 as unknown as Parameters<typeof wrap>[0])};
}

afterEach(() => {
  for (const ch of channels.splice(0)) {
    ch.port1.close();
    ch.port2.close();
  }
});

describe('worker API over a MessageChannel', () => {
  it('answers typed column queries stamped with the data version, by transfer', async () => {
    const {api, remote} = boundary();
    let sent: ReturnType<WorkerApi['timeline']> | undefined;
    const timeline = api.timeline;
    api.timeline = (q) => (sent = timeline(q));
    await remote.loadMetadata(captureMetadata());
    const version = await remote.feedPages(pages, true);
    const summary = await remote.summary();
    expect(summary.version).toBe(version);
    expect(summary.data.events).toBe(43924 + 43756);
    const c0 = summary.data.cpus[0];
    const lod = await remote.timeline({startNs: c0.oldestNs, endNs: c0.newestNs, widthPx: 800});
    expect(lod.version).toBe(version);
    expect(lod.data.tracks.map((t) => t.cpu)).toEqual([0, 1]);
    const ev = lod.data.tracks[0].events;
    expect(ev.tsNs).toBeInstanceOf(Float64Array);
    expect(ev.count.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(lod.data.comms).toBeInstanceOf(Map);
    // Transferred, not copied: the worker's own buffers are detached after the post.
    expect(sent!.data.tracks[0].events.tsNs.byteLength).toBe(0);

    const list = await remote.events({
      from: {index: 0},
      count: 5,
      filter: {events: ['sched_switch']},
    });
    expect(list.version).toBe(version);
    expect(list.data.rows.length).toBe(5);
    expect(list.data.rows.line[0]).toContain('sched_switch:');
    const detail = await remote.eventDetail(list.data.rows.id[0]);
    expect(detail.data!.name).toBe('sched_switch');
    const sched = await remote.sched();
    expect(sched.data.cpus[0].slices.startNs).toBeInstanceOf(Float64Array);
    const counts = await remote.eventCounts();
    const total = counts.data.cpus.reduce((n, c) => n + c.counts.reduce((a, b) => a + b, 0), 0);
    expect(total).toBe(43924 + 43756);
  });

  it('writes each timeline answer into one buffer, and the next into the one handed back', async () => {
    const {api, remote} = boundary();
    await remote.loadMetadata(captureMetadata());
    await remote.feedPages(pages, true);
    const c0 = (await remote.summary()).data.cpus[0];
    const q = {startNs: c0.oldestNs, endNs: c0.newestNs, widthPx: 800};
    const first = await remote.timeline(q);
    const bufs = lodTransferables(first.data).filter((b) => b.byteLength > 0);
    expect(new Set(bufs).size).toBe(1);
    expect(bufs[0].byteLength).toBeGreaterThanOrEqual(MIN_POOLED_BYTES);
    // The same columns as fresh arrays would hold.
    const own = new Session();
    own.setMetadata(captureMetadata());
    for (const p of pages) own.handlePage(p);
    own.flush();
    const fresh = own.timeline(q);
    const plain = (lod: typeof fresh) =>
      lod.tracks.map((t) =>
        [t.slices, t.events, t.lost, t.swaps].map((g) =>
          Object.entries(g).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v) : v]),
        ),
      );
    expect(plain(first.data)).toEqual(plain(fresh));
    const answerBuffer = bufs[0];
    await remote.recycle(transfer([answerBuffer], [answerBuffer]));
    expect(answerBuffer.byteLength).toBe(0); // ours is detached: the worker has it
    const second = await remote.timeline(q);
    expect(plain(second.data)).toEqual(plain(fresh));
    expect(api.answerBufferStats()).toEqual({pooled: 0, reused: 1, made: 1});
  });

  it('moves the version on when the cap evicts, and reports the eviction', async () => {
    const {remote} = boundary();
    await remote.loadMetadata(captureMetadata());
    const v1 = await remote.feedPages(pages);
    const v2 = await remote.setMemoryCap(1024 * 1024);
    expect(v2).toBeGreaterThan(v1);
    const s = (await remote.summary()).data;
    expect(s.memory.liveBytes).toBeLessThanOrEqual(1024 * 1024);
    expect(s.evicted.events).toBe(43924 + 43756 - s.events);
  });

  it('pushes throttled notifications to a proxied callback', async () => {
    const {remote} = boundary();
    const got: Notification[] = [];
    await remote.subscribe(proxy((n: Notification) => void got.push(n)));
    await remote.loadMetadata(captureMetadata());
    for (let i = 0; i < 10; i++) await remote.feedPages(pages.slice(i * 10, i * 10 + 10));
    await new Promise((r) => setTimeout(r, 100));
    const data = got.filter((n) => n.kind === 'data');
    expect(data.length).toBeGreaterThan(0);
    expect(data.length).toBeLessThan(10); // 100 pages, 11 changes: coalesced
    const last = data[data.length - 1];
    expect(last.kind === 'data' && last.version).toBe((await remote.summary()).version);
  });

  it("pushes a followed view's columns with its edges, the next after followDone", async () => {
    const {remote} = boundary();
    const got: Notification[] = [];
    const id = await remote.subscribe(proxy((n: Notification) => void got.push(n)));
    await remote.loadMetadata(captureMetadata());
    await remote.feedPages(pages.slice(0, 50));
    const view = {cpus: [0, 1], beforeNs: 50e6, afterNs: 5e6, cols: 300};
    await remote.follow(id, view);
    const followed = () => got.flatMap((n) => (n.kind === 'edge' && n.timeline ? [n] : []));
    await vi.waitFor(() => expect(followed()).toHaveLength(1));
    const e = followed()[0];
    const query = {startNs: e.endNs - 50e6, endNs: e.endNs + 5e6, widthPx: 300, cpus: [0, 1]};
    expect(e.timeline!.query).toEqual(query);
    // The same columns a question for that range gets.
    const asked = (await remote.timeline(query)).data;
    expect(e.timeline!.lod.tracks.map((t) => Array.from(t.events.tsNs))).toEqual(
      asked.tracks.map((t) => Array.from(t.events.tsNs)),
    );
    expect(asked.tracks[0].events.length).toBeGreaterThan(0);
    // New data: no second followed edge until the first is handed back.
    await remote.feedPages(pages.slice(50, 100));
    await new Promise((r) => setTimeout(r, 50));
    expect(followed()).toHaveLength(1);
    await remote.followDone(id);
    await vi.waitFor(() => expect(followed()).toHaveLength(2));
    expect(followed()[1].endNs).toBeGreaterThan(e.endNs);
  });

  it('connect without a WebSocket says so', async () => {
    const {remote} = boundary(createWorkerApi({WebSocket: undefined}));
    const g = globalThis as {WebSocket?: unknown};
    const saved = g.WebSocket;
    g.WebSocket = undefined;
    try {
      await expect(remote.connect('http://127.0.0.1:1/', 't')).rejects.toThrow(/no WebSocket/);
    } finally {
      g.WebSocket = saved;
    }
  });
});
