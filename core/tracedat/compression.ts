/**
 * The compression codecs a v7 trace.dat can name in its header ("name\0version\0"): trace-cmd
 * writes whole-block zstd frames (libzstd ZSTD_compress) or zlib streams (zlib compress2, i.e.
 * with the 2-byte zlib header), or "none". Pure-JS decoders keep core/ free of Node.
 */
import {unzlibSync} from 'fflate';
import {decompress as zstdDecompress} from 'fzstd';
import {DecodeError} from '../errors.ts';

export type CompressionName = 'none' | 'zlib' | 'zstd';

export interface Codec {
  name: CompressionName;
  /** Decompress one block whose uncompressed size is known from its header. */
  decompress(data: Uint8Array, uncompressedSize: number, where: string, offset: number): Uint8Array;
}

function checked(
  name: string,
  run: () => Uint8Array,
  expected: number,
  where: string,
  offset: number,
): Uint8Array {
  let out: Uint8Array;
  try {
    out = run();
  } catch (e) {
    throw new DecodeError(
      'bad-compression',
      `${name} block does not decompress: ${e instanceof Error ? e.message : String(e)}`,
      offset,
      where,
    );
  }
  if (out.length !== expected) {
    throw new DecodeError(
      'bad-compression',
      `${name} block gave ${out.length} bytes, header says ${expected}`,
      offset,
      where,
    );
  }
  return out;
}

/**
 * Decodes one whole zstd block into exactly `size` bytes (throws on corrupt data or another
 * size). Hosts that can reach a native libzstd install one (setZstdDecoder) for speed.
 */
export type ZstdBlockDecoder = (data: Uint8Array, size: number) => Uint8Array;

let zstdDecoder: ZstdBlockDecoder | undefined;

/** Use `decoder` for zstd blocks from now on (undefined: back to the pure-JS fzstd). */
export function setZstdDecoder(decoder: ZstdBlockDecoder | undefined): void {
  zstdDecoder = decoder;
}

/** Refuse absurd sizes before allocating (a flipped bit in a size word must not eat 4 GB). */
const MAX_BLOCK = 1 << 30;

export function codecFor(name: string): Codec {
  switch (name) {
    case 'none':
      return {
        name: 'none',
        decompress: (data) => data,
      };
    case 'zlib':
      return {
        name: 'zlib',
        decompress(data, size, where, offset) {
          if (size > MAX_BLOCK)
            throw new DecodeError('bad-compression', `block size ${size}`, offset, where);
          return checked(
            'zlib',
            () => unzlibSync(data, {out: new Uint8Array(size)}),
            size,
            where,
            offset,
          );
        },
      };
    case 'zstd':
      return {
        name: 'zstd',
        decompress(data, size, where, offset) {
          if (size > MAX_BLOCK)
            throw new DecodeError('bad-compression', `block size ${size}`, offset, where);
          // No output buffer: with one fzstd takes a ~3x slower path for trace-cmd's frames
          // (no content size, 64 KB window). The size is checked afterwards.
          const native = zstdDecoder;
          if (native) return checked('zstd', () => native(data, size), size, where, offset);
          return checked('zstd', () => zstdDecompress(data), size, where, offset);
        },
      };
    default:
      throw new DecodeError(
        'unsupported',
        `compression '${name}' is not supported`,
        0,
        'trace.dat header',
      );
  }
}
