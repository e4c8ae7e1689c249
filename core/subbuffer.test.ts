import {readFileSync} from 'node:fs';
import {describe, expect, it} from 'vitest';
import {DecodeError} from './errors.ts';
import {X86_64_4K, layoutFor, pageLayoutFromHeaderPage, type PageLayout} from './page-layout.ts';
import {EventColumns, decodeSubbuf} from './subbuffer.ts';
import {buildSubbuf, payload, type BuiltRecord} from './testing/page-builder.ts';

const CAPTURES = new URL('./testing/fixtures/captures/', import.meta.url);

/** Checksums from captures/README.md, agreed on by three independent decoders. */
const CHECKSUMS: [string, number, number, number][] = [
  ['mixed-cpu0.raw', 43924, 0x607c44f0, 1166564571],
  ['mixed-cpu1.raw', 43756, 0x1b8399aa, 1220904626],
  ['markers-cpu1.raw', 39912, 0x3b132f0f, 1131505200],
  ['sparse-cpu0.raw', 2438, 0xb561cbb1, 22009506],
  ['sparse-cpu1.raw', 1167, 0x3efd9f1b, 10043672],
];

function decodeFile(bytes: Uint8Array, layout: PageLayout) {
  const cols = new EventColumns();
  const size = layout.dataOffset + layout.dataSize;
  const errors: DecodeError[] = [];
  for (let base = 0; base < bytes.length; base += size) {
    const r = decodeSubbuf(bytes, base, size, layout, cols);
    if (r.error) errors.push(r.error);
  }
  return {cols, errors};
}

describe('decodeSubbuf on real captures', () => {
  const headerPage = readFileSync(new URL('header_page', CAPTURES), 'utf8');
  const layout = pageLayoutFromHeaderPage(headerPage);

  it('reads the layout from header_page', () => {
    expect(layout).toEqual(X86_64_4K);
  });

  it.each(CHECKSUMS)('%s: events, timestamp xor and pid sum match', (file, events, txor, psum) => {
    const bytes = new Uint8Array(readFileSync(new URL(file, CAPTURES)));
    const {cols, errors} = decodeFile(bytes, layout);
    expect(errors).toEqual([]);
    expect(cols.length).toBe(events);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    let x = 0;
    let p = 0;
    for (let i = 0; i < cols.length; i++) {
      x ^= cols.tsNs[i] % 2 ** 32;
      p += view.getInt32(cols.payloadOffset[i] + 4, true);
    }
    expect(x >>> 0).toBe(txor);
    expect(p).toBe(psum);
  });

  it('marker ids come out in order, each once, with their payload', () => {
    const bytes = new Uint8Array(readFileSync(new URL('markers-cpu1.raw', CAPTURES)));
    const {cols} = decodeFile(bytes, layout);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    for (let i = 0; i < cols.length; i++) {
      const off = cols.payloadOffset[i];
      // ftrace:raw_data: common fields (8), then the marker: its first 4 bytes are the `id`
      // field (the sequence number), then buf[] holds 8 x 0xab.
      expect(view.getUint32(off + 8, true)).toBe(i);
      expect(bytes[off + 12]).toBe(0xab);
      expect(cols.payloadLen[i]).toBe(20);
      if (i > 0) expect(cols.tsNs[i]).toBeGreaterThanOrEqual(cols.tsNs[i - 1]);
    }
  });

  it('gives the same events whatever offset the walk starts emitting from', () => {
    const bytes = new Uint8Array(readFileSync(new URL('sparse-cpu0.raw', CAPTURES)));
    const full = new EventColumns();
    decodeSubbuf(bytes, 0, 4096, layout, full);
    for (let k = 0; k < full.length; k++) {
      const from = full.payloadOffset[k] - 16 - 4; // record start, data-relative (small record)
      const part = new EventColumns();
      decodeSubbuf(bytes, 0, 4096, layout, part, {emitFrom: from});
      expect(part.length).toBe(full.length - k);
      expect(part.tsNs[0]).toBe(full.tsNs[k]);
      if (k > 40) break;
    }
  });

  it('reports the missed-events flag of a wrapped buffer', () => {
    const bytes = new Uint8Array(readFileSync(new URL('mixed-cpu0.raw', CAPTURES)));
    const r = decodeSubbuf(bytes, 0, 4096, layout, new EventColumns());
    expect(r.header.missedEvents).toBe(true);
    expect(r.header.lostEvents).not.toBe(0);
  });
});

const LAYOUTS: [string, PageLayout][] = [
  ['x86_64 LE 4K', X86_64_4K],
  ['64-bit BE 8K', layoutFor(8192, 8, false)],
  ['32-bit LE 4K', layoutFor(4096, 4, true)],
  ['32-bit BE 4K', layoutFor(4096, 4, false)],
  ['64-bit LE 1M', layoutFor(1 << 20, 8, true)],
];

describe.each(LAYOUTS)('decodeSubbuf, synthetic pages, %s', (_name, layout) => {
  const le = layout.littleEndian;
  const big = new Uint8Array(200).fill(7);
  big.set(payload(5, 42, [], le));
  const records: BuiltRecord[] = [
    {kind: 'data', delta: 0, payload: payload(300, 1, [1, 2, 3, 4], le)},
    {kind: 'data', delta: 10, payload: payload(301, 2, [], le)},
    {kind: 'extend', delta: 3 * 2 ** 27 + 5},
    {kind: 'data', delta: 7, payload: big},
    {kind: 'padding', delta: 4, length: 24}, // discarded event: its delta still counts (kbuffer)
    {kind: 'data', delta: 1, payload: payload(302, 3, [9], le)},
  ];
  const base = 2 ** 40 + 12345;
  const expectTs = [
    base,
    base + 10,
    base + 10 + 3 * 2 ** 27 + 5 + 7,
    base + 10 + 3 * 2 ** 27 + 5 + 7 + 4 + 1,
  ];

  it.each([false, true])(
    'decodes data, extend, type 0 and padding (forceType0=%s)',
    (forceType0) => {
      const page = buildSubbuf(layout, records, {timestamp: base, forceType0});
      const cols = new EventColumns(1);
      const r = decodeSubbuf(page, 0, page.length, layout, cols);
      expect(r.error).toBeUndefined();
      expect(Array.from(cols.tsNs.subarray(0, cols.length))).toEqual(expectTs);
      const v = new DataView(page.buffer);
      const pids = Array.from({length: cols.length}, (_, i) =>
        v.getInt32(cols.payloadOffset[i] + 4, le),
      );
      expect(pids).toEqual([1, 2, 42, 3]);
      expect(cols.payloadLen[2]).toBeGreaterThanOrEqual(200);
    },
  );

  it('keeps the top bits across an absolute time stamp', () => {
    const top = 2 ** 59 * 3;
    const page = buildSubbuf(
      layout,
      [
        {kind: 'data', delta: 0, payload: payload(1, 1, [], le)},
        {kind: 'stamp', abs: 2 ** 50 + 99},
        {kind: 'data', delta: 0, payload: payload(1, 2, [], le)},
      ],
      {timestamp: top + 5},
    );
    const cols = new EventColumns();
    decodeSubbuf(page, 0, page.length, layout, cols);
    expect(cols.tsNs[0]).toBe(top + 5);
    expect(cols.tsNs[1]).toBe(top + 2 ** 50 + 99);
  });

  it('reads MISSED_EVENTS and a stored lost count from the sign-extended commit word', () => {
    const page = buildSubbuf(layout, records.slice(0, 2), {timestamp: 1, storedLost: 62});
    const r = decodeSubbuf(page, 0, page.length, layout, new EventColumns());
    expect(r.header).toMatchObject({missedEvents: true, missedStored: true, lostEvents: 62});
    const unknown = buildSubbuf(layout, records.slice(0, 2), {timestamp: 1, missedEvents: true});
    expect(
      decodeSubbuf(unknown, 0, unknown.length, layout, new EventColumns()).header.lostEvents,
    ).toBe(-1);
  });
});

describe('decodeSubbuf on corrupt input', () => {
  const layout = X86_64_4K;
  const good = buildSubbuf(
    layout,
    [
      {kind: 'data', delta: 0, payload: payload(1, 1, [1, 2, 3, 4])},
      {kind: 'data', delta: 3, payload: payload(1, 2, [5, 6, 7, 8])},
    ],
    {timestamp: 100},
  );

  it('rejects a commit beyond the data area with a located error', () => {
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(8, 5000, true);
    expect(() => decodeSubbuf(bad, 0, bad.length, layout, new EventColumns())).toThrow(DecodeError);
    try {
      decodeSubbuf(bad, 0, bad.length, layout, new EventColumns(), {where: 'cpu3 sub-buffer 9'});
    } catch (e) {
      expect(e).toMatchObject({kind: 'bad-commit', offset: 8, where: 'cpu3 sub-buffer 9'});
    }
  });

  it('keeps the events before a damaged record and says where the damage is', () => {
    const bad = good.slice();
    // Second record: type 0 with an absurd length.
    const v = new DataView(bad.buffer);
    v.setUint32(16 + 16, 0, true);
    v.setUint32(16 + 20, 100000, true);
    const cols = new EventColumns();
    const r = decodeSubbuf(bad, 0, bad.length, layout, cols);
    expect(cols.length).toBe(1);
    expect(r.error).toMatchObject({kind: 'bad-record', offset: 32});
  });

  it.each([0x80000001, 0xfffffffc, 0xffffffff])(
    'stops on a type-0 length of 0x%s that 32-bit rounding would make negative',
    (array0) => {
      const bad = good.slice();
      const v = new DataView(bad.buffer);
      v.setUint32(16 + 16, 0, true);
      v.setUint32(16 + 20, array0, true);
      const r = decodeSubbuf(bad, 0, bad.length, layout, new EventColumns());
      expect(r.error).toMatchObject({kind: 'bad-record', offset: 32});
    },
  );

  it('never reads past the bytes given', () => {
    expect(() => decodeSubbuf(good, 0, 10, layout, new EventColumns())).toThrow(/cannot hold/);
    expect(() => decodeSubbuf(good.subarray(0, 30), 0, 30, layout, new EventColumns())).toThrow(
      /runs past/,
    );
  });

  it('fuzz: mutated real pages only ever give DecodeErrors, and terminate', () => {
    const real = new Uint8Array(readFileSync(new URL('sparse-cpu1.raw', CAPTURES)));
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const cols = new EventColumns();
    let errors = 0;
    for (let i = 0; i < 3000; i++) {
      const page = real.slice(4096 * (i % 9), 4096 * (i % 9) + 4096);
      const flips = 1 + Math.floor(rand() * 8);
      for (let f = 0; f < flips; f++) {
        // Bias mutations towards headers, where damage is most interesting.
        const at = rand() < 0.3 ? Math.floor(rand() * 24) : Math.floor(rand() * 4096);
        page[at] = Math.floor(rand() * 256);
      }
      const avail = rand() < 0.2 ? Math.floor(rand() * 4096) : 4096;
      cols.clear();
      try {
        const r = decodeSubbuf(page, 0, avail, layout, cols);
        if (r.error) errors++;
        expect(r.endOffset).toBeLessThanOrEqual(r.header.size);
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(100);
  });
});
