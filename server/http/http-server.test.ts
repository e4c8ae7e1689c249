import {mkdtempSync, mkdirSync, writeFileSync} from 'node:fs';
import {request} from 'node:http';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import WebSocket from 'ws';
import {decodeServerFrame} from '../../core/protocol-decode.ts';
import {FrameType, encodeCredit, encodeHelloAck, type ServerFrame} from '../../core/protocol.ts';
import {Fanout} from '../fanout/fanout.ts';
import {until} from '../fanout/testing/spy-source.ts';
import {SimSource} from '../sources/sim/sim-source.ts';
import {cookieName, newToken, tokensEqual} from './auth.ts';
import {startHttpServer, type RunningServer} from './http-server.ts';

let sim: SimSource;
let fanout: Fanout;
let server: RunningServer;
let token: string;
let base: string;
const dist = mkdtempSync(join(tmpdir(), 'ringside-dist-'));

beforeAll(async () => {
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>ringside</title>');
  writeFileSync(join(dist, 'assets', 'app-1.js'), 'console.log(1)');
  writeFileSync(join(dist, 'assets', 'app-1.css'), 'body{}');
  sim = new SimSource({source: 'sim', events: [], rate: 0, cpus: 2, seed: 5});
  fanout = new Fanout(sim, await sim.open(), {statsIntervalMs: 0, idleWaitMs: 20});
  token = newToken();
  server = await startHttpServer({host: '127.0.0.1', port: 0, token, fanout, distDir: dist});
  fanout.start();
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await fanout.close();
  await server.close();
  await sim.close();
});

function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{status: number; type: string; body: string; cookie?: string}>(
    (resolve, reject) => {
      const req = request(`${base}${path}`, {method, headers, agent: false}, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            body,
            cookie: res.headers['set-cookie']?.[0],
          }),
        );
      });
      req.on('error', reject);
      req.end();
    },
  );
}

interface Client {
  ws: WebSocket;
  frames: ServerFrame[];
  closed: Promise<{code: number; reason: string}>;
}

function connect(query = `?token=${token}`, opts: WebSocket.ClientOptions = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws${query}`, opts);
    const frames: ServerFrame[] = [];
    const closed = new Promise<{code: number; reason: string}>((r) =>
      ws.on('close', (code, reason) => r({code, reason: reason.toString()})),
    );
    ws.on('message', (d: Buffer) => frames.push(decodeServerFrame(new Uint8Array(d))));
    ws.on('open', () => resolve({ws, frames, closed}));
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on('error', reject);
  });
}

describe('auth helpers', () => {
  it('tokens are 192-bit base64url and compare in constant time by value', () => {
    const t = newToken();
    expect(t).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(newToken()).not.toBe(t);
    expect(tokensEqual(t, t)).toBe(true);
    expect(tokensEqual(t, t.slice(1))).toBe(false);
    expect(tokensEqual(t, '')).toBe(false);
  });
});

describe('HTTP', () => {
  it('refuses requests without the token, or with a wrong one, with a clear 401', async () => {
    for (const path of ['/', '/index.html', '/assets/app-1.js', '/?token=', `/?token=${token}x`]) {
      const r = await get(path);
      expect(r.status).toBe(401);
      expect(r.body).toMatch(/missing or wrong token.*ringside serve/);
    }
    expect((await get('/', {Authorization: 'Bearer nope'})).status).toBe(401);
    expect((await get('/', {Cookie: `${cookieName(server.port)}=nope`})).status).toBe(401);
  });

  it('serves the UI with the token (query, bearer or cookie) and correct content types', async () => {
    const r = await get(`/?token=${token}`);
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/html; charset=utf-8');
    expect(r.cookie).toMatch(/HttpOnly; SameSite=Strict/);
    const cookie = r.cookie!.split(';')[0];
    const js = await get('/assets/app-1.js', {Cookie: cookie});
    expect(js).toMatchObject({
      status: 200,
      type: 'text/javascript; charset=utf-8',
      body: 'console.log(1)',
    });
    expect((await get('/assets/app-1.css', {Authorization: `Bearer ${token}`})).type).toBe(
      'text/css; charset=utf-8',
    );
    expect((await get(`/assets/missing.js?token=${token}`)).status).toBe(404);
    expect((await get(`/../../etc/passwd?token=${token}`)).status).not.toBe(200);
    // encoded dot-dot cannot climb out of dist/ either
    writeFileSync(`${dist}-secret`, 'secret');
    const name = dist.split('/').pop();
    const esc = await get(`/%2e%2e/${name}-secret?token=${token}`);
    expect(esc.status).not.toBe(200);
    expect(esc.body).not.toMatch(/secret/);
  });

  it('refuses a foreign Origin even with the token; accepts its own', async () => {
    const bad = await get(`/?token=${token}`, {Origin: 'http://evil.example:' + server.port});
    expect(bad.status).toBe(403);
    expect(bad.body).toMatch(/not this server/);
    expect(
      (await get(`/?token=${token}`, {Origin: `http://localhost:${server.port}`})).status,
    ).toBe(200);
    expect(
      (await get(`/?token=${token}`, {Origin: `http://127.0.0.1:${server.port + 1}`})).status,
    ).toBe(403);
  });

  it('only GET and HEAD', async () => {
    expect((await get(`/?token=${token}`, {}, 'POST')).status).toBe(405);
    expect((await get(`/?token=${token}`, {}, 'HEAD')).status).toBe(200);
  });
});

describe('WebSocket', () => {
  it('no token or a wrong token: closed at once with 1008 and a reason, no frames', async () => {
    for (const q of ['', '?token=wrong', `?token=${token.slice(0, -1)}`]) {
      const c = await connect(q);
      const {code, reason} = await c.closed;
      expect(code).toBe(1008);
      expect(reason).toMatch(/token/);
      expect(c.frames).toEqual([]);
    }
  });

  it('a foreign Origin is refused before the handshake', async () => {
    await expect(connect(`?token=${token}`, {origin: 'https://evil.example'})).rejects.toThrow(
      /HTTP 403/,
    );
    const ok = await connect(`?token=${token}`, {origin: `http://127.0.0.1:${server.port}`});
    await until(() => ok.frames.length > 0, 2000, 'hello');
    ok.ws.close();
  });

  it('bearer token works for non-browser clients; HELLO, then METADATA after the ack, then data', async () => {
    const c = await connect('', {headers: {Authorization: `Bearer ${token}`}});
    await until(() => c.frames.length === 1, 2000, 'hello');
    expect(c.frames[0].type).toBe(FrameType.HELLO);
    c.ws.send(encodeHelloAck({protocol: 1}));
    c.ws.send(encodeCredit(100, 1 << 24));
    await until(() => c.frames.length >= 2, 2000, `metadata (got ${c.frames.map((f) => f.type)})`);
    expect(c.frames[1].type).toBe(FrameType.METADATA);
    sim.writeMarker(1, 'hello over ws');
    await until(() => c.frames.some((f) => f.type === FrameType.SUBBUF), 3000, 'subbuf');
    c.ws.close();
  });

  it('garbage, text or oversized messages close only that client; the others keep being served', async () => {
    const good = await connect();
    good.ws.send(encodeHelloAck({protocol: 1}));
    good.ws.send(encodeCredit(10_000, 1 << 30));
    const garbage = await connect();
    garbage.ws.send(new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]));
    expect(await garbage.closed).toMatchObject({code: 1008});
    const text = await connect();
    text.ws.send('hello');
    expect((await text.closed).code).toBe(1003);
    const big = await connect();
    big.ws.send(new Uint8Array(70 * 1024));
    expect((await big.closed).code).toBe(1009);
    const n0 = good.frames.filter((f) => f.type === FrameType.SUBBUF).length;
    sim.writeMarker(0, 'still here');
    await until(
      () => good.frames.filter((f) => f.type === FrameType.SUBBUF).length > n0,
      3000,
      'good client data',
    );
    expect(good.ws.readyState).toBe(WebSocket.OPEN);
    good.ws.close();
    await good.closed;
  });

  it('refuses connections beyond the client limit with 1013', async () => {
    const extra = new Fanout(sim, await sim.metadata(), {statsIntervalMs: 0});
    const small = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      token,
      fanout: extra,
      distDir: dist,
      maxClients: 2,
    });
    const url = `ws://127.0.0.1:${small.port}/ws?token=${token}`;
    const open = (u: string) =>
      new Promise<WebSocket>((res) => {
        const ws = new WebSocket(u);
        ws.on('open', () => res(ws));
      });
    const a = await open(url);
    const b = await open(url);
    const c = new WebSocket(url);
    const code = await new Promise<number>((r) => c.on('close', (k) => r(k)));
    expect(code).toBe(1013);
    a.close();
    b.close();
    await extra.close();
    await small.close();
  });

  it('1,000 connect/disconnect cycles leave no sockets, clients or listeners behind', async () => {
    const listeners = () =>
      server.http.listenerCount('request') +
      server.http.listenerCount('upgrade') +
      process.listenerCount('exit');
    const before = listeners();
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(
        Array.from({length: 50}, async (_, k) => {
          const c = await connect();
          if ((i + k) % 2) c.ws.send(encodeHelloAck({protocol: 1}));
          c.ws.close();
          await c.closed;
        }),
      );
    }
    await until(
      () => fanout.clientCount === 0 && server.wss.clients.size === 0,
      5000,
      `all gone (fanout ${fanout.clientCount}, wss ${server.wss.clients.size})`,
    );
    const open = await new Promise<number>((r) => server.http.getConnections((_e, n) => r(n)));
    expect(open).toBe(0);
    expect(listeners()).toBe(before);
  });
});
