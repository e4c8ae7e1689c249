/**
 * Builds sub-buffers byte by byte for tests, in any layout (byte order, long size, forced
 * type-0 records as on 8-byte-aligned architectures). It follows the kernel's encoding rules
 * (rb_update_event, rb_calculate_event_length) so tests can state a page as a list of records.
 */
import type {PageLayout} from '../page-layout.ts';

export type BuiltRecord =
  | {kind: 'data'; delta: number; payload: Uint8Array}
  | {kind: 'extend'; delta: number} // full delta split into array[0] << 27 | delta
  | {kind: 'stamp'; abs: number} // absolute 59-bit stamp
  | {kind: 'padding'; delta: number; length: number}; // length = total record bytes

export interface BuildOptions {
  timestamp: number;
  /** Encode every data record as type 0 (RB_FORCE_8BYTE_ALIGNMENT). */
  forceType0?: boolean;
  missedEvents?: boolean;
  /** Store this lost count after the data (sets MISSED_STORED too). */
  storedLost?: number;
  /** Total bytes of the page; default the layout's full size. */
  totalBytes?: number;
}

export function buildSubbuf(
  layout: PageLayout,
  records: BuiltRecord[],
  opts: BuildOptions,
): Uint8Array {
  const total = opts.totalBytes ?? layout.dataOffset + layout.dataSize;
  const bytes = new Uint8Array(total);
  const v = new DataView(bytes.buffer);
  const le = layout.littleEndian;
  const w32 = (off: number, x: number) => v.setUint32(off, x >>> 0, le);
  const w64 = (off: number, x: number) => {
    const hi = Math.floor(x / 2 ** 32);
    const lo = x - hi * 2 ** 32;
    w32(off + (le ? 0 : 4), lo);
    w32(off + (le ? 4 : 0), hi);
  };
  const header = (type: number, delta: number) => (le ? (delta << 5) | type : (type << 27) | delta);
  let at = layout.dataOffset;
  for (const r of records) {
    if (r.kind === 'data') {
      const n = r.payload.length || 1;
      const small = n <= 112 && !opts.forceType0;
      if (small) {
        const typeLen = Math.ceil(n / 4);
        w32(at, header(typeLen, r.delta));
        bytes.set(r.payload, at + 4);
        at += 4 + typeLen * 4;
      } else {
        const align = opts.forceType0 ? 8 : 4;
        const totalLen = Math.ceil((n + 8) / align) * align;
        w32(at, header(0, r.delta));
        w32(at + 4, totalLen - 4);
        bytes.set(r.payload, at + 8);
        at += totalLen;
      }
    } else if (r.kind === 'extend') {
      w32(at, header(30, r.delta % 2 ** 27));
      w32(at + 4, Math.floor(r.delta / 2 ** 27));
      at += 8;
    } else if (r.kind === 'stamp') {
      const low = r.abs % 2 ** 27;
      w32(at, header(31, low));
      w32(at + 4, Math.floor(r.abs / 2 ** 27));
      at += 8;
    } else {
      w32(at, header(29, r.delta));
      w32(at + 4, r.length - 4);
      at += r.length;
    }
  }
  const size = at - layout.dataOffset;
  let flags = 0;
  if (opts.missedEvents || opts.storedLost !== undefined) flags |= 0x80000000;
  if (opts.storedLost !== undefined) {
    flags |= 0x40000000;
    if (layout.longSize === 8) w64(at, opts.storedLost);
    else w32(at, opts.storedLost);
  }
  w64(0, opts.timestamp);
  const commit = (size | flags) >>> 0;
  if (layout.longSize === 8) {
    // The kernel adds the int flag bits to a 64-bit local_t: bits 63..31 sign-extend.
    const hi = flags & 0x80000000 ? 0xffffffff : 0;
    w32(8 + (le ? 0 : 4), commit);
    w32(8 + (le ? 4 : 0), hi);
  } else {
    w32(8, commit);
  }
  return bytes;
}

/** A payload that starts with the common fields (type id, flags, preempt count, pid). */
export function payload(id: number, pid: number, rest: number[] = [], le = true): Uint8Array {
  const b = new Uint8Array(8 + rest.length);
  const v = new DataView(b.buffer);
  v.setUint16(0, id, le);
  v.setInt32(4, pid, le);
  b.set(rest, 8);
  return b;
}
