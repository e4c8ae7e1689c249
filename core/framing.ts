/**
 * Splits a byte stream back into protocol frames, for transports that split or merge messages
 * (a pipe, a TCP socket, a recorded stream) and for multi-frame WebSocket messages (HELLO_ACK
 * `multiFrame`: one message holds one or more whole frames). Same idea as Perfetto's
 * ProtoRingBuffer: `append(chunk)` then call `readMessage()` until it returns undefined.
 *
 * Fast path: a frame that lies whole inside one appended chunk is handed back as a view of that
 * chunk (the chunk itself when it is exactly one frame): no copy, no allocation but the view. So
 * a WebSocket message of N frames costs N views. Only a frame split across chunks is assembled in
 * one growable buffer and returned as its own copy. Views share the chunk's memory: the caller
 * must not change a chunk after appending it (a received message never is).
 *
 * A header that cannot be right (see checkFrameHeader) throws DecodeError('bad-frame') with the
 * offset in the stream; the reader is then poisoned, because nothing after it can be trusted.
 */
import {DecodeError} from './errors.ts';
import {checkFrameHeader} from './protocol-decode.ts';
import {FRAME_HEADER_BYTES, MAX_SERVER_FRAME_BYTES} from './protocol.ts';

const INITIAL_CAPACITY = 64 * 1024;

export class FrameReader {
  /** Bytes of a frame split across chunks (stream order: before every queued chunk). */
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private start = 0;
  private end = 0;
  /** Stream offset of the next byte not yet returned, for error messages. */
  private streamOffset = 0;
  /** Appended chunks not yet consumed, in order; the first from `chunkPos`. */
  private chunks: Uint8Array[] = [];
  private chunkHead = 0;
  private chunkPos = 0;
  private chunkView: DataView | undefined;
  private failure: DecodeError | undefined;

  constructor(private readonly maxFrameBytes = MAX_SERVER_FRAME_BYTES) {}

  /** Bytes held that are not yet returned as frames. */
  get pendingBytes(): number {
    let n = this.end - this.start - this.chunkPos;
    for (let i = this.chunkHead; i < this.chunks.length; i++) n += this.chunks[i].length;
    return n;
  }

  append(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    if (this.chunkHead === this.chunks.length) {
      this.chunks.length = this.chunkHead = this.chunkPos = 0;
      this.chunkView = undefined;
    }
    this.chunks.push(chunk);
  }

  /** The next whole frame, or undefined when more bytes are needed. */
  readMessage(): Uint8Array | undefined {
    if (this.failure) throw this.failure;
    for (;;) {
      const buffered = this.end - this.start;
      const c = this.chunks[this.chunkHead];
      if (buffered === 0) {
        if (!c) return undefined;
        const avail = c.length - this.chunkPos;
        if (avail >= FRAME_HEADER_BYTES) {
          this.chunkView ??= new DataView(c.buffer, c.byteOffset, c.byteLength);
          const {frameBytes} = this.check(this.chunkView, this.chunkPos, avail);
          if (frameBytes <= avail) {
            const at = this.chunkPos;
            this.chunkPos += frameBytes;
            this.streamOffset += frameBytes;
            if (this.chunkPos === c.length) this.nextChunk();
            return frameBytes === c.length ? c : c.subarray(at, at + frameBytes);
          }
        }
        // The frame runs past this chunk: assemble it in `buf`.
        this.take(c, avail);
        continue;
      }
      if (buffered >= FRAME_HEADER_BYTES) {
        const {frameBytes} = this.check(this.view, this.start, buffered);
        if (buffered >= frameBytes) {
          const msg = this.buf.slice(this.start, this.start + frameBytes);
          this.start += frameBytes;
          this.streamOffset += frameBytes;
          if (this.start === this.end) this.start = this.end = 0;
          return msg;
        }
        if (!c) return undefined;
        // Only what this frame still needs: the frames after it stay on the fast path.
        this.take(c, Math.min(frameBytes - buffered, c.length - this.chunkPos));
      } else {
        if (!c) return undefined;
        this.take(c, Math.min(FRAME_HEADER_BYTES - buffered, c.length - this.chunkPos));
      }
    }
  }

  /** Move `n` bytes from the head chunk into `buf`. */
  private take(c: Uint8Array, n: number): void {
    this.ensure(n);
    this.buf.set(c.subarray(this.chunkPos, this.chunkPos + n), this.end);
    this.end += n;
    this.chunkPos += n;
    if (this.chunkPos === c.length) this.nextChunk();
  }

  private nextChunk(): void {
    this.chunkHead++;
    this.chunkPos = 0;
    this.chunkView = undefined;
    if (this.chunkHead === this.chunks.length) this.chunks.length = this.chunkHead = 0;
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
