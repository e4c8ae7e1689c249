import {afterEach, describe, expect, it} from 'vitest';
import {FrameType, encodeControl, encodeCredit, encodeHelloAck} from '../../core/protocol.ts';
import type {Fanout} from './fanout.ts';
import {startSimFanout} from './testing/sim-fanout.ts';
import {MemorySink, until} from './testing/spy-source.ts';

const ACK = encodeHelloAck({protocol: 1});
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

function setup(opts: {windowFrames?: number; windowBytes?: number; cpus?: number} = {}) {
  return startSimFanout(
    {
      cpus: opts.cpus,
      seed: 3,
      windowFrames: opts.windowFrames ?? 16,
      windowBytes: opts.windowBytes ?? 1 << 20,
      highWaterBytes: 1 << 20,
    },
    cleanup,
  );
}

function join(fan: Fanout, sink: MemorySink, credits = 0): number {
  const id = fan.addClient(sink);
  fan.handleMessage(id, ACK);
  if (credits) fan.handleMessage(id, encodeCredit(credits, 1 << 30));
  return id;
}

/** A client that re-grants one credit per data frame it receives: always fast. */
function fastSink(fan: Fanout, getId: () => number): MemorySink {
  const s = new MemorySink();
  s.onFrame = (f) => {
    if (f.type === FrameType.SUBBUF || f.type === FrameType.META) {
      fan.handleMessage(getId(), encodeCredit(1, 1 << 20));
    }
  };
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fan-out flow control', () => {
  it('reads nothing with no client, and nothing while no client holds credits', async () => {
    const {sim, source, fan} = await setup();
    for (let i = 0; i < 200; i++) sim.writeMarker(i % 2, `m${i}`);
    await sleep(100);
    expect(source.reads).toBe(0);
    const sink = new MemorySink();
    const id = join(fan, sink); // HELLO_ACK but no CREDIT yet
    await sleep(100);
    expect(source.reads).toBe(0);
    expect(sink.frames.map((f) => f.type)).toEqual([FrameType.HELLO, FrameType.METADATA]);
    fan.handleMessage(id, encodeCredit(1000, 1 << 30));
    await until(() => sink.of(FrameType.SUBBUF).length > 0, 5000, 'slices');
    expect(source.reads).toBeGreaterThan(0);
  });

  it('the client without HELLO_ACK gets no data, even with credits', async () => {
    const {sim, source, fan} = await setup();
    const sink = new MemorySink();
    const id = fan.addClient(sink);
    fan.handleMessage(id, encodeCredit(100, 1 << 30));
    sim.writeMarker(0, 'x');
    await sleep(80);
    expect(source.reads).toBe(0);
    expect(sink.frames.map((f) => f.type)).toEqual([FrameType.HELLO]);
  });

  it('a slow client gets GAP frames; the fast client gets every slice in order', async () => {
    const {sim, fan} = await setup({windowFrames: 8});
    let fastId = 0;
    const fast = fastSink(fan, () => fastId);
    fastId = join(fan, fast, 4);
    const slow = new MemorySink();
    const slowId = join(fan, slow, 4); // 4 credits, never more
    let maxQueued = 0;
    const q = fan.clientQueue(slowId)!;
    const writes = 3000;
    for (let i = 0; i < writes; i++) {
      sim.writeMarker(i % 2, `marker ${i} ${'x'.repeat(60)}`);
      if (i % 100 === 0) await sleep(1);
      maxQueued = Math.max(maxQueued, q.queuedFrames);
    }
    // The fast client drains everything: wait until the source is empty and it has caught up.
    await until(
      () => fast.of(FrameType.SUBBUF).length > 0 && sim.buffers.every((b) => b.unread() === 0),
      10_000,
      'drain',
    );
    await sleep(100);
    const slowData = slow.of(FrameType.SUBBUF).length + slow.of(FrameType.META).length;
    expect(q.gapSlices).toBeGreaterThan(0);
    // The GAPs wait behind the queued data; granting credits lets both through.
    fan.handleMessage(slowId, encodeCredit(1000, 1 << 30));
    await until(() => slow.of(FrameType.GAP).length > 0, 5000, 'gap frames');
    await sleep(50);
    for (const cpu of [0, 1]) {
      const seqs = fast
        .of(FrameType.SUBBUF)
        .filter((f) => f.cpu === cpu)
        .map((f) => f.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i)); // 0..n-1, no hole, no repeat
      expect(fast.of(FrameType.GAP)).toEqual([]);
      // slow: what it got plus what GAPs announce covers the same seqs exactly once
      const got = slow
        .of(FrameType.SUBBUF)
        .filter((f) => f.cpu === cpu)
        .map((f) => f.seq);
      const gaps = slow.of(FrameType.GAP).filter((g) => g.cpu === cpu);
      const covered = [...got];
      for (const g of gaps) for (let s = g.firstSeq; s <= g.lastSeq; s++) covered.push(s);
      covered.sort((a, b) => a - b);
      expect(covered).toEqual(seqs.slice(0, covered.length));
      expect(gaps.length).toBeGreaterThan(0);
    }
    expect(slowData).toBeLessThanOrEqual(4);
    // memory bound: the slow client's queue never exceeded its window
    expect(maxQueued).toBeLessThanOrEqual(8);
    expect(q.queuedFrames).toBeLessThanOrEqual(8);
    expect(q.queuedBytes).toBeLessThanOrEqual(1 << 20);
  });

  it('a GAP is sent before the next slice the slow client accepts', async () => {
    const {sim, fan} = await setup({windowFrames: 2, cpus: 1});
    let fastId = 0;
    const fast = fastSink(fan, () => fastId);
    fastId = join(fan, fast, 4);
    const slow = new MemorySink();
    const slowId = join(fan, slow, 0);
    for (let i = 0; i < 500; i++) sim.writeMarker(0, `marker ${i} ${'y'.repeat(80)}`);
    await until(
      () => sim.buffers[0].unread() === 0 && fan.clientQueue(slowId)!.gapSlices > 0,
      5000,
      'gaps',
    );
    await sleep(50);
    fan.handleMessage(slowId, encodeCredit(1000, 1 << 30));
    for (let i = 0; i < 200; i++) sim.writeMarker(0, `later ${i} ${'z'.repeat(80)}`);
    await until(() => sim.buffers[0].unread() === 0, 5000, 'drain');
    await sleep(100);
    // Walk the slow client's stream: seqs must be consecutive once GAPs are taken into account.
    let next = 0;
    for (const f of slow.frames) {
      if (f.type === FrameType.GAP) {
        expect(f.firstSeq).toBe(next);
        next = f.lastSeq + 1;
      } else if (f.type === FrameType.SUBBUF) {
        expect(f.seq).toBe(next);
        next++;
      }
    }
    const fastSeqs = fast.of(FrameType.SUBBUF).map((f) => f.seq);
    expect(next).toBe(fastSeqs.length);
  });

  it('a late joiner gets HELLO and METADATA, then live data from the next read', async () => {
    const {sim, fan} = await setup();
    let firstId = 0;
    const first = fastSink(fan, () => firstId);
    firstId = join(fan, first, 8);
    for (let i = 0; i < 1000; i++) sim.writeMarker(0, `early ${i} ${'e'.repeat(40)}`);
    await until(() => sim.buffers[0].unread() === 0, 5000, 'first drained');
    const seen = first.of(FrameType.SUBBUF).length;
    const late = new MemorySink();
    join(fan, late, 100);
    await sleep(50);
    sim.writeMarker(0, 'late marker');
    await until(() => late.of(FrameType.SUBBUF).length > 0, 5000, 'late data');
    expect(late.frames[0].type).toBe(FrameType.HELLO);
    expect(late.frames[1].type).toBe(FrameType.METADATA);
    const sub = late.of(FrameType.SUBBUF)[0];
    expect(sub.seq).toBe(seen); // continues the stream; nothing from before it joined
    expect(late.of(FrameType.GAP)).toEqual([]);
  });

  it('includeSymbols: that client alone gets kallsyms; metadata-changed re-sends METADATA', async () => {
    const {sim, source, fan} = await setup();
    const plain = new MemorySink();
    join(fan, plain, 100);
    const sym = new MemorySink();
    const id = fan.addClient(sym);
    fan.handleMessage(id, encodeHelloAck({protocol: 1, includeSymbols: true}));
    fan.handleMessage(id, encodeCredit(100, 1 << 30));
    await until(() => sym.of(FrameType.METADATA).length === 1, 2000, 'symbols metadata');
    expect(sym.of(FrameType.METADATA)[0].metadata.kallsyms).toMatch(/tracing_mark_write/);
    expect(plain.of(FrameType.METADATA)[0].metadata.kallsyms).toBeUndefined();
    source.inject.push({kind: 'metadata-changed', message: 'formats changed'});
    sim.writeMarker(0, 'wake the reader');
    await until(
      () => plain.of(FrameType.METADATA).length === 2 && sym.of(FrameType.METADATA).length === 2,
      3000,
      'resent',
    );
    expect(plain.of(FrameType.METADATA).map((f) => f.metadata.generation)).toEqual([1, 2]);
    expect(sym.of(FrameType.METADATA)[1].metadata).toMatchObject({
      generation: 2,
      kallsyms: expect.any(String),
    });
    expect(plain.of(FrameType.NOTICE).map((n) => n.kind)).toContain('metadata-changed');
  });

  it('HELLO_ACK cpus: that client gets only those CPUs, the others get every CPU', async () => {
    const {sim, fan} = await setup({windowFrames: 4, cpus: 2});
    const all = new MemorySink();
    join(fan, all, 10_000);
    // cpu1 only, with a window of 4 frames and credits for 2: cpu0's many slices would overflow
    // it into GAPs if they were offered to it.
    const one = new MemorySink();
    const id = fan.addClient(one);
    fan.handleMessage(id, encodeHelloAck({protocol: 1, cpus: [1]}));
    fan.handleMessage(id, encodeCredit(2, 1 << 30));
    for (let i = 0; i < 600; i++) sim.writeMarker(0, `busy ${i} ${'b'.repeat(60)}`);
    sim.writeMarker(1, 'quiet');
    await until(() => sim.buffers.every((b) => b.unread() === 0), 5000, 'drain');
    await until(() => one.of(FrameType.SUBBUF).length > 0, 5000, 'cpu1 slice');
    await sleep(50);
    const cpusOf = (s: MemorySink, t: typeof FrameType.SUBBUF | typeof FrameType.META) =>
      new Set(s.of(t).map((f) => f.cpu));
    expect(cpusOf(one, FrameType.SUBBUF)).toEqual(new Set([1]));
    expect(cpusOf(one, FrameType.META)).toEqual(new Set([1]));
    expect(one.of(FrameType.GAP)).toEqual([]);
    expect(fan.clientQueue(id)!.gapSlices).toBe(0);
    expect(cpusOf(all, FrameType.SUBBUF)).toEqual(new Set([0, 1]));
    expect(all.of(FrameType.SUBBUF).filter((f) => f.cpu === 0).length).toBeGreaterThan(4);
    // A malformed list closes that client only.
    const bad = new MemorySink();
    const badId = fan.addClient(bad);
    fan.handleMessage(badId, encodeHelloAck({protocol: 1, cpus: [-1]} as never));
    expect(bad.closed?.code).toBe(1008);
    expect(bad.closed?.reason).toMatch(/'cpus' is not a list of CPU numbers/);
  });

  it('does not send above the socket high-water mark', async () => {
    const {sim, fan} = await setup();
    const sink = new MemorySink();
    sink.bufferedAmount = 2 << 20; // above the 1 MiB high-water mark
    const id = join(fan, sink, 100);
    for (let i = 0; i < 100; i++) sim.writeMarker(0, `m${i}`);
    await sleep(100);
    expect(sink.frames.length).toBe(0); // not even HELLO
    sink.bufferedAmount = 0;
    fan.clientQueue(id)!.pump();
    await until(() => sink.of(FrameType.SUBBUF).length > 0, 5000, 'slices');
  });

  it('CONTROL is answered with control-denied; garbage closes only that client', async () => {
    const {sim, fan} = await setup();
    const a = new MemorySink();
    const b = new MemorySink();
    const ia = join(fan, a, 1000);
    const ib = join(fan, b, 1000);
    fan.handleMessage(ia, encodeControl({action: 'clear'}));
    await until(() => a.of(FrameType.NOTICE).length > 0, 2000, 'notice');
    expect(a.of(FrameType.NOTICE)[0]).toMatchObject({kind: 'control-denied'});
    fan.handleMessage(ib, new Uint8Array([1, 2, 3]));
    expect(b.closed?.code).toBe(1008);
    expect(b.closed?.reason).toMatch(/bad frame/);
    expect(fan.clientCount).toBe(1);
    sim.writeMarker(0, 'after');
    await until(() => a.of(FrameType.SUBBUF).length > 0, 2000, 'a still served');
  });
});
