/**
 * Splits a byte stream back into protocol frames, for transports that split or merge messages
 * (a WebSocket keeps message boundaries; a pipe, a TCP socket or a recorded stream does not).
 * Same idea as Perfetto's ProtoRingBuffer: `append(chunk)` then call `readMessage()` until it
 * returns undefined.
 *
 * Fast path: when nothing is buffered and a chunk is exactly one whole frame, that chunk is
 * handed back as is (no copy); this is every message on a WebSocket. Otherwise bytes go into one
 * growable buffer and each complete frame is returned as its own copy, so what the caller keeps
 * never changes under it.
 *
 * A header that cannot be right (see checkFrameHeader) throws DecodeError('bad-frame') with the
 * offset in the stream; the reader is then poisoned, because nothing after it can be trusted.
 */
import {DecodeError} from './errors.ts';
import {checkFrameHeader} from './protocol-decode.ts';
import {FRAME_HEADER_BYTES, MAX_SERVER_FRAME_BYTES} from './protocol.ts';

const INITIAL_CAPACITY = 64 * 1024;

export class FrameReader {
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private start = 0;
  private end = 0;
  /** Stream offset of buf[start], for error messages. */
  private streamOffset = 0;
  /** Whole frames received on the fast path, in arrival order, ahead of `buf`. */
  private ready: Uint8Array[] = [];
  private failure: DecodeError | undefined;

  constructor(private readonly maxFrameBytes = MAX_SERVER_FRAME_BYTES) {}

  /** Bytes held that are not yet returned as frames. */
  get pendingBytes(): number {
    let n = this.end - this.start;
    for (const r of this.ready) n += r.length;
    return n;
  }

  append(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    if (this.start === this.end && chunk.length >= FRAME_HEADER_BYTES) {
      const v = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const len = v.getUint32(4, true);
      if (len === chunk.length) {
        this.ready.push(chunk);
        return;
      }
    }
    this.ensure(chunk.length);
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** The next whole frame, or undefined when more bytes are needed. */
  readMessage(): Uint8Array | undefined {
    if (this.failure) throw this.failure;
    const whole = this.ready.shift();
    if (whole) {
      this.check(new DataView(whole.buffer, whole.byteOffset, whole.byteLength), 0, whole.length);
      this.streamOffset += whole.length;
      return whole;
    }
    const avail = this.end - this.start;
    if (avail < FRAME_HEADER_BYTES) return undefined;
    const {frameBytes} = this.check(this.view, this.start, avail);
    if (avail < frameBytes) return undefined;
    const msg = this.buf.slice(this.start, this.start + frameBytes);
    this.start += frameBytes;
    this.streamOffset += frameBytes;
    if (this.start === this.end) this.start = this.end = 0;
    return msg;
  }

  private check(view: DataView, base: number, avail: number): {frameBytes: number} {
    try {
      return checkFrameHeader(view, base, avail, this.maxFrameBytes, false);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.failure = new DecodeError(
        'bad-frame',
        e.detail,
        this.streamOffset + (e.offset - base),
        'frame stream',
      );
      throw this.failure;
    }
  }

  private ensure(extra: number): void {
    const live = this.end - this.start;
    if (this.end + extra <= this.buf.length) return;
    if (live + extra <= this.buf.length && this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
    } else {
      let cap = Math.max(this.buf.length * 2, INITIAL_CAPACITY);
      while (cap < live + extra) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(this.start, this.end));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.start = 0;
    this.end = live;
  }
}
