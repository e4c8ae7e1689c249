import {describe, expect, it} from 'vitest';
import {FrameReader} from '../core/framing.ts';
import {seededRandom} from '../core/seeded-random.ts';
import {decodeServerFrame} from '../core/protocol-decode.ts';
import {
  FrameType,
  GapReason,
  bytesToHex,
  encodeCaughtUp,
  encodeGap,
  encodeHello,
  encodeMeta,
  encodeNotice,
  encodeSubbuf,
} from '../core/protocol.ts';
import {X86_64_4K} from '../core/page-layout.ts';
import {buildSubbuf, payload} from '../core/testing/page-builder.ts';
import {ReaderLoop} from './reader-loop.ts';
import {simFrames} from './testing/sim-frames.ts';

/** A sim source plus everything needed to turn its reads into server frames. */
async function scenario(opts: {cpus?: number; bufferKb?: number; session?: string} = {}) {
  const {sim, hello, opening, drain} = await simFrames(opts);
  return {sim, hello, frames: opening, drain};
}

/** Reader loop that collects marker texts per CPU. */
function collector() {
  const texts = new Map<number, string[]>();
  const td = new TextDecoder();
  const errors: Error[] = [];
  const loop = new ReaderLoop({
    events(cpu, bytes, cols, start, count) {
      const list = texts.get(cpu) ?? [];
      texts.set(cpu, list);
      for (let i = start; i < start + count; i++) {
        const off = cols.payloadOffset[i] + 16;
        let end = off;
        while (end < cols.payloadOffset[i] + cols.payloadLen[i] && bytes[end] !== 0) end++;
        list.push(td.decode(bytes.subarray(off, end)).replace(/\n$/, ''));
      }
    },
    error: (_cpu, e) => errors.push(e),
  });
  const feed = (frames: Uint8Array[]) => frames.forEach((f) => loop.handle(decodeServerFrame(f)));
  return {loop, texts, errors, feed};
}

const marker = (cpu: number, i: number) => `c${cpu}-m${String(i).padStart(6, '0')}`;

describe('reader loop', () => {
  it('every event exactly once and in order, no loss, ring model followed', async () => {
    const {sim, frames, drain} = await scenario();
    const c = collector();
    c.feed(frames);
    const written: string[][] = [[], []];
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 137; i++) {
        const cpu = (i * 7 + round) % 2;
        const t = marker(cpu, written[cpu].length);
        sim.writeMarker(cpu, t);
        written[cpu].push(t);
      }
      c.feed(drain((round % 5) + 1));
    }
    for (const cpu of [0, 1]) {
      expect(c.texts.get(cpu)).toEqual(written[cpu]);
      const l = c.loop.loss(cpu);
      expect(l).toMatchObject({
        overrunEvents: 0,
        missedStoredEvents: 0,
        skippedSubbufsDerived: 0,
        ringModelValid: true,
        gapSlices: 0,
        unexplainedSlices: 0,
        duplicateSlices: 0,
        decodeErrors: 0,
      });
      expect(l.events).toBe(written[cpu].length);
    }
    expect(c.errors).toEqual([]);
  });

  it('overwrite: received + kernel loss = written; MISSED counts, Δoverrun and skipped sub-buffers agree', async () => {
    const {sim, frames, drain} = await scenario({cpus: 1, bufferKb: 16});
    const c = collector();
    c.feed(frames);
    let written = 0;
    for (let round = 0; round < 6; round++) {
      // Several laps of a 5-page ring between two reads.
      for (let i = 0; i < 2000 + round * 300; i++) sim.writeMarker(0, marker(0, written++));
      c.feed(drain(3));
    }
    const l = c.loop.loss(0);
    const got = c.texts.get(0)!;
    const rb = sim.buffers[0];
    expect(rb.overrun).toBeGreaterThan(0);
    expect(l.overrunEvents).toBe(rb.overrun);
    expect(got.length + c.loop.kernelLost(0)).toBe(written);
    // A swap stores the count unless the new reader page is the writer's page (kernel-abi §2.2).
    expect(l.missedStoredEvents).toBeGreaterThan(0);
    expect(l.missedStoredEvents).toBeLessThanOrEqual(rb.overrun);
    // what arrived is in order and a subset of what was written
    const idx = got.map((t) => Number(t.slice(4)));
    expect(idx.every((v, i) => i === 0 || v > idx[i - 1])).toBe(true);
    // derived: every lost event sat on a skipped (whole) sub-buffer of equal-size records
    const perPage = Math.floor(4080 / 32);
    expect(l.ringModelValid).toBe(true);
    expect(l.skippedSubbufsDerived).toBeGreaterThan(0);
    // the ring model cannot see whole extra laps (kernel-abi §2.6), so it may count fewer
    expect(l.skippedSubbufsDerived * perPage).toBeLessThanOrEqual(rb.overrun);
  });

  it('skipped sub-buffers: exact when the writer laps less than once', async () => {
    const {sim, frames, drain} = await scenario({cpus: 1, bufferKb: 40}); // 11 data pages
    const c = collector();
    c.feed(frames);
    // marker records: 4-byte header + 16 (common + ip) + 10 text + "\n\0" → 32 bytes
    const perPage = Math.floor(4080 / 32);
    let written = 0;
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < perPage * (12 + (round % 3)); i++)
        sim.writeMarker(0, marker(0, written++));
      c.feed(drain(4));
    }
    const l = c.loop.loss(0);
    expect(l.overrunEvents).toBe(sim.buffers[0].overrun);
    expect(l.skippedSubbufsDerived * perPage).toBe(l.overrunEvents);
    expect(c.texts.get(0)!.length + l.overrunEvents).toBe(written);
  });

  it('reset: counted once, later events all arrive', async () => {
    const {sim, frames, drain} = await scenario({cpus: 1});
    const c = collector();
    c.feed(frames);
    for (let i = 0; i < 300; i++) sim.writeMarker(0, marker(0, i));
    c.feed(drain());
    for (let i = 300; i < 330; i++) sim.writeMarker(0, marker(0, i)); // these are wiped
    sim.resetBuffers();
    for (let i = 330; i < 700; i++) sim.writeMarker(0, marker(0, i));
    c.feed(drain());
    const got = c.texts.get(0)!;
    expect(got.slice(0, 300)).toEqual(Array.from({length: 300}, (_, i) => marker(0, i)));
    expect(got.slice(300)).toEqual(Array.from({length: 370}, (_, i) => marker(0, 330 + i)));
    const l = c.loop.loss(0);
    expect(l.resets).toBe(1);
    expect(l.unexplainedSlices).toBe(0);
    expect(c.errors).toEqual([]);
  });

  it('same result whatever the frame boundaries', async () => {
    const {sim, frames, drain} = await scenario({cpus: 2, bufferKb: 16});
    let all = [...frames];
    for (let r = 0; r < 5; r++) {
      for (let i = 0; i < 500; i++) sim.writeMarker(i % 2, marker(i % 2, r * 500 + i));
      all = all.concat(drain(r + 1));
    }
    const ref = collector();
    ref.feed(all);
    const stream = new Uint8Array(all.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of all) {
      stream.set(f, at);
      at += f.length;
    }
    for (let seed = 1; seed <= 8; seed++) {
      const rnd = seededRandom(seed);
      const fr = new FrameReader();
      const c = collector();
      for (let p = 0; p < stream.length;) {
        const n = 1 + Math.floor(rnd() * (seed < 4 ? 64 : 9000));
        fr.append(stream.slice(p, p + n));
        p += n;
        for (let m = fr.readMessage(); m; m = fr.readMessage()) c.loop.handle(decodeServerFrame(m));
      }
      expect([...c.texts.entries()]).toEqual([...ref.texts.entries()]);
      for (const cpu of [0, 1]) expect(c.loop.loss(cpu)).toEqual(ref.loop.loss(cpu));
    }
  });

  it('delivery gaps: announced by GAP, or counted as unexplained; kept apart from kernel loss', async () => {
    const {sim, frames, drain} = await scenario({cpus: 1});
    for (let i = 0; i < 2000; i++) sim.writeMarker(0, marker(0, i));
    const data = drain(2);
    const subbufs = data.map((f) => decodeServerFrame(f)).filter((f) => f.type === 3);
    expect(subbufs.length).toBeGreaterThan(10);
    const dropFrom = subbufs[3];
    const dropTo = subbufs[6];
    if (dropFrom.type !== 3 || dropTo.type !== 3) throw new Error('type');
    const dropped = data.filter((f) => {
      const d = decodeServerFrame(f);
      return d.type === 3 && d.seq >= dropFrom.seq && d.seq <= dropTo.seq;
    });
    const kept = data.filter((f) => !dropped.includes(f));
    const bytes = dropped.reduce(
      (n, f) => n + (decodeServerFrame(f) as {bytes: Uint8Array}).bytes.length,
      0,
    );
    const gap = encodeGap({
      cpu: 0,
      reason: GapReason.SLOW_CLIENT,
      firstSeq: dropFrom.seq,
      lastSeq: dropTo.seq,
      slices: 4,
      bytes,
    });
    const at = data.indexOf(dropped[0]);

    const withGap = collector();
    withGap.feed([...frames, ...kept.slice(0, at), gap, ...kept.slice(at)]);
    const l = withGap.loop.loss(0);
    expect(l).toMatchObject({
      gapSlices: 4,
      gapFrames: 1,
      gapBytes: bytes,
      unexplainedSlices: 0,
      overrunEvents: 0,
    });
    expect(l.ringModelValid).toBe(false); // swaps were in the dropped slices

    const silent = collector();
    silent.feed([...frames, ...kept]);
    expect(silent.loop.loss(0)).toMatchObject({gapSlices: 0, unexplainedSlices: 4});
    expect(silent.texts.get(0)!.length).toBe(withGap.texts.get(0)!.length);
  });

  it('reconnect to the same session counts slices missed while disconnected', async () => {
    const {sim, frames, drain} = await scenario({cpus: 1});
    const c = collector();
    c.feed(frames);
    for (let i = 0; i < 500; i++) sim.writeMarker(0, marker(0, i));
    c.feed(drain());
    for (let i = 500; i < 1500; i++) sim.writeMarker(0, marker(0, i));
    const missed = drain().filter((f) => decodeServerFrame(f).type === 3).length; // someone else read these
    for (let i = 1500; i < 1600; i++) sim.writeMarker(0, marker(0, i));
    c.feed(frames); // HELLO + METADATA again, same session
    c.feed(drain());
    const l = c.loop.loss(0);
    expect(l.disconnectedSlices).toBe(missed);
    expect(l.unexplainedSlices).toBe(0);
    expect(c.texts.get(0)!.slice(-100)).toEqual(
      Array.from({length: 100}, (_, i) => marker(0, 1500 + i)),
    );
    // a different session starts from scratch
    const {frames: other} = await scenario({cpus: 1, session: 's2'});
    c.feed(other);
    expect(c.loop.loss(0).events).toBe(0);
  });

  it('read source (no ids, no META): MISSED flags give the kernel loss; bad pages are counted', async () => {
    const {frames} = await scenario({cpus: 1});
    const hello = decodeServerFrame(frames[0]);
    if (hello.type !== 1) throw new Error('type');
    const readHello = encodeHello({...hello.hello, source: 'read', nrSubbufs: 0, sessionId: 'r'});
    const ev = (pid: number) => ({
      kind: 'data' as const,
      delta: 10,
      payload: payload(5, pid, new Array(16).fill(65)),
    });
    const pages = [
      buildSubbuf(X86_64_4K, [ev(1), ev(2)], {timestamp: 1000}),
      buildSubbuf(X86_64_4K, [ev(3)], {timestamp: 2000, storedLost: 62}),
      buildSubbuf(X86_64_4K, [ev(4), ev(5)], {timestamp: 3000, missedEvents: true}),
    ];
    const bad = pages[0].slice(0, 100);
    new DataView(bad.buffer).setUint32(8, 4000, true); // commit past the bytes given
    const c = collector();
    const lost: number[] = [];
    const loop = new ReaderLoop({
      events: (_cpu, _b, _cols, _s, count, lostBefore) => lost.push(lostBefore, count),
      error: () => {},
    });
    const all = [
      readHello,
      frames[1],
      ...pages.map((p, i) => encodeSubbuf(0, -1, i, 0, p)),
      encodeSubbuf(0, -1, 3, 0, bad),
    ];
    c.feed(all);
    all.forEach((f) => loop.handle(decodeServerFrame(f)));
    expect(lost).toEqual([0, 2, 62, 1, -1, 2]);
    const l = c.loop.loss(0);
    expect(l).toMatchObject({
      events: 5,
      missedStoredEvents: 62,
      missedUnknownSubbufs: 1,
      decodeErrors: 1,
      ringModelValid: false,
    });
    expect(c.loop.kernelLost(0)).toBe(62);
    expect(c.errors).toHaveLength(1);
  });
});

describe('overrun baseline from HELLO (attach mode)', () => {
  /** A real meta page of the sim with `overrun` patched in (LP64 final layout: @48). */
  async function parts() {
    const {sim, hello, frames, drain} = await scenario({cpus: 1});
    sim.writeMarker(0, 'x');
    const out = drain();
    const sub = out.find((f) => decodeServerFrame(f).type === FrameType.SUBBUF)!;
    const metaFrame = decodeServerFrame(
      out.find((f) => decodeServerFrame(f).type === FrameType.META)!,
    );
    if (metaFrame.type !== FrameType.META) throw new Error('meta');
    const meta = (overrun: number) => {
      const b = metaFrame.bytes.slice();
      new DataView(b.buffer).setBigUint64(48, BigInt(overrun), true);
      return b;
    };
    const helloWith = (baseOverrun?: number) =>
      encodeHello({
        ...hello,
        ...(baseOverrun !== undefined
          ? {baselineMetas: [{cpu: 0, timeMs: 1, hex: bytesToHex(meta(baseOverrun))}]}
          : {}),
      });
    const subAt = (seq: number) => {
      const f = decodeServerFrame(sub);
      if (f.type !== FrameType.SUBBUF) throw new Error('sub');
      return encodeSubbuf(0, f.subbufId, seq, f.from, f.bytes);
    };
    return {metadata: frames[1], meta: (o: number) => encodeMeta(0, 2, meta(o)), helloWith, subAt};
  }

  it('from seq 0: overrun up to the baseline is history, later overrun is counted exactly', async () => {
    const p = await parts();
    const c = collector();
    c.feed([p.helloWith(500), p.metadata, p.subAt(0), p.meta(500)]);
    expect(c.loop.kernelLost(0)).toBe(0);
    expect(c.loop.loss(0).overrunBeforeSession).toBe(500);
    c.feed([p.subAt(1), p.meta(620)]);
    expect(c.loop.kernelLost(0)).toBe(120);
    expect(c.errors).toEqual([]);
  });

  it('without a baseline a stream from seq 0 still counts from 0 (own instance: empty at open)', async () => {
    const p = await parts();
    const c = collector();
    c.feed([p.helloWith(), p.metadata, p.subAt(0), p.meta(500)]);
    expect(c.loop.kernelLost(0)).toBe(500);
    expect(c.loop.loss(0).overrunBeforeSession).toBe(-1);
  });

  it('a META before the first slice: the overrun since the baseline still counts', async () => {
    const p = await parts();
    const c = collector();
    c.feed([p.helloWith(500), p.metadata, p.meta(530), p.subAt(0), p.meta(530)]);
    expect(c.loop.kernelLost(0)).toBe(30);
    c.feed([p.subAt(1), p.meta(540)]);
    expect(c.loop.kernelLost(0)).toBe(40);
  });

  it('a late joiner starts from its first META, whatever the baseline', async () => {
    const p = await parts();
    const c = collector();
    c.feed([p.helloWith(500), p.metadata, p.subAt(5), p.meta(700)]);
    expect(c.loop.kernelLost(0)).toBe(0);
    c.feed([p.subAt(6), p.meta(710)]);
    expect(c.loop.kernelLost(0)).toBe(10);
  });

  it('a baseline that is not a meta page is a decode error, not a crash', async () => {
    const p = await parts();
    const c = collector();
    const h = decodeServerFrame(p.helloWith(500));
    if (h.type !== FrameType.HELLO) throw new Error('hello');
    c.loop.handle({...h, hello: {...h.hello, baselineMetas: [{cpu: 0, timeMs: 1, hex: '00ff'}]}});
    c.feed([p.metadata, p.subAt(0), p.meta(500)]);
    expect(c.loop.loss(0).decodeErrors).toBe(1);
    expect(c.loop.kernelLost(0)).toBe(500); // falls back to counting from 0
  });
});

describe('notices and CAUGHT_UP reach the handlers', () => {
  it('every NOTICE goes to notice(), CAUGHT_UP to caughtUp()', () => {
    const notices: string[] = [];
    const caught: number[][] = [];
    const loop = new ReaderLoop({
      events: () => {},
      notice: (n) => notices.push(`${n.kind}/${n.cpu}/${n.message}`),
      caughtUp: (cpus) => caught.push(cpus),
    });
    for (const f of [
      encodeNotice('reset', 1, 'cpu1 reset'),
      encodeNotice('tracing-off', -1, 'off'),
      encodeNotice('instance-gone', -1, 'gone'),
      encodeNotice('error', 0, 'bad'),
      encodeNotice('control-ok', -1, '#c1 clear: done'),
      encodeCaughtUp([0, 1]),
    ])
      loop.handle(decodeServerFrame(f));
    expect(notices).toEqual([
      'reset/1/cpu1 reset',
      'tracing-off/-1/off',
      'instance-gone/-1/gone',
      'error/0/bad',
      'control-ok/-1/#c1 clear: done',
    ]);
    expect(caught).toEqual([[0, 1]]);
  });
});
