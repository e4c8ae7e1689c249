import {describe, expect, it} from 'vitest';
import {DecodeError} from './errors.ts';
import {FrameReader} from './framing.ts';
import {decodeFrame} from './protocol-decode.ts';
import {encodeCredit, encodeGap, encodeMeta, encodeNotice, encodeSubbuf} from './protocol.ts';
import {seededRandom as rng} from './seeded-random.ts';

function stream(seed: number, n: number): Uint8Array[] {
  const r = rng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.floor(r() * 5);
    if (k === 0) {
      const b = Uint8Array.from({length: Math.floor(r() * 5000)}, () => Math.floor(r() * 256));
      out.push(encodeSubbuf(i % 4, i % 13, i, 0, b));
    } else if (k === 1) out.push(encodeMeta(i % 4, i, new Uint8Array(80).fill(i & 255)));
    else if (k === 2)
      out.push(encodeGap({cpu: 1, reason: 1, firstSeq: i, lastSeq: i + 2, slices: 3, bytes: i}));
    else if (k === 3) out.push(encodeNotice('error', -1, `notice ${i}`));
    else out.push(encodeCredit(i, i * 2));
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

function replay(all: Uint8Array, cut: (left: number) => number): Uint8Array[] {
  const fr = new FrameReader();
  const got: Uint8Array[] = [];
  for (let at = 0; at < all.length;) {
    const n = Math.min(all.length - at, Math.max(1, cut(all.length - at)));
    fr.append(all.slice(at, at + n));
    at += n;
    for (let m = fr.readMessage(); m; m = fr.readMessage()) got.push(m);
  }
  expect(fr.pendingBytes).toBe(0);
  return got;
}

describe('FrameReader', () => {
  const frames = stream(7, 400);
  const all = concat(frames);
  const want = frames.map((f) => Array.from(f));

  it('fast path: one whole message per chunk is returned without a copy', () => {
    const fr = new FrameReader();
    for (const f of frames.slice(0, 20)) {
      fr.append(f);
      expect(fr.readMessage()).toBe(f);
      expect(fr.readMessage()).toBeUndefined();
    }
  });

  it.each([1, 3, 8, 13, 64, 4096, 65536, 1 << 22])(
    'fixed chunk size %i gives identical frames',
    (size) => {
      const got = replay(all, () => size);
      expect(got.map((g) => Array.from(g))).toEqual(want);
    },
  );

  it('seeded random split/merge replays give identical frames', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = rng(seed);
      const got = replay(all, (left) => Math.floor(r() * Math.min(left, 20000)) + 1);
      expect(got.length).toBe(frames.length);
      expect(got.map((g) => Array.from(g))).toEqual(want);
      // and every one decodes
      for (const g of got) decodeFrame(g);
    }
  });

  it('a chunk of several whole frames gives views of it (no copy), in order', () => {
    const parts = frames.slice(0, 50);
    const msg = concat(parts);
    const fr = new FrameReader();
    fr.append(msg);
    const got: Uint8Array[] = [];
    for (let m = fr.readMessage(); m; m = fr.readMessage()) got.push(m);
    expect(got.map((g) => Array.from(g))).toEqual(parts.map((f) => Array.from(f)));
    for (const g of got) expect(g.buffer).toBe(msg.buffer);
    expect(fr.pendingBytes).toBe(0);
  });

  it('only a frame split across chunks is copied; the frames after it stay views', () => {
    const parts = frames.slice(0, 30);
    const all2 = concat(parts);
    const cut = parts[0].length + 5; // inside the second frame
    const c1 = all2.slice(0, cut);
    const c2 = all2.slice(cut);
    const fr = new FrameReader();
    fr.append(c1);
    fr.append(c2);
    const got: Uint8Array[] = [];
    for (let m = fr.readMessage(); m; m = fr.readMessage()) got.push(m);
    expect(got.map((g) => Array.from(g))).toEqual(parts.map((f) => Array.from(f)));
    expect(got[0].buffer).toBe(c1.buffer);
    expect(got[1].buffer).not.toBe(c1.buffer);
    expect(got[1].buffer).not.toBe(c2.buffer);
    for (const g of got.slice(2)) expect(g.buffer).toBe(c2.buffer);
  });

  it('mixes fast-path and buffered chunks in order', () => {
    const fr = new FrameReader();
    const [a, b, c] = frames;
    fr.append(a); // whole
    fr.append(b.subarray(0, 5)); // partial
    fr.append(b.subarray(5)); // rest
    fr.append(c); // buffer now empty again? no: b is still unread
    expect(fr.readMessage()).toBe(a);
    expect(Array.from(fr.readMessage()!)).toEqual(Array.from(b));
    expect(Array.from(fr.readMessage()!)).toEqual(Array.from(c));
    expect(fr.readMessage()).toBeUndefined();
  });

  it('a bad header poisons the stream with its stream offset', () => {
    const fr = new FrameReader();
    const bad = frames[1].slice();
    bad[0] = 99;
    fr.append(concat([frames[0], bad]));
    expect(fr.readMessage()).toBeDefined();
    let err: unknown;
    try {
      fr.readMessage();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).offset).toBe(frames[0].length);
    expect(() => fr.append(frames[2])).toThrow(DecodeError);
  });

  it('rejects an oversized declared length before buffering it', () => {
    const fr = new FrameReader(1024);
    const f = encodeSubbuf(0, 0, 0, 0, new Uint8Array(2000));
    fr.append(f.subarray(0, 100));
    expect(() => fr.readMessage()).toThrow(/multiple of 8 in 8\.\.1024/);
  });
});
