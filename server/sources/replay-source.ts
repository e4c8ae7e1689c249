import {closeSync, fstatSync, openSync, readSync} from 'node:fs';
import type {ByteSource} from '../../core/tracedat/byte-source.ts';

/** A ByteSource over a file descriptor: positioned reads, nothing cached. */
export class FileByteSource implements ByteSource {
  private fd: number;
  readonly size: number;

  private constructor(fd: number) {
    this.fd = fd;
    this.size = fstatSync(fd).size;
  }

  static open(path: string): FileByteSource {
    return new FileByteSource(openSync(path, 'r'));
  }

  read(offset: number, length: number): Uint8Array {
    const n = Math.max(0, Math.min(length, this.size - offset));
    const buf = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const r = readSync(this.fd, buf, done, n - done, offset + done);
      if (r <= 0) break;
      done += r;
    }
    return done === n ? buf : buf.subarray(0, done);
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}
