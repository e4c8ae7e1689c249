/**
 * META frames that find a client's window full: the newest one per CPU must still reach the
 * client once there is room. The source sends a meta page only when it changed, so when a CPU
 * goes quiet after a burst, a META dropped here was the client's last word on that CPU's kernel
 * loss: the reader loop then reported less loss than the instance's overrun (bench mix).
 */
import {describe, expect, it} from 'vitest';
import {FrameType, encodeMeta, encodeSubbuf, type MetaFrame} from '../../core/protocol.ts';
import {parseMetaPage} from '../../core/meta-page.ts';
import {ReaderLoop} from '../../worker/reader-loop.ts';
import {ClientQueue} from './client-queue.ts';
import {MemorySink} from './testing/spy-source.ts';

/** An 80-byte meta page (final layout, LP64) with the given counters. */
function metaPage(o: {overrun: number; entries: number; read: number; readerId?: number}) {
  const b = new Uint8Array(80);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 4096, true); // meta_page_size
  dv.setUint32(4, 80, true); // meta_struct_len
  dv.setUint32(8, 4096, true); // subbuf_size
  dv.setUint32(12, 8, true); // nr_subbufs
  dv.setUint32(24, o.readerId ?? 1, true); // reader.id
  dv.setBigUint64(40, BigInt(o.entries), true);
  dv.setBigUint64(48, BigInt(o.overrun), true);
  dv.setBigUint64(56, BigInt(o.read), true);
  return b;
}

const WINDOW = {windowFrames: 4, windowBytes: 1 << 20, highWaterBytes: 1000};

function slice(cpu: number, seq: number) {
  return encodeSubbuf(cpu, 1, seq, 0, new Uint8Array(64));
}

function offerMeta(q: ClientQueue, cpu: number, overrun: number) {
  const page = metaPage({overrun, entries: 1000 + overrun, read: 100});
  return q.offerMeta(encodeMeta(cpu, Date.now(), page), cpu, page);
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('ClientQueue: META frames and a full window', () => {
  it('the layout helper matches the real meta-page parser', () => {
    const m = parseMetaPage(metaPage({overrun: 7, entries: 9, read: 2}), true, 'test');
    expect([m.overrun, m.entries, m.read, m.layout]).toEqual([7, 9, 2, 'final']);
  });

  it('a META offered to a full window is sent once there is room, after the slices', async () => {
    const sink = new MemorySink();
    const q = new ClientQueue(sink, WINDOW);
    sink.bufferedAmount = 10_000; // socket congested: nothing leaves the queue
    q.grant(100, 1 << 20);
    for (let seq = 0; seq < 4; seq++) expect(q.offerSlice(slice(0, seq), 0, seq, 64)).toBe(true);
    expect(offerMeta(q, 0, 500)).toBe(false); // window full
    expect(q.metasDeferred).toBe(1);
    // The CPU goes quiet: no newer META will come. The socket drains.
    sink.bufferedAmount = 0;
    q.pump();
    await tick();
    await tick();
    const types = sink.frames.map((f) => f.type);
    expect(types).toEqual([...Array(4).fill(FrameType.SUBBUF), FrameType.META]);
    const meta = sink.frames[4] as MetaFrame;
    expect(parseMetaPage(meta.bytes, true, 'meta').overrun).toBe(500);
  });

  it('only the newest waiting META per CPU is sent, and an accepted newer one replaces it', async () => {
    const sink = new MemorySink();
    const q = new ClientQueue(sink, WINDOW);
    sink.bufferedAmount = 10_000;
    q.grant(100, 1 << 20);
    for (let seq = 0; seq < 4; seq++) q.offerSlice(slice(seq % 2, seq), seq % 2, seq, 64);
    offerMeta(q, 0, 100);
    offerMeta(q, 1, 200);
    offerMeta(q, 0, 300); // replaces cpu0's 100
    sink.bufferedAmount = 0;
    q.pump();
    await tick();
    await tick();
    const metas = sink
      .of(FrameType.META)
      .map((f) => [f.cpu, parseMetaPage(f.bytes, true, 'm').overrun])
      .sort((a, b) => a[0] - b[0]);
    expect(metas).toEqual([
      [0, 300],
      [1, 200],
    ]);
    // Once sent, the same page is not sent again.
    expect(offerMeta(q, 0, 300)).toBe(false);
    await tick();
    expect(sink.of(FrameType.META)).toHaveLength(2);
  });

  it('end to end with the reader loop: kernel loss equals the last overrun of a quiet CPU', async () => {
    const sink = new MemorySink();
    const q = new ClientQueue(sink, WINDOW);
    const loop = new ReaderLoop({events: () => {}});
    sink.onFrame = (f) => loop.handle(f);
    q.grant(1000, 1 << 30);
    // Burst 1 goes through; META says overrun 40.
    for (let seq = 0; seq < 2; seq++) q.offerSlice(slice(0, seq), 0, seq, 64);
    offerMeta(q, 0, 40);
    await tick();
    await tick();
    expect(loop.kernelLost(0)).toBe(40);
    // Burst 2 while the socket is congested fills the window; its META (overrun 650) waits.
    sink.bufferedAmount = 10_000;
    for (let seq = 2; seq < 6; seq++) q.offerSlice(slice(0, seq), 0, seq, 64);
    expect(offerMeta(q, 0, 650)).toBe(false);
    sink.bufferedAmount = 0;
    q.pump();
    for (let i = 0; i < 4; i++) await tick();
    expect(loop.kernelLost(0)).toBe(650);
  });
});
