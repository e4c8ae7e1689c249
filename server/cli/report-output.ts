/**
 * Output and decompression for `ringside report` (both of its threads): synchronous writes to
 * fd 1, and zstd blocks through the system's libzstd (koffi) when it loads, else the pure-JS
 * decoder.
 */
import {writeSync} from 'node:fs';
import {createRequire} from 'node:module';
import {decompress as fzstdDecompress} from 'fzstd';
import type * as KoffiNs from 'koffi';
import {setZstdDecoder, type ZstdBlockDecoder} from '../../core/tracedat/compression.ts';

/**
 * Synchronous writes to fd 1. A non-blocking pipe (EAGAIN) is waited on briefly and retried;
 * a reader that has gone (EPIPE) makes every later write return false.
 */
export class StdoutWriter {
  private closed = false;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));
  get gone(): boolean {
    return this.closed;
  }
  /** UTF-8 of the text being written (reused: no buffer per chunk, no length pass). */
  private buf = Buffer.allocUnsafeSlow(1 << 18);

  write(text: string): boolean {
    if (this.closed) return false;
    if (text.length * 3 > this.buf.length) this.buf = Buffer.allocUnsafeSlow(text.length * 3);
    const n = this.buf.write(text, 0, 'utf8');
    return this.writeBytes(this.buf.subarray(0, n));
  }

  writeBytes(buf: Uint8Array, from = 0): boolean {
    let done = from;
    while (done < buf.length) {
      if (this.closed) return false;
      try {
        done += writeSync(1, buf, done);
      } catch (e) {
        if (!this.failed(e)) throw e;
      }
    }
    return !this.closed;
  }

  /** Handle a write error: true for EAGAIN (after a short wait) and EPIPE (closes). */
  private failed(e: unknown): boolean {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN') {
      Atomics.wait(this.sleeper, 0, 0, 1);
      return true;
    }
    if (code === 'EPIPE') {
      this.closed = true;
      return true;
    }
    return false;
  }
}

type ZstdDecompress = (dst: Uint8Array, cap: number, src: Uint8Array, n: number) => number | bigint;

/** The system libzstd's block decoder through koffi, or undefined if it cannot be loaded. */
function nativeZstd(): ZstdBlockDecoder | undefined {
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof KoffiNs;
    const lib = koffi.load('libzstd.so.1');
    const decompress = lib.func(
      'size_t ZSTD_decompress(void *dst, size_t cap, const void *src, size_t n)',
    ) as ZstdDecompress;
    const isError = lib.func('unsigned int ZSTD_isError(size_t code)') as (
      code: number | bigint,
    ) => number;
    const errorName = lib.func('const char *ZSTD_getErrorName(size_t code)') as (
      code: number | bigint,
    ) => string;
    return (data, size) => {
      const out = new Uint8Array(size);
      const r = decompress(out, size, data, data.length);
      if (isError(r)) throw new Error(errorName(r));
      return Number(r) === size ? out : out.subarray(0, Number(r));
    };
  } catch {
    return undefined;
  }
}

/**
 * Decode zstd blocks with the system libzstd through koffi, loaded on the first zstd block (a
 * file without any does not pay the ~10 ms of loading koffi); fzstd if that fails.
 */
export function installNativeZstd(): void {
  setZstdDecoder((data, size) => {
    const native = nativeZstd();
    setZstdDecoder(native);
    return native ? native(data, size) : fzstdDecompress(data);
  });
}
