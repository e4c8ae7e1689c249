/**
 * Test helper: seeded random records for an event format, with valid `__data_loc`/`__rel_loc`
 * words pointing at NUL-terminated ASCII in the record tail, so both our renderer and
 * libtraceevent read the same bytes. Values favour small numbers, 0, -1 and letters.
 */
import type {EventFormat} from '../../format/event-format.ts';

export class Rng {
  constructor(private s: number) {}
  next(): number {
    // mulberry32
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

function fillValue(
  b: Uint8Array,
  at: number,
  size: number,
  r: Rng,
  pool: readonly bigint[],
  le: boolean,
): void {
  if (size === 8 && pool.length > 0 && r.int(3) === 0) {
    // A real kernel address (symbol start or a little after it), so %ps/%pS, printk lookups
    // and plugins resolve names.
    let v = pool[r.int(pool.length)] + BigInt(r.int(2) ? 0 : r.int(300));
    for (let i = 0; i < 8; i++) {
      b[le ? at + i : at + 7 - i] = Number(v & 0xffn);
      v >>= 8n;
    }
    return;
  }
  const mode = r.int(6);
  for (let i = 0; i < size; i++) {
    let v: number;
    if (mode === 0) v = 0;
    else if (mode === 1) v = 0xff;
    else if (mode === 2) v = i === 0 ? r.int(16) : 0;
    else if (mode === 3) v = i < 2 ? r.int(256) : 0;
    else if (mode === 4) v = 0x61 + r.int(26);
    else v = r.int(256);
    b[at + i] = v;
  }
}

/** One random record for `ev`; `le` sets the byte order of common_type and location words. */
export function randomRecord(
  ev: EventFormat,
  r: Rng,
  pool: readonly bigint[] = [],
  le = true,
): Uint8Array {
  const all = [...ev.commonFields, ...ev.fields];
  let end = 8;
  for (const f of all) end = Math.max(end, f.offset + f.size);
  const tailLen = 8 + r.int(56);
  const size = (end + tailLen + 3) & ~3;
  const b = new Uint8Array(size);
  for (const f of all) fillValue(b, f.offset, f.size, r, pool, le);
  // text for char arrays and the tail
  for (const f of all) {
    if (f.isString && f.dynamic === 'none' && f.size > 0 && r.int(3) > 0) {
      const n = r.int(f.size);
      for (let i = 0; i < f.size; i++) b[f.offset + i] = i < n ? 0x61 + r.int(26) : 0;
    }
  }
  for (let i = end; i < size; i++) b[i] = r.int(4) === 0 ? 0 : 0x41 + r.int(26);
  b[size - 1] = 0;
  for (const f of all) {
    if (f.dynamic === 'none') continue;
    const off = end + r.int(tailLen);
    const len = r.int(size - off + 1);
    const base = f.dynamic === 'rel_loc' ? f.offset + f.size : 0;
    const rel = off - base;
    const view = new DataView(b.buffer);
    if (f.size === 2) view.setUint16(f.offset, off, le);
    else if (f.size >= 4) view.setUint32(f.offset, ((len << 16) | (rel & 0xffff)) >>> 0, le);
  }
  new DataView(b.buffer).setUint16(0, ev.id, le);
  return b;
}

/** Records in the [u32 length][bytes] file format tep-golden.c reads. */
export function packRecords(records: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const r of records) total += 4 + r.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let p = 0;
  for (const r of records) {
    view.setUint32(p, r.length, true);
    out.set(r, p + 4);
    p += 4 + r.length;
  }
  return out;
}
