/**
 * Guard in front of core/subbuffer.ts `decodeSubbuf` for pages read from files (which may be
 * damaged in any way): decodeSubbuf computes a type-0 record's length as
 * `(array0 - 4 + 3) & ~3` in int32 arithmetic, so a corrupt array[0] >= 2^31 + 1 gives a
 * *negative* length and the walk loops forever. This cheap header-only walk (a few ns per
 * record, mirroring decodeSubbuf's steps) finds such a record first; the caller then decodes
 * only the records before it. (Fix requested in core/subbuffer.ts; this guard can go then.)
 */
import type {PageLayout} from '../page-layout.ts';
import {COMMIT_MASK, TYPE_PADDING} from '../subbuffer.ts';

const NEGATIVE_LENGTH_FROM = 2 ** 31 + 1;

/** Data-relative offset of a record that would hang decodeSubbuf, or -1 if the page is safe. */
export function hangingRecordAt(
  bytes: Uint8Array,
  base: number,
  available: number,
  layout: PageLayout,
): number {
  if (available < layout.dataOffset || base + layout.dataOffset > bytes.length) return -1;
  const le = layout.littleEndian;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const w = view.getUint32(base + 8 + (le || layout.longSize === 4 ? 0 : 4), le);
  const size = Math.min(w & COMMIT_MASK, available - layout.dataOffset, layout.dataSize);
  const data = base + layout.dataOffset;
  let curr = 0;
  while (curr < size) {
    if (curr + 4 > size) return -1;
    const h = view.getUint32(data + curr, le);
    const typeLen = le ? h & 31 : h >>> 27;
    const delta = le ? h >>> 5 : h & COMMIT_MASK;
    if (typeLen >= 1 && typeLen <= 28) {
      curr += 4 + (typeLen << 2);
      continue;
    }
    if (curr + 8 > size) return -1;
    const array0 = view.getUint32(data + curr + 4, le);
    if (typeLen === 0) {
      if (array0 >= NEGATIVE_LENGTH_FROM) return curr;
      if (array0 < 4) return -1;
      curr += 8 + ((array0 - 1) & ~3);
    } else if (typeLen === TYPE_PADDING) {
      if (delta === 0 && array0 === 0) return -1;
      if (array0 > size) return -1;
      curr += 4 + ((array0 + 3) & ~3);
    } else {
      curr += 8; // TIME_EXTEND or TIME_STAMP
    }
  }
  return -1;
}

/** A copy of the page whose commit ends at `end` (flags cleared), so only records before it decode. */
export function pageCutAt(
  bytes: Uint8Array,
  base: number,
  available: number,
  layout: PageLayout,
  end: number,
): Uint8Array {
  const copy = bytes.slice(base, base + available);
  const view = new DataView(copy.buffer);
  const le = layout.littleEndian;
  const at = 8 + (le || layout.longSize === 4 ? 0 : 4);
  view.setUint32(at, end, le);
  if (layout.longSize === 8) view.setUint32(le ? 12 : 8, 0, le);
  return copy;
}
