/**
 * Live-kernel tests of what `serve` adds on top of the stream: the overrun baseline in attach
 * mode (HELLO baselineMetas → worker/loss.ts), CONTROL actions (only with --allow-control, only
 * on the server's own instance) and notices reaching the client's onNotice.
 */
import {existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync} from 'node:fs';
import {afterAll, afterEach, expect, it} from 'vitest';
import WebSocket from 'ws';
import type {NoticeFrame, WireMetadata} from '../../core/protocol.ts';
import {
  Connection,
  wsUrlFromServerUrl,
  type WebSocketConstructor,
} from '../../worker/connection.ts';
import {ReaderLoop} from '../../worker/reader-loop.ts';
import {until} from '../fanout/testing/spy-source.ts';
import {MmapSource} from '../sources/mmap/mmap-source.ts';
import {ReadSource} from '../sources/read-source.ts';
import {CHECK_XOR, writeMarkers} from '../sources/mmap/testing/markers.ts';
import type {SourceOptions} from '../sources/source.ts';
import {TRACEFS, describeKernel} from '../testing/kernel-gate.ts';
import {parseServeArgs} from './args.ts';
import {startServe, type ServeHandle} from './serve-command.ts';

let serial = 0;
const running: ServeHandle[] = [];
const made: string[] = [];
afterEach(async () => {
  for (const h of running.splice(0)) await h.stop();
});
afterAll(() => {
  for (const dir of made.splice(0)) {
    for (let i = 0; i < 50 && existsSync(dir); i++) {
      try {
        rmdirSync(dir);
      } catch {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
  }
});

const BASE = ['--source', 'mmap', '--port', '0', '--no-open', '--no-build'];

async function serve(extra: string[], ownName?: string, read = false): Promise<ServeHandle> {
  const extras = ownName ? {ownInstanceName: ownName} : {};
  const h = await startServe(
    parseServeArgs([...BASE, ...extra]),
    () => {},
    async (o: SourceOptions) => ({
      source: read ? new ReadSource(o, extras) : new MmapSource(o, extras),
      reason: read ? 'read: test' : 'mmap: test',
    }),
  );
  running.push(h);
  return h;
}

/** An instance made by the test itself (to attach to), removed in afterAll. */
function makeInstance(tag: string, bufferKb: number): {name: string; dir: string} {
  const name = `ringside-test-${tag}-${process.pid}`;
  const dir = `${TRACEFS}/instances/${name}`;
  mkdirSync(dir);
  made.push(dir);
  writeFileSync(`${dir}/buffer_size_kb`, String(bufferKb));
  writeFileSync(`${dir}/buffer_percent`, '0');
  return {name, dir};
}

function stat(dir: string, cpu: number, key: string): number {
  const re = new RegExp(`^${key}: (\\d+)`, 'm');
  return Number(re.exec(readFileSync(`${dir}/per_cpu/cpu${cpu}/stats`, 'utf8'))?.[1]);
}

interface Client {
  conn: Connection;
  loop: ReaderLoop;
  ids: number[];
  notices: NoticeFrame[];
  metadata: WireMetadata[];
}

function connect(h: ServeHandle, windowFrames = 64): Client {
  const ids: number[] = [];
  const notices: NoticeFrame[] = [];
  const metadata: WireMetadata[] = [];
  const loop = new ReaderLoop({
    events(_cpu, bytes, cols, start, count) {
      const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = start; i < start + count; i++) {
        // Markers only (sched_switch may be on for a while): id, then id ^ CHECK_XOR.
        const off = cols.payloadOffset[i];
        if (cols.payloadLen[i] < 16) continue;
        const id = v.getUint32(off + 8, true);
        if (v.getUint32(off + 12, true) === (id ^ CHECK_XOR) >>> 0) ids.push(id);
      }
    },
    metadata: (m) => metadata.push(m),
  });
  const conn = new Connection({
    url: wsUrlFromServerUrl(h.url),
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    onFrame: (f) => loop.handle(f),
    onNotice: (n) => notices.push(n),
    windowFrames,
    reconnect: false,
  });
  conn.start();
  return {conn, loop, ids, notices, metadata};
}

/** Wait until `ids` stops growing for ~0.4 s and `cond` holds. */
async function settle(c: Client, cond: () => boolean, what: string): Promise<void> {
  let last = -1;
  let stable = 0;
  await until(
    () => {
      stable = c.ids.length === last ? stable + 1 : 0;
      last = c.ids.length;
      return stable > 80 && cond();
    },
    20_000,
    what,
  );
}

async function answer(c: Client, id: string): Promise<NoticeFrame> {
  await until(() => c.notices.some((n) => n.message.startsWith(`#${id} `)), 5000, `answer ${id}`);
  return c.notices.find((n) => n.message.startsWith(`#${id} `))!;
}

describeKernel('serve on the live kernel: overrun baseline, CONTROL, notices', () => {
  it('attach mode: overrun from before the server opened the buffer is not loss; new overrun is exact', async () => {
    const {name, dir} = makeInstance('base', 64);
    const w1 = await writeMarkers(dir, {cpu: 1, count: 20_000});
    expect(w1.errors).toBe(0);
    const before = stat(dir, 1, 'overrun');
    const unread = stat(dir, 1, 'entries');
    expect(before).toBeGreaterThan(0); // history: the 64 KB ring was lapped before we attach

    const h = await serve(['--instance', name]);
    const c = connect(h, 8);
    await settle(c, () => c.loop.loss(1).slices > 0, 'the buffered markers');
    expect(c.loop.session?.baselineMetas?.length).toBeGreaterThan(0);
    const l = c.loop.loss(1);
    expect(l.overrunBeforeSession).toBe(before);
    expect(c.loop.kernelLost(1)).toBe(0); // was `before` when counting from 0
    expect(c.ids.length).toBe(unread); // exactly what the buffer still held

    // New overrun while the client takes nothing: counted exactly.
    c.conn.pause();
    await new Promise((r) => setTimeout(r, 300));
    const got = c.ids.length;
    const n = 20_000;
    expect((await writeMarkers(dir, {cpu: 1, count: n})).errors).toBe(0);
    const after = stat(dir, 1, 'overrun');
    expect(after).toBeGreaterThan(before);
    c.conn.resume();
    await settle(c, () => c.loop.loss(1).overrunEvents === after - before, 'new overrun');
    expect(c.loop.kernelLost(1)).toBe(after - before);
    expect(c.ids.length - got + c.loop.kernelLost(1)).toBe(n); // received + lost = written
    c.conn.stop();
  });

  it('without --allow-control nothing changes kernel state', async () => {
    const own = `ringside-test-ctl0-${serial++}-${process.pid}`;
    const h = await serve(['-e', 'ftrace:raw_data', '--buffer-kb', '64'], own);
    const dir = (h.source as MmapSource).instanceDir!;
    const c = connect(h);
    await until(() => c.loop.session !== undefined, 5000, 'hello');
    expect(c.loop.session!.server).toMatchObject({allowControl: false, controlActions: []});
    await writeMarkers(dir, {cpu: 1, count: 500});
    await settle(c, () => c.ids.length === 500, 'markers');
    const files = ['tracing_on', 'buffer_size_kb', 'events/sched/sched_switch/enable', 'set_event'];
    const snapshot = () => files.map((f) => readFileSync(`${dir}/${f}`, 'utf8'));
    const was = snapshot();
    const readEvents = stat(dir, 1, 'read events');
    const reqs: [string, Record<string, unknown>][] = [
      ['tracing-off', {}],
      ['enable-event', {event: 'sched:sched_switch'}],
      ['disable-event', {event: 'all'}],
      ['clear', {}],
      ['buffer-size', {kb: 128}],
    ];
    for (const [action, args] of reqs) {
      const id = c.conn.control({action, args})!;
      const a = await answer(c, id);
      expect(a.kind).toBe('control-denied');
      expect(a.message).toMatch(/--allow-control/);
    }
    await new Promise((r) => setTimeout(r, 400));
    expect(snapshot()).toEqual(was);
    expect(stat(dir, 1, 'read events')).toBe(readEvents); // not reset by a clear
    expect(c.notices.filter((n) => !n.kind.startsWith('control-'))).toEqual([]);
    c.conn.stop();
  });

  it('with --allow-control: events, tracing on/off, clear; buffer-size refused while mapped', async () => {
    const own = `ringside-test-ctl1-${serial++}-${process.pid}`;
    const h = await serve(['-e', 'ftrace:raw_data', '--buffer-kb', '64', '--allow-control'], own);
    const dir = (h.source as MmapSource).instanceDir!;
    const c = connect(h);
    await until(() => c.metadata.length === 1, 5000, 'METADATA');
    expect(c.loop.session).toMatchObject({
      tracingOn: true,
      sourceReason: 'mmap: test',
      sourceReasonCode: 'explicit',
    });
    expect(c.loop.session!.server.controlActions).toEqual([
      'enable-event',
      'disable-event',
      'tracing-on',
      'tracing-off',
      'clear',
    ]);

    let a = await answer(
      c,
      c.conn.control({action: 'enable-event', args: {event: 'sched:sched_switch'}})!,
    );
    expect(a).toMatchObject({kind: 'control-ok'});
    expect(readFileSync(`${dir}/events/sched/sched_switch/enable`, 'utf8').trim()).toBe('1');
    await until(() => c.metadata.length === 2, 5000, 'METADATA generation 2');
    expect(c.metadata[1].generation).toBe(2);
    expect(c.metadata[1].formats.some((f) => f.name === 'sched_switch')).toBe(true);
    a = await answer(c, c.conn.control({action: 'disable-event', args: {event: 'sched'}})!);
    expect(a.kind).toBe('control-ok');
    expect(readFileSync(`${dir}/events/sched/sched_switch/enable`, 'utf8').trim()).toBe('0');
    a = await answer(
      c,
      c.conn.control({action: 'enable-event', args: {event: '../../tracing_on'}})!,
    );
    expect(a.kind).toBe('control-failed');

    a = await answer(c, c.conn.control({action: 'tracing-off'})!);
    expect(a.kind).toBe('control-ok');
    expect(readFileSync(`${dir}/tracing_on`, 'utf8').trim()).toBe('0');
    await until(() => c.notices.some((n) => n.kind === 'tracing-off'), 5000, 'tracing-off notice');
    a = await answer(c, c.conn.control({action: 'tracing-on'})!);
    expect(readFileSync(`${dir}/tracing_on`, 'utf8').trim()).toBe('1');
    await until(() => c.notices.some((n) => n.kind === 'tracing-on'), 5000, 'tracing-on notice');

    await writeMarkers(dir, {cpu: 1, count: 300});
    await settle(c, () => c.ids.length === 300, 'markers');
    expect(stat(dir, 1, 'read events')).toBeGreaterThan(0);
    a = await answer(c, c.conn.control({action: 'clear'})!);
    expect(a.kind).toBe('control-ok');
    expect(stat(dir, 1, 'read events')).toBe(0); // the buffer was reset
    await until(() => c.notices.some((n) => n.kind === 'reset'), 5000, 'reset notice');
    // The stream goes on after the reset.
    await writeMarkers(dir, {cpu: 1, count: 100, first: 1000});
    await settle(c, () => c.ids.length === 400, 'markers after clear');
    expect(c.ids.slice(300)).toEqual(Array.from({length: 100}, (_, i) => 1000 + i));

    const kb = readFileSync(`${dir}/buffer_size_kb`, 'utf8');
    a = await answer(c, c.conn.control({action: 'buffer-size', args: {kb: 128}})!);
    expect(a.kind).toBe('control-denied');
    expect(a.message).toMatch(/EBUSY/);
    expect(readFileSync(`${dir}/buffer_size_kb`, 'utf8')).toBe(kb);
    c.conn.stop();
  });

  it('attached with --allow-control only: the instance is not ours, so nothing is changed', async () => {
    const {name, dir} = makeInstance('ctl2', 64);
    const h = await serve(['--instance', name, '--allow-control']);
    const c = connect(h);
    await until(() => c.loop.session !== undefined, 5000, 'hello');
    expect(c.loop.session!.server.allowControl).toBe(false);
    const a = await answer(c, c.conn.control({action: 'tracing-off'})!);
    expect(a.kind).toBe('control-denied');
    expect(a.message).toMatch(/--allow-control-attached/);
    expect(readFileSync(`${dir}/tracing_on`, 'utf8').trim()).toBe('1');
    c.conn.stop();
  });

  it('a tracing_on change made outside reaches a client that holds no credits', async () => {
    const own = `ringside-test-ctl3-${serial++}-${process.pid}`;
    const h = await serve(['-e', 'ftrace:raw_data', '--buffer-kb', '64'], own);
    const dir = (h.source as MmapSource).instanceDir!;
    const c = connect(h, 1);
    c.conn.pause();
    await until(() => c.loop.session !== undefined, 5000, 'hello');
    await writeMarkers(dir, {cpu: 1, count: 2000}); // uses up the single credit
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(`${dir}/tracing_on`, '0');
    await until(() => c.notices.some((n) => n.kind === 'tracing-off'), 5000, 'tracing-off notice');
    writeFileSync(`${dir}/tracing_on`, '1');
    await until(() => c.notices.some((n) => n.kind === 'tracing-on'), 5000, 'tracing-on notice');
    c.conn.stop();
  });

  it('read() source: buffer-size works (nothing is mapped)', async () => {
    const own = `ringside-test-ctl4-${serial++}-${process.pid}`;
    const h = await serve(
      ['-e', 'ftrace:raw_data', '--buffer-kb', '64', '--allow-control'],
      own,
      true,
    );
    const dir = (h.source as ReadSource).instanceDir!;
    const c = connect(h);
    await until(() => c.loop.session !== undefined, 5000, 'hello');
    expect(c.loop.session!.server.controlActions).toContain('buffer-size');
    const a = await answer(c, c.conn.control({action: 'buffer-size', args: {kb: 128}})!);
    expect(a).toMatchObject({kind: 'control-ok'});
    const now = Number(readFileSync(`${dir}/buffer_size_kb`, 'utf8').trim());
    expect(now).toBeGreaterThanOrEqual(128); // rounded up to whole sub-buffers
    expect(now).toBeLessThan(140);
    expect(a.message).toMatch(new RegExp(`buffer_size_kb is ${now}`));
    const bad = await answer(c, c.conn.control({action: 'buffer-size', args: {kb: 0}})!);
    expect(bad.kind).toBe('control-failed');
    c.conn.stop();
  });
});
