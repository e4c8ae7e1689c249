/**
 * Multi-frame messages (HELLO_ACK `multiFrame`): one read goes out as one message, credits stay
 * per frame, urgent notices still overtake uncredited data, and frames laid out back to back are
 * sent as one view without a copy.
 */
import {afterEach, describe, expect, it} from 'vitest';
import {
  FrameType,
  MAX_MULTI_FRAME_MESSAGE_BYTES,
  encodeCredit,
  encodeGap,
  encodeHelloAck,
  encodeNotice,
  encodeSubbuf,
  subbufFrameBytes,
  writeSubbuf,
  type ServerFrame,
} from '../../core/protocol.ts';
import {ClientQueue, type FrameSink} from './client-queue.ts';
import type {Fanout} from './fanout.ts';
import {startSimFanout} from './testing/sim-fanout.ts';
import {MemorySink, until} from './testing/spy-source.ts';

const MULTI = encodeHelloAck({protocol: 1, multiFrame: true});
const SINGLE = encodeHelloAck({protocol: 1});
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

function setup(cpus = 2, windowFrames = 4096) {
  return startSimFanout(
    {cpus, seed: 11, windowFrames, windowBytes: 64 << 20, highWaterBytes: 64 << 20},
    cleanup,
  );
}

function join(fan: Fanout, sink: MemorySink, ack: Uint8Array, credits: number): number {
  const id = fan.addClient(sink);
  fan.handleMessage(id, ack);
  if (credits) fan.handleMessage(id, encodeCredit(credits, 1 << 30));
  return id;
}

const isData = (f: ServerFrame) => f.type === FrameType.SUBBUF || f.type === FrameType.META;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('multi-frame messages', () => {
  it('carry exactly the frames a one-frame-per-message client gets, in the same order', async () => {
    const {sim, fan} = await setup();
    const multi = new MemorySink();
    const single = new MemorySink();
    join(fan, multi, MULTI, 100_000);
    join(fan, single, SINGLE, 100_000);
    await sleep(30);
    for (let i = 0; i < 4000; i++) {
      sim.writeMarker(i % 2, `marker ${i} ${'m'.repeat(i % 90)}`);
      if (i % 500 === 0) await sleep(2);
    }
    await until(() => sim.buffers.every((b) => b.unread() === 0), 10_000, 'drain');
    await sleep(100);
    const summary = (s: MemorySink) =>
      s.frames
        .filter((f) => f.type === FrameType.SUBBUF)
        .map((f) => (f.type === FrameType.SUBBUF ? `${f.cpu}:${f.seq}:${f.bytes.length}` : ''));
    expect(summary(multi).length).toBeGreaterThan(20);
    expect(summary(multi)).toEqual(summary(single));
    expect(Math.max(...single.messageFrames)).toBe(1);
    expect(Math.max(...multi.messageFrames)).toBeGreaterThan(1);
    expect(multi.messageFrames.length).toBeLessThan(single.messageFrames.length);
    for (const cpu of [0, 1]) {
      const seqs = multi.frames.flatMap((f) =>
        f.type === FrameType.SUBBUF && f.cpu === cpu ? [f.seq] : [],
      );
      expect(seqs).toEqual(seqs.map((_, i) => i));
    }
  });

  it('take credits per frame: a message never carries more data frames than granted', async () => {
    const {sim, fan} = await setup(1);
    const sink = new MemorySink();
    const id = join(fan, sink, MULTI, 5);
    await sleep(30);
    for (let i = 0; i < 3000; i++) sim.writeMarker(0, `fill ${i} ${'f'.repeat(60)}`);
    await until(() => sink.frames.filter(isData).length >= 5, 5000, 'first grant used');
    await sleep(80);
    expect(sink.frames.filter(isData).length).toBe(5);
    const q = fan.clientQueue(id)!;
    expect(q.creditFrames).toBe(0);
    fan.handleMessage(id, encodeCredit(3, 1 << 30));
    await until(() => sink.frames.filter(isData).length >= 8, 5000, 'second grant used');
    await sleep(80);
    expect(sink.frames.filter(isData).length).toBe(8);
    expect(q.creditFrames).toBe(0);
    expect(q.queuedFrames).toBeGreaterThan(0);
  });

  it('urgent notices overtake data waiting for credits', async () => {
    const {sim, fan} = await setup(1);
    const sink = new MemorySink();
    const id = join(fan, sink, MULTI, 2);
    await sleep(30);
    for (let i = 0; i < 2000; i++) sim.writeMarker(0, `block ${i} ${'b'.repeat(60)}`);
    await until(() => fan.clientQueue(id)!.queuedFrames > 0, 5000, 'data queued');
    fan.broadcastNotice('tracing-off', -1, 'tracing_on is 0');
    await until(() => sink.of(FrameType.NOTICE).length > 0, 5000, 'notice');
    expect(sink.of(FrameType.NOTICE)[0]).toMatchObject({kind: 'tracing-off'});
    expect(sink.frames.filter(isData).length).toBe(2);
  });
});

/** A sink that keeps the raw messages. */
class RawSink implements FrameSink {
  bufferedAmount = 0;
  messages: Uint8Array[] = [];
  send(data: Uint8Array, cb: (err?: Error) => void): void {
    this.messages.push(data);
    queueMicrotask(() => cb());
  }
  close(): void {}
}

describe('ClientQueue message building', () => {
  const opts = {windowFrames: 1000, windowBytes: 64 << 20, highWaterBytes: 64 << 20};
  const page = (n: number) => new Uint8Array(n).fill(n & 255);

  it('frames back to back in one buffer go out as one view of it (no copy)', () => {
    const sink = new RawSink();
    const q = new ClientQueue(sink, opts);
    q.multiFrame = true;
    const sizes = [100, 4000, 8, 2000];
    const buf = new Uint8Array(sizes.reduce((n, s) => n + subbufFrameBytes(s), 0));
    let at = 0;
    sizes.forEach((s, i) => {
      const f = writeSubbuf(buf, at, 0, i, i, 0, page(s));
      at += f.length;
      q.offerSlice(f, 0, i, s);
    });
    q.grant(100, 1 << 30);
    expect(sink.messages.length).toBe(1);
    expect(sink.messages[0].buffer).toBe(buf.buffer);
    expect(sink.messages[0].byteOffset).toBe(0);
    expect(sink.messages[0].length).toBe(buf.length);
    expect(q.framesSent).toBe(4);
    expect(q.creditFrames).toBe(96);
  });

  it('joins frames from different buffers by copying, and caps the message size', () => {
    const sink = new RawSink();
    const q = new ClientQueue(sink, opts);
    q.multiFrame = true;
    const big = MAX_MULTI_FRAME_MESSAGE_BYTES / 4;
    const frames = [0, 1, 2, 3, 4, 5].map((i) => encodeSubbuf(0, i, i, 0, page(big - 64)));
    q.sendControl(encodeNotice('reset', 0, 'between'));
    for (const [i, f] of frames.entries()) q.offerSlice(f, 0, i, big - 64);
    q.sendControl(encodeGap({cpu: 1, reason: 1, firstSeq: 0, lastSeq: 0, slices: 1, bytes: 8}));
    q.grant(100, 1 << 30);
    const total = sink.messages.reduce((n, m) => n + m.length, 0);
    expect(total).toBe(
      frames.reduce((n, f) => n + f.length, 0) + encodeNotice('reset', 0, 'between').length + 48,
    );
    expect(sink.messages.length).toBeGreaterThan(1);
    for (const m of sink.messages)
      expect(m.length).toBeLessThanOrEqual(MAX_MULTI_FRAME_MESSAGE_BYTES);
    expect(sink.messages[0][0]).toBe(FrameType.NOTICE);
  });

  it('without multiFrame every message is one frame', () => {
    const sink = new RawSink();
    const q = new ClientQueue(sink, opts);
    const buf = new Uint8Array(3 * subbufFrameBytes(16));
    for (let i = 0, at = 0; i < 3; i++) {
      const f = writeSubbuf(buf, at, 0, i, i, 0, page(16));
      at += f.length;
      q.offerSlice(f, 0, i, 16);
    }
    q.grant(100, 1 << 30);
    expect(sink.messages.map((m) => m.length)).toEqual([1, 2, 3].map(() => subbufFrameBytes(16)));
  });
});
