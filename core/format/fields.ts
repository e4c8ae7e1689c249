/**
 * Read one field of one event record, given its `FieldDef` (event-format.ts).
 *
 * A record is `bytes[start, start + len)`, starting at `common_type`. Every read is bounded by
 * `len`: a field (or the data a `__data_loc` points at) outside the record throws a
 * `DecodeError('short-input')` naming the field, never reads a neighbouring record.
 *
 * 64-bit integers: `readFieldInt` returns a `number` when the value is exactly representable
 * (|v| ≤ 2^53) and a `bigint` otherwise, so nothing is silently rounded. `readFieldU64` always
 * returns the raw bits as an unsigned `bigint` (libtraceevent's `tep_read_number`).
 *
 * `__data_loc` (kernel-abi.md §5.1): u32 v, data at record start + (v & 0xffff), length v >> 16.
 * Legacy size-2 variant: offset only, data runs to the record end. `__rel_loc`: the offset is
 * counted from the end of the field itself.
 */
import {DecodeError} from '../errors.ts';
import type {FieldDef} from './event-format.ts';
import {utf8} from './text.ts';

const TWO32 = 2 ** 32;
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_EXACT = -MAX_EXACT;

/** A record inside a byte buffer. The DataView must cover the same bytes as `bytes`. */
export interface RecordRef {
  bytes: Uint8Array;
  view: DataView;
  /** Offset of `common_type` in `bytes`. */
  start: number;
  /** Record length in bytes. */
  len: number;
  littleEndian: boolean;
}

export function recordRef(
  bytes: Uint8Array,
  start: number,
  len: number,
  littleEndian = true,
): RecordRef {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (start < 0 || len < 0 || start + len > bytes.length) {
    throw new DecodeError(
      'short-input',
      `record [${start}, +${len}) outside ${bytes.length}-byte buffer`,
      start,
      'record',
    );
  }
  return {bytes, view, start, len, littleEndian};
}

function outside(f: FieldDef, what: string, at: number, need: number, rec: RecordRef): never {
  throw new DecodeError(
    'short-input',
    `field ${f.name}: ${what} [${at}, +${need}) is outside the ${rec.len}-byte record`,
    rec.start + at,
    `field ${f.name}`,
  );
}

/** Unsigned integer of 1, 2, 4 or 8 bytes at record offset `at` (8 bytes may be inexact). */
export function readUnsignedAt(rec: RecordRef, at: number, size: number): number {
  const v = rec.view;
  const o = rec.start + at;
  const le = rec.littleEndian;
  switch (size) {
    case 1:
      return v.getUint8(o);
    case 2:
      return v.getUint16(o, le);
    case 4:
      return v.getUint32(o, le);
    case 8: {
      const lo = v.getUint32(le ? o : o + 4, le);
      const hi = v.getUint32(le ? o + 4 : o, le);
      return hi * TWO32 + lo;
    }
    default:
      return 0;
  }
}

/** Raw bits of a 1/2/4/8-byte number at record offset `at`, zero-extended (tep_read_number). */
export function readBitsAt(rec: RecordRef, at: number, size: number): bigint {
  if (size === 8) return rec.view.getBigUint64(rec.start + at, rec.littleEndian);
  return BigInt(readUnsignedAt(rec, at, size));
}

function checkInside(rec: RecordRef, f: FieldDef, at: number, size: number): void {
  if (at < 0 || size < 0 || at + size > rec.len) outside(f, 'value', at, size, rec);
}

/** Integer value of a scalar field with its signedness (see header for 64-bit). */
export function readFieldInt(rec: RecordRef, f: FieldDef): number | bigint {
  checkInside(rec, f, f.offset, f.size);
  return readIntAt(rec, f.offset, f.size, f.signed);
}

export function readIntAt(
  rec: RecordRef,
  at: number,
  size: number,
  signed: boolean,
): number | bigint {
  if (size === 8) {
    const o = rec.start + at;
    const b = signed
      ? rec.view.getBigInt64(o, rec.littleEndian)
      : rec.view.getBigUint64(o, rec.littleEndian);
    return b <= MAX_EXACT && b >= MIN_EXACT ? Number(b) : b;
  }
  const u = readUnsignedAt(rec, at, size);
  if (!signed || size <= 0 || size > 4) return u;
  const bits = size * 8;
  return u >= 2 ** (bits - 1) ? u - 2 ** bits : u;
}

/** Raw unsigned bits of a scalar field (pointers, longs, anything up to 8 bytes). */
export function readFieldU64(rec: RecordRef, f: FieldDef): bigint {
  checkInside(rec, f, f.offset, f.size);
  return readBitsAt(rec, f.offset, f.size);
}

/**
 * Where a field's data lies in the record: [offset, offset + length) relative to the record
 * start. Scalars and fixed arrays: the field itself; flexible `[]` (size 0): to the record end;
 * dynamic fields: decoded from the location word. Throws when the result leaves the record.
 */
export function fieldDataOffset(rec: RecordRef, f: FieldDef): number {
  if (f.dynamic === 'none') return f.offset;
  checkInside(rec, f, f.offset, f.size);
  const v = readUnsignedAt(rec, f.offset, f.size === 2 ? 2 : 4);
  let off = v & 0xffff;
  if (f.dynamic === 'rel_loc') off += f.offset + f.size;
  return off;
}

export function fieldDataLength(rec: RecordRef, f: FieldDef): number {
  if (f.dynamic === 'none') {
    return f.size === 0 ? Math.max(0, rec.len - f.offset) : f.size;
  }
  checkInside(rec, f, f.offset, f.size);
  if (f.size === 2) return Math.max(0, rec.len - fieldDataOffset(rec, f));
  return readUnsignedAt(rec, f.offset, 4) >>> 16;
}

/** Bytes of a field's data (a view, not a copy). */
export function fieldBytes(rec: RecordRef, f: FieldDef): Uint8Array {
  const off = fieldDataOffset(rec, f);
  const len = fieldDataLength(rec, f);
  if (off + len > rec.len || off < 0) outside(f, 'data', off, len, rec);
  return rec.bytes.subarray(rec.start + off, rec.start + off + len);
}

/** Text of a char array / `__data_loc char[]` / flexible `char buf[]`, up to the first NUL. */
export function readFieldString(rec: RecordRef, f: FieldDef): string {
  const b = fieldBytes(rec, f);
  let n = b.indexOf(0);
  if (n < 0) n = b.length;
  return utf8(b.subarray(0, n));
}

/**
 * Elements of an array field (fixed, flexible or dynamic), as numbers (or bigints for 64-bit
 * values beyond 2^53). Element size: the field's, else `fallbackElementSize` (kernel long).
 */
export function readFieldArray(
  rec: RecordRef,
  f: FieldDef,
  fallbackElementSize = 8,
): Array<number | bigint> {
  const off = fieldDataOffset(rec, f);
  const len = fieldDataLength(rec, f);
  if (off + len > rec.len) outside(f, 'data', off, len, rec);
  const es = f.elementSize || fallbackElementSize;
  const out: Array<number | bigint> = [];
  for (let p = off; p + es <= off + len; p += es) out.push(readIntAt(rec, p, es, f.signed));
  return out;
}

/** `common_flags` bits (kernel-abi.md §5.1, include/linux/trace_events.h, 6.12+). */
export const TRACE_FLAG = {
  IRQS_OFF: 0x01,
  NEED_RESCHED_LAZY: 0x02,
  NEED_RESCHED: 0x04,
  HARDIRQ: 0x08,
  SOFTIRQ: 0x10,
  PREEMPT_RESCHED: 0x20,
  NMI: 0x40,
  BH_OFF: 0x80,
} as const;

export type TraceFlagName = keyof typeof TRACE_FLAG;

/** Names of the set `common_flags` bits, low bit first. */
export function decodeCommonFlags(flags: number): TraceFlagName[] {
  const out: TraceFlagName[] = [];
  for (const k of Object.keys(TRACE_FLAG) as TraceFlagName[]) {
    if (flags & TRACE_FLAG[k]) out.push(k);
  }
  return out;
}

/**
 * The latency column `trace-cmd report -l` prints (libtraceevent data_latency_format): irqs-off
 * 'd' (or 'X' for bit 0x02, which libtraceevent still reads as the old IRQS_NOSUPPORT; on 6.12+
 * kernels that bit is NEED_RESCHED_LAZY), 'N' for NEED_RESCHED, 'H'/'h'/'s' for hard+soft /
 * hard / soft irq, then the preempt count's low and high nibble ('.' for zero).
 */
export function latencyFlags(flags: number, preemptCount: number): string {
  const irqs = flags & TRACE_FLAG.IRQS_OFF ? 'd' : flags & 0x02 ? 'X' : '.';
  const resched = flags & TRACE_FLAG.NEED_RESCHED ? 'N' : '.';
  const hard = flags & TRACE_FLAG.HARDIRQ;
  const soft = flags & TRACE_FLAG.SOFTIRQ;
  const ctx = hard && soft ? 'H' : hard ? 'h' : soft ? 's' : '.';
  const lo = preemptCount & 0xf;
  const hi = preemptCount & 0xf0;
  return `${irqs}${resched}${ctx}${lo ? lo.toString(16) : '.'}${hi ? (preemptCount >> 4).toString(16) : '.'}`;
}
