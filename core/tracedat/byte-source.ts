/**
 * Random access to the bytes of a trace.dat file. The reader never holds the whole file: it asks
 * for the few bytes of a header, one section, or one page/chunk of CPU data at a time, so a file
 * larger than memory can be read. core/ has no file API: `server/sources/replay-source.ts` has the
 * file-descriptor implementation (FileByteSource) and tests wrap a Uint8Array.
 */
import {DecodeError} from '../errors.ts';

export interface ByteSource {
  /** Total bytes. */
  readonly size: number;
  /**
   * `length` bytes from `offset`, fewer only at the end of the source. The caller must not modify
   * the result; it stays valid (a fresh buffer, or a view of memory that never changes).
   */
  read(offset: number, length: number): Uint8Array;
}

/** A ByteSource over bytes already in memory (tests, fixtures, decompressed sections). */
export class BytesSource implements ByteSource {
  readonly size: number;
  constructor(private readonly bytes: Uint8Array) {
    this.size = bytes.length;
  }
  read(offset: number, length: number): Uint8Array {
    const start = Math.max(0, Math.min(offset, this.size));
    return this.bytes.subarray(start, Math.min(this.size, start + Math.max(0, length)));
  }
}

const TWO32 = 2 ** 32;

/**
 * Sequential reader over a ByteSource with the file's byte order. Every short read throws a
 * DecodeError naming `where` and the absolute offset, so a truncated file reports where it ends.
 * `origin` is added to offsets in messages (0 for the file itself; for a decompressed section
 * the messages give offsets inside the uncompressed data, see `where`).
 */
export class Cursor {
  pos: number;
  constructor(
    readonly src: ByteSource,
    public littleEndian: boolean,
    public where: string,
    start = 0,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.src.size - this.pos;
  }

  fail(detail: string, offset = this.pos): never {
    throw new DecodeError('bad-tracedat', detail, offset, this.where);
  }

  /** Exactly `n` bytes (a view valid until the next read on the source). */
  bytes(n: number, what = 'data'): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0) this.fail(`${what}: impossible length ${n}`);
    if (n > this.remaining) {
      throw new DecodeError(
        'short-input',
        `${what}: need ${n} bytes, only ${Math.max(0, this.remaining)} left in the file`,
        this.pos,
        this.where,
      );
    }
    const b = this.src.read(this.pos, n);
    if (b.length !== n) {
      throw new DecodeError(
        'short-input',
        `${what}: read returned ${b.length} of ${n} bytes`,
        this.pos,
        this.where,
      );
    }
    this.pos += n;
    return b;
  }

  private view(n: number, what: string): DataView {
    const b = this.bytes(n, what);
    return new DataView(b.buffer, b.byteOffset, n);
  }

  u8(what = 'u8'): number {
    return this.bytes(1, what)[0];
  }
  u16(what = 'u16'): number {
    return this.view(2, what).getUint16(0, this.littleEndian);
  }
  u32(what = 'u32'): number {
    return this.view(4, what).getUint32(0, this.littleEndian);
  }
  /** u64 as a number; values past 2^53 (never a real size or offset) are rejected. */
  u64(what = 'u64'): number {
    const v = this.view(8, what);
    const lo = v.getUint32(this.littleEndian ? 0 : 4, this.littleEndian);
    const hi = v.getUint32(this.littleEndian ? 4 : 0, this.littleEndian);
    if (hi >= 0x200000)
      this.fail(
        `${what}: value 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is too large`,
        this.pos - 8,
      );
    return hi * TWO32 + lo;
  }
  /** NUL-terminated string (the NUL is consumed). Scans at most `max` bytes. */
  cstring(what = 'string', max = 4096): string {
    const start = this.pos;
    const chunk = this.src.read(start, Math.min(max, Math.max(0, this.remaining)));
    const nul = chunk.indexOf(0);
    if (nul < 0) {
      throw new DecodeError(
        'short-input',
        `${what}: no terminating NUL within ${chunk.length} bytes`,
        start,
        this.where,
      );
    }
    let s = '';
    for (let i = 0; i < nul; i++) s += String.fromCharCode(chunk[i]);
    this.pos = start + nul + 1;
    return s;
  }
  skip(n: number, what = 'data'): void {
    if (n > this.remaining || n < 0) {
      throw new DecodeError('short-input', `${what}: cannot skip ${n} bytes`, this.pos, this.where);
    }
    this.pos += n;
  }
}

/** Read a NUL-terminated string out of `bytes` at `at`; returns [string, next offset] or undefined. */
export function cstringAt(bytes: Uint8Array, at: number): [string, number] | undefined {
  const nul = bytes.indexOf(0, at);
  if (nul < 0) return undefined;
  let s = '';
  for (let i = at; i < nul; i++) s += String.fromCharCode(bytes[i]);
  return [s, nul + 1];
}
