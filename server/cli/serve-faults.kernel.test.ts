/**
 * Faults through `serve` on the live kernel (mmap source, own instance): clients that come and
 * go must leave nothing behind, a client that reconnects mid-stream keeps receiving, a buffer
 * reset and tracing_on=0 reach clients as notices and the stream survives them, and SIGTERM to
 * the CLI removes its instance.
 */
import {spawn} from 'node:child_process';
import {existsSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {afterAll, beforeAll, expect, it} from 'vitest';
import WebSocket from 'ws';
import {FrameType, type ServerFrame} from '../../core/protocol.ts';
import {
  Connection,
  wsUrlFromServerUrl,
  type WebSocketConstructor,
} from '../../worker/connection.ts';
import {ReaderLoop} from '../../worker/reader-loop.ts';
import {until} from '../fanout/testing/spy-source.ts';
import {MmapSource} from '../sources/mmap/mmap-source.ts';
import {writeMarkers} from '../sources/mmap/testing/markers.ts';
import type {SourceOptions} from '../sources/source.ts';
import {TRACEFS, describeKernel} from '../testing/kernel-gate.ts';
import {parseServeArgs} from './args.ts';
import {REPO_ROOT, startServe, type ServeHandle} from './serve-command.ts';

const openFds = () => readdirSync('/proc/self/fd').length;
const tracingMaps = () =>
  readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes('trace_pipe_raw')).length;

/** A client that decodes marker ids (raw_data `id` field) and keeps every notice it is sent. */
function client(url: string) {
  const ids: number[] = [];
  const notices: string[] = [];
  const loop = new ReaderLoop({
    events(_cpu, bytes, cols, start, count) {
      const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = start; i < start + count; i++) {
        if (cols.payloadLen[i] >= 16) ids.push(v.getUint32(cols.payloadOffset[i] + 8, true));
      }
    },
  });
  const conn = new Connection({
    url: wsUrlFromServerUrl(url),
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    onFrame: (f: ServerFrame) => {
      if (f.type === FrameType.NOTICE) notices.push(f.kind);
      loop.handle(f);
    },
    reconnect: false,
  });
  conn.start();
  return {ids, notices, loop, conn};
}

describeKernel('serve on the live kernel: faults', () => {
  let serve: ServeHandle;
  let dir: string;
  let fdsAfterStart: number;
  let mapsAfterStart: number;

  beforeAll(async () => {
    const args = parseServeArgs([
      ...['--source', 'mmap', '-e', 'ftrace:raw_data', '--port', '0', '--no-open', '--no-build'],
    ]);
    serve = await startServe(
      args,
      () => {},
      async (o: SourceOptions) => ({
        source: new MmapSource(o, {ownInstanceName: `ringside-test-faults-${process.pid}`}),
        reason: 'mmap: test instance',
      }),
    );
    dir = (serve.source as MmapSource).instanceDir!;
    fdsAfterStart = openFds();
    mapsAfterStart = tracingMaps();
  });
  afterAll(async () => {
    await serve?.stop();
    expect(existsSync(dir)).toBe(false); // stop() removed the own instance
  });

  it('1,000 connect/disconnect cycles leave no fd, mapping or instance behind', async () => {
    for (let i = 0; i < 1000; i += 25) {
      await Promise.all(
        Array.from({length: 25}, async () => {
          const c = client(serve.url);
          await until(() => c.loop.session !== undefined, 5000, 'hello');
          c.conn.stop();
        }),
      );
    }
    await until(() => openFds() <= fdsAfterStart + 2, 5000, `fds ${openFds()} vs ${fdsAfterStart}`);
    expect(tracingMaps()).toBe(mapsAfterStart);
    const ours = readdirSync(`${TRACEFS}/instances`).filter((n) => n.includes(`${process.pid}`));
    expect(ours).toEqual([`ringside-test-faults-${process.pid}`]);
  });

  it('a client that disconnects and reconnects mid-stream receives what came after', async () => {
    const a = client(serve.url);
    await until(() => a.loop.session !== undefined, 5000, 'hello a');
    await writeMarkers(dir, {cpu: 0, count: 500, first: 0});
    await until(() => a.ids.includes(499), 10_000, 'first half');
    a.conn.stop();
    await writeMarkers(dir, {cpu: 0, count: 500, first: 500}); // nobody connected: stays in the buffer
    const b = client(serve.url);
    await until(() => b.ids.includes(999), 10_000, `second half (${b.ids.length})`);
    expect(b.ids.filter((id) => id >= 500)).toEqual(Array.from({length: 500}, (_, i) => 500 + i));
    b.conn.stop();
  });

  it('a buffer reset and tracing_on=0 reach the client as notices, and the stream survives', async () => {
    const c = client(serve.url);
    await until(() => c.loop.session !== undefined, 5000, 'hello');
    await writeMarkers(dir, {cpu: 1, count: 100, first: 10_000});
    await until(() => c.ids.includes(10_099), 10_000, 'before reset');
    writeFileSync(`${dir}/trace`, ''); // echo > trace
    await writeMarkers(dir, {cpu: 1, count: 100, first: 20_000});
    await until(() => c.notices.includes('reset'), 10_000, `reset notice (${c.notices})`);
    await until(() => c.ids.includes(20_099), 10_000, 'after reset');
    writeFileSync(`${dir}/tracing_on`, '0');
    await until(() => c.notices.includes('tracing-off'), 10_000, `tracing-off (${c.notices})`);
    writeFileSync(`${dir}/tracing_on`, '1');
    await writeMarkers(dir, {cpu: 1, count: 10, first: 30_000});
    await until(() => c.ids.includes(30_009), 10_000, 'after tracing on again');
    c.conn.stop();
  });
});

describeKernel('ringside serve (CLI) on the live kernel', () => {
  it('SIGTERM removes the instance it created', async () => {
    const child = spawn(
      process.execPath,
      [
        `${REPO_ROOT}/bin/ringside.mjs`,
        'serve',
        '--source',
        'mmap',
        '--port',
        '0',
        '--no-open',
        '--no-build',
      ],
      {stdio: ['ignore', 'pipe', 'pipe']},
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const inst = `${TRACEFS}/instances/ringside-${child.pid}`;
    await until(() => /^http:\/\//m.test(out), 60_000, `URL line (${out})`);
    expect(existsSync(inst)).toBe(true);
    const code = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    child.kill('SIGTERM');
    expect(await code).toBe(0);
    expect(existsSync(inst)).toBe(false);
  });
});
