import {describe, expect, it} from 'vitest';
import {DecodeError} from './errors.ts';
import {parseMetaPage, unreadEvents} from './meta-page.ts';

function words(size: number, set: [number, number, 4 | 8][], le = true): Uint8Array {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  for (const [off, val, w] of set) {
    if (w === 4) v.setUint32(off, val, le);
    else v.setBigUint64(off, BigInt(val), le);
  }
  return b;
}

// Raw words of cpu0's meta page on 6.18 with default settings (kernel-abi.md §1.1), after some use.
const FINAL = words(80, [
  [0, 4096, 4],
  [4, 80, 4],
  [8, 4096, 4],
  [12, 355, 4],
  [24, 3, 4],
  [28, 132, 4],
  [40, 200, 8],
  [48, 62, 8],
  [56, 138, 8],
]);

describe('parseMetaPage', () => {
  it('parses the final ABI', () => {
    const m = parseMetaPage(FINAL);
    expect(m).toMatchObject({
      layout: 'final',
      metaPageSize: 4096,
      metaStructLen: 80,
      subbufSize: 4096,
      nrSubbufs: 355,
      readerId: 3,
      readerRead: 132,
      entries: 200,
      overrun: 62,
      read: 138,
      readerLostEvents: 0,
    });
    expect(m.subbufsLost).toBeUndefined();
    expect(unreadEvents(m)).toBe(0);
  });

  it('parses the seed RFC layout on LP64 and says so', () => {
    const rfc = words(80, [
      [0, 200, 8],
      [8, 62, 8],
      [16, 100, 8],
      [24, 7, 8],
      [32, 2, 8],
      [40, 5, 8],
      [56, 4, 4],
      [60, 96, 4],
      [64, 8192, 4],
      [68, 10, 4],
      [72, 8192, 4],
      [76, 80, 4],
    ]);
    expect(parseMetaPage(rfc)).toMatchObject({
      layout: 'rfc-lp64',
      entries: 200,
      overrun: 62,
      read: 100,
      subbufsTouched: 7,
      subbufsLost: 2,
      subbufsRead: 5,
      readerId: 4,
      readerRead: 96,
      subbufSize: 8192,
      nrSubbufs: 10,
      metaPageSize: 8192,
    });
  });

  it('parses the seed RFC layout on ILP32', () => {
    const rfc = words(52, [
      [0, 9, 4],
      [4, 1, 4],
      [8, 3, 4],
      [28, 2, 4],
      [32, 40, 4],
      [36, 4096, 4],
      [40, 6, 4],
      [44, 4096, 4],
      [48, 52, 4],
    ]);
    expect(parseMetaPage(rfc)).toMatchObject({
      layout: 'rfc-ilp32',
      entries: 9,
      readerId: 2,
      nrSubbufs: 6,
    });
  });

  it('reads big-endian pages when told', () => {
    const be = words(
      80,
      [
        [0, 8192, 4],
        [4, 80, 4],
        [8, 8192, 4],
        [12, 10, 4],
        [40, 5, 8],
      ],
      false,
    );
    expect(parseMetaPage(be, false)).toMatchObject({layout: 'final', subbufSize: 8192, entries: 5});
  });

  it.each([
    ['too short', new Uint8Array(20), /cannot hold/],
    ['all zero', new Uint8Array(80), /unknown meta page layout/],
    [
      'struct len 80 but odd page size',
      words(80, [
        [0, 1000, 4],
        [4, 80, 4],
      ]),
      /unknown meta page layout/,
    ],
    [
      'reader id out of range',
      words(80, [
        [0, 4096, 4],
        [4, 80, 4],
        [8, 4096, 4],
        [12, 4, 4],
        [24, 9, 4],
      ]),
      /reader.id 9/,
    ],
    [
      'subbuf size not a page multiple',
      words(80, [
        [0, 4096, 4],
        [4, 80, 4],
        [8, 100, 4],
        [12, 4, 4],
      ]),
      /subbuf_size 100/,
    ],
    [
      'reader.read beyond the sub-buffer',
      words(80, [
        [0, 4096, 4],
        [4, 80, 4],
        [8, 4096, 4],
        [12, 4, 4],
        [28, 5000, 4],
      ]),
      /reader.read 5000/,
    ],
  ])('rejects %s with a reason', (_n, bytes, why) => {
    expect(() => parseMetaPage(bytes)).toThrow(DecodeError);
    expect(() => parseMetaPage(bytes)).toThrow(why);
  });
});
