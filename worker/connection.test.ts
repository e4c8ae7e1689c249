import {afterEach, describe, expect, it} from 'vitest';
import WebSocket from 'ws';
import {FrameType, type NoticeFrame} from '../core/protocol.ts';
import {Fanout} from '../server/fanout/fanout.ts';
import {until} from '../server/fanout/testing/spy-source.ts';
import {newToken} from '../server/http/auth.ts';
import {startHttpServer, type RunningServer} from '../server/http/http-server.ts';
import {SimSource} from '../server/sources/sim/sim-source.ts';
import {
  Connection,
  wsUrlFromServerUrl,
  type ConnectionState,
  type WebSocketConstructor,
} from './connection.ts';
import {ReaderLoop} from './reader-loop.ts';

const WS = WebSocket as unknown as WebSocketConstructor;
let stack: {sim: SimSource; fanout: Fanout; server: RunningServer} | undefined;

afterEach(async () => {
  if (!stack) return;
  await stack.fanout.close();
  await stack.server.close();
  await stack.sim.close();
  stack = undefined;
});

async function start(windowFrames = 64) {
  const sim = new SimSource({source: 'sim', events: [], rate: 0, cpus: 2, seed: 1});
  const fanout = new Fanout(sim, await sim.open(), {
    statsIntervalMs: 0,
    windowFrames,
    idleWaitMs: 20,
  });
  const server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    token: newToken(),
    fanout,
    distDir: '/nonexistent',
  });
  fanout.start();
  stack = {sim, fanout, server};
  return stack;
}

function client(url: string, opts: Partial<ConstructorParameters<typeof Connection>[0]> = {}) {
  const states: string[] = [];
  let markers = 0;
  let metadata = 0;
  const loop = new ReaderLoop({
    events(_c, _b, _cols, _s, count) {
      markers += count;
    },
    hello() {
      metadata = 0;
    },
    metadata() {
      metadata++;
    },
  });
  const conn = new Connection({
    url: wsUrlFromServerUrl(url),
    WebSocket: WS,
    onFrame: (f) => loop.handle(f),
    onState: (s: ConnectionState, d) => states.push(`${s}${d ? ` ${d}` : ''}`),
    initialBackoffMs: 20,
    ...opts,
  });
  // METADATA means the server has taken the HELLO_ACK: this client is in the fan-out.
  return {conn, loop, states, events: () => markers, ready: () => metadata > 0};
}

describe('Connection', () => {
  it('wsUrlFromServerUrl', () => {
    expect(wsUrlFromServerUrl('http://127.0.0.1:7680/?token=abc')).toBe(
      'ws://127.0.0.1:7680/ws?token=abc',
    );
    expect(wsUrlFromServerUrl('https://[::1]:1/?token=x')).toBe('wss://[::1]:1/ws?token=x');
  });

  it('grants credits ahead, a quarter window at a time, and keeps up with no gap', async () => {
    const {sim, fanout, server} = await start();
    const c = client(server.url, {windowFrames: 32});
    c.conn.start();
    await until(() => c.loop.session !== undefined && fanout.clientCount === 1, 5000, 'hello');
    await new Promise((r) => setTimeout(r, 50));
    const q = fanout.clientQueue(1) ?? fanout.clientQueue(2)!;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      sim.writeMarker(i % 2, `credit test ${i} ${'x'.repeat(50)}`);
      if (i % 500 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await until(() => c.events() === n, 10_000, `events ${c.events()}`);
    // Re-granted every quarter window: once idle, at most a quarter is still owed by the client.
    await new Promise((r) => setTimeout(r, 50));
    expect(q.creditFrames).toBeGreaterThanOrEqual(24);
    expect(q.creditFrames).toBeLessThanOrEqual(32);
    expect(c.loop.loss(0).gapSlices + c.loop.loss(1).gapSlices).toBe(0);
    c.conn.stop();
    await until(() => c.conn.state === 'closed', 2000, 'closed');
  });

  it('reconnects with backoff and reports slices missed while disconnected', async () => {
    const {sim, fanout, server} = await start();
    const a = client(server.url);
    const b = client(server.url); // keeps the server reading while a is away
    a.conn.start();
    await until(() => a.ready(), 5000, 'a');
    b.conn.start();
    await until(() => b.ready() && fanout.clientCount === 2, 5000, 'b');
    for (let i = 0; i < 300; i++) sim.writeMarker(0, `before ${i}`);
    await until(() => a.events() === 300 && b.events() === 300, 5000, 'before');
    // Cut a's socket on the server side, as a network failure would (close code 1006).
    [...server.wss.clients][0].terminate();
    await until(() => a.states.some((s) => s.startsWith('reconnecting closed 1006')), 5000, 'cut');
    for (let i = 0; i < 3000; i++) sim.writeMarker(0, `during ${i} ${'y'.repeat(40)}`);
    await until(() => b.events() === 3300, 5000, 'b got everything');
    await until(() => fanout.clientCount === 2 && a.conn.connects === 2, 5000, 'a reconnected');
    await until(() => a.ready(), 5000, 'a ready again');
    for (let i = 0; i < 100; i++) sim.writeMarker(0, `after ${i}`);
    await until(() => b.events() === 3400, 5000, 'after (b)');
    await until(() => a.loop.loss(0).disconnectedSlices > 0, 5000, 'missed while disconnected');
    await until(() => a.events() >= 400, 5000, 'after (a)');
    const l = a.loop.loss(0);
    expect(l.unexplainedSlices).toBe(0);
    expect(l.gapSlices).toBe(0);
    expect(a.events()).toBeLessThan(3400); // what went by while it was away is counted, not replayed
    expect(
      a.states.some((s) => s.startsWith('reconnecting') && s.includes('retrying in 20 ms')),
    ).toBe(true);
    a.conn.stop();
    b.conn.stop();
  });

  it('a wrong token is final: no reconnect loop', async () => {
    const {server} = await start();
    const c = client(server.url.replace(/token=.*/, 'token=wrong'));
    c.conn.start();
    await until(() => c.conn.state === 'closed', 5000, 'closed');
    expect(c.conn.lastClose).toMatchObject({code: 1008});
    await new Promise((r) => setTimeout(r, 200));
    expect(c.states.filter((s) => s.startsWith('reconnecting')).length).toBe(0);
    expect(c.conn.connects).toBe(1);
  });

  it('pause stops credits; resume restarts the flow', async () => {
    const {sim, fanout, server} = await start(8);
    const c = client(server.url, {windowFrames: 8});
    c.conn.pause();
    c.conn.start();
    await until(() => c.loop.session !== undefined && fanout.clientCount === 1, 5000, 'hello');
    for (let i = 0; i < 2000; i++) sim.writeMarker(1, `p ${i} ${'z'.repeat(60)}`);
    await new Promise((r) => setTimeout(r, 200));
    const during = c.events();
    expect(during).toBeLessThan(2000);
    c.conn.resume();
    await until(() => c.events() === 2000, 5000, `resumed ${c.events()}`);
    expect(c.conn.framesReceived).toBeGreaterThan(0);
    expect(FrameType.SUBBUF).toBe(3);
    c.conn.stop();
  });

  it('onNotice gets every NOTICE; control() sends CONTROL and the answer carries its id', async () => {
    const {sim, server} = await start();
    const notices: NoticeFrame[] = [];
    const c = client(server.url, {onNotice: (n) => notices.push(n)});
    expect(c.conn.control({action: 'clear'})).toBeUndefined(); // not connected yet
    c.conn.start();
    await until(() => c.ready(), 5000, 'ready');
    expect(c.conn.hello?.server.allowControl).toBe(false);
    sim.setTracingOn(false);
    await until(() => notices.some((n) => n.kind === 'tracing-off'), 5000, 'tracing-off');
    const id = c.conn.control({action: 'tracing-on'});
    expect(id).toMatch(/^c\d+$/);
    await until(() => notices.some((n) => n.kind === 'control-denied'), 5000, 'answer');
    const a = notices.find((n) => n.kind === 'control-denied')!;
    expect(a.message.startsWith(`#${id} tracing-on: `)).toBe(true);
    expect(c.conn.control({action: 'clear', id: 'mine'})).toBe('mine');
    await until(() => notices.some((n) => n.message.startsWith('#mine clear: ')), 5000, 'mine');
    c.conn.stop();
  });
});
