/**
 * The record being printed, shared by the evaluator and the pointer printers. One instance per
 * renderer is reused for every event (no object per event). All reads are bounded by `size`
 * (the record length): libtraceevent reads out-of-range data as 0 / empty where it checks, and
 * we do the same where it does not (it would read past the record).
 */
import type {FieldDef} from '../format/event-format.ts';
import type {EventRegistry} from '../format/event-registry.ts';
import {utf8} from '../format/text.ts';

export class EvalContext {
  bytes: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(new ArrayBuffer(0));
  /** Offset of common_type in `bytes`. */
  start = 0;
  /** Record length. */
  size = 0;
  littleEndian = true;
  /** Scratch results of `dynLoc`. */
  dynOffset = 0;
  dynLen = 0;

  constructor(
    readonly registry: EventRegistry,
    readonly longSize: number,
  ) {
    this.littleEndian = registry.littleEndian;
  }

  setRecord(bytes: Uint8Array, start: number, size: number): void {
    if (bytes !== this.bytes) {
      this.bytes = bytes;
      this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    this.start = start;
    this.size = Math.max(0, Math.min(size, bytes.length - start));
  }

  /** tep_read_number: unsigned, zero-extended; 0 for odd sizes or out of range. */
  readNumber(at: number, size: number): bigint {
    if (at < 0 || at + size > this.size) return 0n;
    const o = this.start + at;
    switch (size) {
      case 1:
        return BigInt(this.view.getUint8(o));
      case 2:
        return BigInt(this.view.getUint16(o, this.littleEndian));
      case 4:
        return BigInt(this.view.getUint32(o, this.littleEndian));
      case 8:
        return this.view.getBigUint64(o, this.littleEndian);
      default:
        return 0n;
    }
  }

  /**
   * A number read the way libtraceevent dereferences some pointers directly (`*(u64 *)p`): in
   * the byte order of the machine running trace-cmd, assumed little-endian (x86, arm64).
   * Bounded by the buffer like byteUnbounded.
   */
  readHostNumber(at: number, size: number): bigint {
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.byteUnbounded(at + i));
    return v;
  }

  /** tep_read_number where libtraceevent reads without a bound (see byteUnbounded). */
  readNumberUnbounded(at: number, size: number): bigint {
    let v = 0n;
    for (let i = 0; i < size; i++) {
      const b = BigInt(this.byteUnbounded(at + i));
      v |= this.littleEndian ? b << BigInt(8 * i) : b << BigInt(8 * (size - 1 - i));
    }
    return v;
  }

  /** Small unsigned read as a number (sizes 1/2/4); 0 when out of range. */
  readSmall(at: number, size: number): number {
    if (at < 0 || at + size > this.size) return 0;
    const o = this.start + at;
    if (size === 1) return this.view.getUint8(o);
    if (size === 2) return this.view.getUint16(o, this.littleEndian);
    if (size === 4) return this.view.getUint32(o, this.littleEndian);
    return 0;
  }

  byte(at: number): number {
    return at >= 0 && at < this.size ? this.bytes[this.start + at] : 0;
  }

  /**
   * A byte where libtraceevent reads without a bound (hex dumps, `__get_str`): past the record
   * it sees whatever follows in the buffer (the next record of the sub-buffer), so do we;
   * past the buffer, 0.
   */
  byteUnbounded(at: number): number {
    const p = this.start + at;
    return at >= 0 && p < this.bytes.length ? this.bytes[p] : 0;
  }

  /** C string at record offset `at` read like strlen: up to a NUL, even past the record. */
  cStringUnbounded(at: number): string {
    if (at < 0) return '';
    const begin = this.start + at;
    const b = this.bytes;
    let end = begin;
    while (end < b.length && b[end] !== 0) end++;
    return latin1OrUtf8(b, begin, end);
  }

  /** dynamic_offset_field: sets dynOffset/dynLen like libtraceevent (0/0 when out of range). */
  dynLoc(f: FieldDef): void {
    const size = this.size;
    if (f.offset + f.size > size) {
      this.dynOffset = 0;
      this.dynLen = 0;
      return;
    }
    const v =
      f.size === 2 ? this.readSmall(f.offset, 2) : f.size >= 4 ? this.readSmall(f.offset, 4) : 0;
    const o = v & 0xffff;
    const l = f.size === 2 ? size - o : (v >>> 16) & 0xffff;
    this.dynOffset = o > size ? 0 : o;
    this.dynLen = o + l > size ? 0 : l;
    if (f.dynamic === 'rel_loc') this.dynOffset += f.offset + f.size;
  }

  /** C string starting at record offset `at`: up to a NUL or the record end. */
  cString(at: number, max = Infinity): string {
    if (at < 0 || at >= this.size) return '';
    const begin = this.start + at;
    const limit = this.start + Math.min(this.size, at + max);
    let end = begin;
    const b = this.bytes;
    while (end < limit && b[end] !== 0) end++;
    return latin1OrUtf8(b, begin, end);
  }
}

function latin1OrUtf8(b: Uint8Array, begin: number, end: number): string {
  let s = '';
  for (let i = begin; i < end; i++) {
    const c = b[i];
    if (c >= 0x80) return utf8(b.subarray(begin, end));
    s += String.fromCharCode(c);
  }
  return s;
}
