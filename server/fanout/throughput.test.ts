/**
 * Throughput of the whole live path without a kernel: sim source → fan-out → WebSocket (ws, over
 * loopback TCP) → worker/connection.ts → worker/reader-loop.ts (decode into columns). The sim's
 * clock is moved ahead so the buffers hold a few seconds of a busy workload; the client then
 * drains it as fast as the path allows. Prints events/s; asserts that nothing was lost.
 */
import {describe, expect, it} from 'vitest';
import WebSocket from 'ws';
import {
  Connection,
  wsUrlFromServerUrl,
  type WebSocketConstructor,
} from '../../worker/connection.ts';
import {ReaderLoop} from '../../worker/reader-loop.ts';
import {newToken} from '../http/auth.ts';
import {startHttpServer} from '../http/http-server.ts';
import {SimSource} from '../sources/sim/sim-source.ts';
import {Fanout} from './fanout.ts';
import {until} from './testing/spy-source.ts';

describe('throughput', () => {
  it('sim → WebSocket → reader loop (server and client in one process)', async () => {
    let nowMs = 1_000_000;
    const sim = new SimSource({
      source: 'sim',
      events: [],
      cpus: 2,
      rate: 100_000,
      bufferKb: 65536,
      seed: 11,
      clock: () => nowMs,
    });
    const fanout = new Fanout(sim, await sim.open(), {statsIntervalMs: 0});
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      token: newToken(),
      fanout,
      distDir: '/nonexistent',
    });
    fanout.start();
    nowMs += 4000; // 4 s of 100k events/s on each CPU
    await sim.wait(0); // generate them now, outside the timed part
    let events = 0;
    let bytes = 0;
    const loop = new ReaderLoop({
      events(_cpu, _b, cols, start, count) {
        events += count;
        // touch the columns as a consumer would
        if (cols.tsNs[start + count - 1] < 0) throw new Error('time');
      },
    });
    const conn = new Connection({
      url: wsUrlFromServerUrl(server.url),
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      onFrame: (f) => {
        if (f.type === 3) bytes += f.bytes.length;
        loop.handle(f);
      },
      windowFrames: 256,
      reconnect: false,
    });
    const t0 = performance.now();
    conn.start();
    const expected = () => sim.buffers.reduce((n, b) => n + b.entries, 0);
    await until(
      () => events > 0 && events === expected() && sim.buffers.every((b) => b.unread() === 0),
      60_000,
      `drain ${events}`,
    );
    const s = (performance.now() - t0) / 1000;
    console.log(
      `throughput: ${events} events, ${(bytes / 1e6).toFixed(1)} MB in ${s.toFixed(2)} s = ` +
        `${Math.round(events / s).toLocaleString('en')} events/s, ${(bytes / 1e6 / s).toFixed(0)} MB/s`,
    );
    conn.stop();
    await fanout.close();
    await server.close();
    await sim.close();
    for (const cpu of loop.cpuList()) {
      expect(loop.kernelLost(cpu)).toBe(0);
      expect(loop.loss(cpu)).toMatchObject({gapSlices: 0, unexplainedSlices: 0, decodeErrors: 0});
    }
    expect(events).toBeGreaterThan(500_000);
  });
});
