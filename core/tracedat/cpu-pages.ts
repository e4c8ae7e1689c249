/**
 * Streams the data pages of one CPU of one buffer out of a trace.dat, with bounded memory:
 * uncompressed data is read `BATCH_PAGES` pages at a time; v7 compressed data one chunk at a
 * time (trace-cmd writes chunks of a few pages up to ~1 MB, each a multiple of the page size):
 *
 *   cpu offset → u32 chunk count │ {u32 zsize, u32 size, zsize bytes} × count
 *
 * Every page is handed out as (bytes, base, available); `available` < page size only for a
 * short last page.
 */
import {DecodeError} from '../errors.ts';
import {Cursor} from './byte-source.ts';
import type {CpuDataRef, BufferInfo} from './options.ts';
import type {TraceDat} from './tracedat-file.ts';

const BATCH_PAGES = 64;
/** Larger chunks than this are corrupt, not real (trace-cmd uses at most a few MB). */
const MAX_CHUNK = 64 << 20;

export class CpuPageReader {
  /** Bytes holding the current page (a batch or a decompressed chunk). */
  bytes: Uint8Array = new Uint8Array(0);
  /** Offset of the current page in `bytes`. */
  base = 0;
  /** Valid bytes of the current page (page size, or less for a short last page). */
  available = 0;
  /** Index of the current page within the CPU's (uncompressed) data. */
  pageIndex = -1;
  readonly pageSize: number;
  readonly where: string;

  private dataPos = 0; // uncompressed position of the next page
  private bufStart = 0; // uncompressed position of bytes[0]
  private bufEnd = 0;
  private totalSize: number; // uncompressed size; for compressed data known after the last chunk
  private chunkCursor?: Cursor;
  private chunksLeft = 0;

  constructor(
    private readonly dat: TraceDat,
    buffer: BufferInfo,
    private readonly ref: CpuDataRef,
  ) {
    this.pageSize = buffer.pageSize;
    this.where = `cpu${ref.cpu}${buffer.name ? ` of '${buffer.name}'` : ''}`;
    this.totalSize = ref.size;
    if (buffer.compressed && ref.size > 0) {
      this.chunkCursor = new Cursor(
        dat.src,
        dat.littleEndian,
        `${this.where} chunk table`,
        ref.offset,
      );
      this.chunksLeft = this.chunkCursor.u32('chunk count');
      this.totalSize = Infinity;
    }
  }

  /** File offset of the current page, for messages (uncompressed position for chunked data). */
  get position(): number {
    return this.chunkCursor
      ? this.dataPos - this.pageSize
      : this.ref.offset + this.dataPos - this.pageSize;
  }

  /** Advance to the next page; false at the end of the CPU's data. */
  next(): boolean {
    if (this.dataPos >= this.bufEnd && !this.fill()) return false;
    this.base = this.dataPos - this.bufStart;
    this.available = Math.min(this.pageSize, this.bufEnd - this.dataPos);
    this.dataPos += this.pageSize;
    this.pageIndex++;
    return true;
  }

  private fill(): boolean {
    if (this.chunkCursor) return this.fillChunk();
    const left = this.totalSize - this.dataPos;
    if (left <= 0) return false;
    const n = Math.min(left, BATCH_PAGES * this.pageSize);
    const bytes = this.dat.src.read(this.ref.offset + this.dataPos, n);
    if (bytes.length < n) {
      throw new DecodeError(
        'short-input',
        `CPU data cut at ${bytes.length} of ${n} bytes`,
        this.ref.offset + this.dataPos,
        this.where,
      );
    }
    this.bytes = bytes;
    this.bufStart = this.dataPos;
    this.bufEnd = this.dataPos + n;
    return true;
  }

  private fillChunk(): boolean {
    const c = this.chunkCursor!;
    while (this.chunksLeft > 0) {
      this.chunksLeft--;
      const zsize = c.u32('chunk compressed size');
      const size = c.u32('chunk size');
      if (zsize > MAX_CHUNK || size > MAX_CHUNK)
        c.fail(`chunk sizes ${zsize}/${size} are too large`, c.pos - 8);
      const at = c.pos;
      // (The recorded CPU size does not cover the chunk table exactly; trace-cmd ignores it too.)
      const z = c.bytes(zsize, 'chunk');
      if (size === 0) continue;
      this.bytes = this.dat.codec.decompress(z, size, `${this.where} chunk`, at);
      // Pages restart at every chunk (sizes are page multiples; a short one ends the data).
      this.bufStart = this.dataPos;
      this.bufEnd = this.dataPos + size;
      return true;
    }
    return false;
  }
}
