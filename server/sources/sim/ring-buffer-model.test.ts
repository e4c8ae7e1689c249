import {describe, expect, it} from 'vitest';
import {parseMetaPage, unreadEvents} from '../../../core/meta-page.ts';
import {layoutFor} from '../../../core/page-layout.ts';
import {decodeSubbuf, EventColumns, readSubbufHeader} from '../../../core/subbuffer.ts';
import {CpuRingBuffer, eventLength, nrPagesForBufferKb} from './ring-buffer-model.ts';
import {Rng} from '../../../core/seeded-random.ts';

/** A payload that names itself: u32 sequence number, then its length, then filler. */
function payload(seq: number, len: number): Uint8Array {
  const p = new Uint8Array(len).fill(0x5a);
  const v = new DataView(p.buffer);
  v.setUint32(0, seq, true);
  if (len >= 8) v.setUint32(4, len, true);
  return p;
}

interface Drained {
  seqs: number[];
  ts: number[];
  lens: number[];
  /** Lost counts of the sub-buffers handed over (-1 = unknown, 0 = none). */
  lost: number[];
  overrunDeltas: number[];
}

/** Consumer loop of kernel-abi.md §2.7 on the model, decoding with core's decodeSubbuf. */
function drain(
  rb: CpuRingBuffer,
  out: Drained,
  state = {id: -1, pos: 0, overrun: 0},
): typeof state {
  const layout = layoutFor(rb.subbufSize);
  if (state.id < 0) state.id = parseMetaPage(rb.meta).readerId;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = rb.subbuf(state.id).slice();
    const header = readSubbufHeader(new DataView(page.buffer), 0, page.length, layout);
    if (header.size > state.pos) {
      const cols = new EventColumns();
      const r = decodeSubbuf(page, 0, page.length, layout, cols, {emitFrom: state.pos});
      expect(r.error).toBeUndefined();
      if (state.pos === 0) out.lost.push(header.lostEvents);
      const v = new DataView(page.buffer);
      for (let i = 0; i < cols.length; i++) {
        out.seqs.push(v.getUint32(cols.payloadOffset[i], true));
        out.ts.push(cols.tsNs[i]);
        out.lens.push(cols.payloadLen[i]);
      }
      state.pos = header.size;
    }
    const readBefore = parseMetaPage(rb.meta).readerRead;
    rb.getReader();
    const meta = parseMetaPage(rb.meta);
    if (meta.overrun !== state.overrun) out.overrunDeltas.push(meta.overrun - state.overrun);
    state.overrun = meta.overrun;
    if (meta.readerId !== state.id) {
      state.id = meta.readerId;
      state.pos = 0;
      continue;
    }
    // Same page: an ioctl that only marked the rest of it consumed did not swap yet; ask again.
    if (meta.readerRead !== readBefore) continue;
    return state;
  }
  throw new Error('consumer loop did not settle');
}

const empty = (): Drained => ({seqs: [], ts: [], lens: [], lost: [], overrunDeltas: []});

describe('record encoding', () => {
  it('sizes records like rb_calculate_event_length', () => {
    // [payload, total]: kernel-abi.md §3.3 examples and the 12→16 bump
    const cases: [number, number][] = [
      [0, 8],
      [1, 8],
      [4, 8],
      [5, 16],
      [8, 16],
      [9, 16],
      [12, 16],
      [13, 20],
      [20, 24],
      [112, 116],
      [113, 124],
      [118, 128],
      [124, 132],
      [218, 228],
    ];
    for (const [len, total] of cases) expect([len, eventLength(len)]).toEqual([len, total]);
  });

  it('computes nr_pages from buffer_size_kb like ring_buffer_resize', () => {
    expect(nrPagesForBufferKb(1410)).toBe(354);
    expect(nrPagesForBufferKb(8)).toBe(3);
    expect(nrPagesForBufferKb(1)).toBe(2);
    expect(nrPagesForBufferKb(16, 8192)).toBe(3);
  });
});

describe('CpuRingBuffer', () => {
  it('writes pages that core decodes back to the same payloads and timestamps', () => {
    const rb = new CpuRingBuffer({nrPages: 256});
    rb.map();
    const rng = new Rng(3);
    const written: {len: number; ts: number}[] = [];
    let ts = 5_000_000_000;
    for (let i = 0; i < 3000; i++) {
      const len = 4 + rng.int(300);
      // mostly small gaps, sometimes more than 2^27 ns (a time extend)
      ts += rng.next() < 0.02 ? 2 ** 27 + rng.int(2 ** 30) : rng.int(50_000);
      expect(rb.write(ts, payload(i, len))).toBe(true);
      written.push({len, ts});
    }
    const got = empty();
    drain(rb, got);
    expect(got.seqs).toEqual(written.map((_, i) => i));
    expect(got.ts).toEqual(written.map((w) => w.ts));
    // decoded payload length = the kernel's payload area (4-byte rounded; 5..8 bytes → 12)
    expect(got.lens).toEqual(written.map((w) => eventLength(w.len) - (w.len > 112 ? 8 : 4)));
    const meta = parseMetaPage(rb.meta);
    expect(meta.entries).toBe(3000);
    expect(meta.read).toBe(3000);
    expect(unreadEvents(meta)).toBe(0);
  });

  it('tracks entries - overrun - read = unread, and MISSED/STORED counts = Δoverrun per swap', () => {
    const rb = new CpuRingBuffer({nrPages: 4});
    rb.map();
    const got = empty();
    let state = drain(rb, got);
    let seq = 0;
    let ts = 1e9;
    for (let round = 0; round < 30; round++) {
      const n = 100 + ((round * 97) % 900);
      for (let i = 0; i < n; i++) rb.write((ts += 1000), payload(seq++, 24)); // 28-byte records
      const before = parseMetaPage(rb.meta); // stale until the next ioctl, like the kernel's
      expect(before.entries).toBeLessThanOrEqual(seq);
      state = drain(rb, got, state);
      const after = parseMetaPage(rb.meta);
      expect(after.entries).toBe(seq);
      expect(unreadEvents(after)).toBe(rb.unread());
      expect(unreadEvents(after)).toBe(0);
    }
    const meta = parseMetaPage(rb.meta);
    expect(meta.overrun).toBeGreaterThan(0);
    // exact loss accounting: received + overrun = written, and each gap is counted once
    expect(got.seqs.length + meta.overrun).toBe(seq);
    const stored = got.lost.filter((x) => x !== 0);
    expect(stored.every((x) => x > 0)).toBe(true); // 28-byte records leave room for the count
    expect(stored).toEqual(got.overrunDeltas);
    // in order, no duplicates
    for (let i = 1; i < got.seqs.length; i++) expect(got.seqs[i]).toBeGreaterThan(got.seqs[i - 1]);
  });

  it('sets MISSED_EVENTS sign-extended into the 8-byte commit word', () => {
    const rb = new CpuRingBuffer({nrPages: 3});
    rb.map();
    for (let i = 0; i < 1000; i++) rb.write(1e9 + i * 1000, payload(i, 24));
    rb.getReader();
    const id = parseMetaPage(rb.meta).readerId;
    const v = new DataView(rb.subbuf(id).buffer);
    expect(v.getUint32(12, true)).toBe(0xffffffff);
    expect(v.getUint32(8, true) >>> 30).toBe(3); // EVENTS | STORED
  });

  it('drops instead of overwriting in non-overwrite mode, with no missed flags', () => {
    const rb = new CpuRingBuffer({nrPages: 3, overwrite: false});
    rb.map();
    let ok = 0;
    for (let i = 0; i < 1000; i++) if (rb.write(1e9 + i, payload(i, 24))) ok++;
    expect(ok + rb.dropped).toBe(1000);
    const got = empty();
    drain(rb, got);
    expect(got.seqs).toEqual(Array.from({length: ok}, (_, i) => i));
    expect(got.lost.every((x) => x === 0)).toBe(true);
    expect(parseMetaPage(rb.meta).overrun).toBe(0);
  });

  it('writes absolute TIME_STAMP records when asked', () => {
    const rb = new CpuRingBuffer({nrPages: 8, absoluteTimestamps: true});
    rb.map();
    const tss = [1e9, 1e9 + 5, 3e9, 3e9 + 2 ** 28, 7e12];
    tss.forEach((t, i) => rb.write(t, payload(i, 16)));
    const got = empty();
    drain(rb, got);
    expect(got.ts).toEqual(tss);
    const page = rb.subbuf(parseMetaPage(rb.meta).readerId);
    expect(page[16] & 31).toBe(31);
  });

  it('resets like rb_reset_cpu: counters and reader.read to 0, id kept, every commit 0', () => {
    const rb = new CpuRingBuffer({nrPages: 5});
    rb.map();
    for (let i = 0; i < 400; i++) rb.write(1e9 + i, payload(i, 40));
    rb.getReader();
    const before = parseMetaPage(rb.meta);
    rb.reset();
    const after = parseMetaPage(rb.meta);
    expect(after.readerId).toBe(before.readerId);
    expect([after.entries, after.overrun, after.read, after.readerRead]).toEqual([0, 0, 0, 0]);
    for (let id = 0; id < 6; id++)
      expect(new DataView(rb.subbuf(id).buffer).getUint32(8, true)).toBe(0);
    rb.write(2e9, payload(7, 16));
    const got = empty();
    drain(rb, got);
    expect(got.seqs).toEqual([7]);
  });

  it('refuses GET_READER before map and resize while mapped', () => {
    const rb = new CpuRingBuffer({nrPages: 4});
    expect(() => rb.getReader()).toThrow(/ENODEV/);
    rb.map();
    expect(() => rb.resize(8)).toThrow(/EBUSY/);
  });

  it('grows and shrinks an unmapped ring', () => {
    const rb = new CpuRingBuffer({nrPages: 10});
    rb.resize(3);
    expect(rb.nrPages).toBe(3);
    rb.resize(6);
    expect(rb.nrPages).toBe(6);
    rb.map();
    for (let i = 0; i < 2000; i++) rb.write(1e9 + i, payload(i, 24));
    const got = empty();
    drain(rb, got);
    expect(got.seqs.length + parseMetaPage(rb.meta).overrun).toBe(2000);
  });

  it('handles 1 MiB sub-buffers and records up to the maximum size', () => {
    const rb = new CpuRingBuffer({nrPages: 2, subbufSize: 1 << 20});
    rb.map();
    const big = (1 << 20) - 16 - 8;
    expect(rb.write(1e9, payload(1, big + 1))).toBe(false);
    expect(rb.write(1e9, payload(1, big))).toBe(true);
    expect(rb.write(1e9 + 1, payload(2, 100))).toBe(true);
    const got = empty();
    drain(rb, got);
    expect(got.seqs).toEqual([1, 2]);
  });
});
