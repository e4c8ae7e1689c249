import {describe, expect, it} from 'vitest';
import {AnswerBuffers, MAX_POOLED, MIN_POOLED_BYTES, sliceColumns} from './answer-buffers.ts';

const f64 = (n: number, k = 1) => Float64Array.from({length: n}, (_, i) => i * k + 0.5);
const i32 = (n: number) => Int32Array.from({length: n}, (_, i) => -i);
const u32 = (n: number) => Uint32Array.from({length: n}, (_, i) => i * 3);

describe('AnswerBuffers', () => {
  it('writes one answer into one buffer: the same values as fresh arrays, 8-byte aligned', () => {
    const pool = new AnswerBuffers();
    const w = pool.writer();
    // Scratch columns are longer than the answer: only the first n values are copied.
    const a = w.f64(f64(100), 7);
    const b = w.i32(i32(100), 3);
    const c = w.u32(u32(100), 5);
    const d = w.f64(f64(100, 2), 0);
    w.done();
    expect(Array.from(a)).toEqual(Array.from(sliceColumns.f64(f64(100), 7)));
    expect(Array.from(b)).toEqual(Array.from(sliceColumns.i32(i32(100), 3)));
    expect(Array.from(c)).toEqual(Array.from(sliceColumns.u32(u32(100), 5)));
    expect(d.length).toBe(0);
    for (const v of [a, b, c, d]) {
      expect(v.buffer).toBe(w.buffer);
      expect(v.byteOffset % 8).toBe(0);
    }
    // No overlap: each column starts past the previous one's end.
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + a.byteLength);
    expect(c.byteOffset).toBeGreaterThanOrEqual(b.byteOffset + b.byteLength);
  });

  it('takes a buffer handed back for the next answer instead of new memory', () => {
    const pool = new AnswerBuffers();
    const w1 = pool.writer();
    w1.f64(f64(10), 10);
    w1.done();
    expect(pool.made).toBe(1);
    pool.recycle([w1.buffer]);
    const w2 = pool.writer();
    expect(w2.buffer).toBe(w1.buffer);
    expect(pool.reused).toBe(1);
    expect(pool.pooled).toBe(0);
    // Handed out again only after it comes back.
    expect(pool.writer().buffer).not.toBe(w1.buffer);
  });

  it('gives an answer that outgrows its buffer fresh arrays, and the next a big enough one', () => {
    const pool = new AnswerBuffers();
    const w1 = pool.writer();
    const n = (w1.buffer.byteLength / 8) * 2; // twice what fits
    const big = w1.f64(f64(n), n);
    const small = w1.i32(i32(4), 4);
    w1.done();
    expect(big.buffer).not.toBe(w1.buffer);
    expect(big[n - 1]).toBe(n - 1 + 0.5);
    expect(small.buffer).toBe(w1.buffer); // what still fits goes in
    pool.recycle([w1.buffer]); // too small for the answers now: passed over
    const w2 = pool.writer();
    expect(w2.buffer).not.toBe(w1.buffer);
    expect(w2.buffer.byteLength).toBeGreaterThanOrEqual(n * 8 + 16);
    expect(w2.f64(f64(n), n).buffer).toBe(w2.buffer);
  });

  it('lets go of detached, small and surplus buffers', () => {
    const pool = new AnswerBuffers();
    const detached = new ArrayBuffer(MIN_POOLED_BYTES);
    structuredClone(detached, {transfer: [detached]});
    expect(detached.byteLength).toBe(0);
    pool.recycle([detached, new ArrayBuffer(1024)]);
    expect(pool.pooled).toBe(0);
    const many = Array.from(
      {length: MAX_POOLED + 4},
      (_, i) => new ArrayBuffer(MIN_POOLED_BYTES * (i + 1)),
    );
    pool.recycle([...many, many[0]]);
    expect(pool.pooled).toBe(MAX_POOLED);
    // The biggest are kept, and a writer takes the smallest that fits.
    expect(pool.writer().buffer).toBe(many[4]);
  });
});
