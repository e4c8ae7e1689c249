/**
 * One client's side of the fan-out: its credits, its bounded queue (the window) and the slices it
 * missed, turned into GAP frames (architecture.md, "Back-pressure and loss").
 *
 *   source slice ──offerData──► [ window: ≤ windowFrames data frames, ≤ windowBytes ] ──pump──► socket
 *                       │ full                         (control frames ride along, credit-free)
 *                       └──► pending gap per CPU ──► GAP frame, queued right before the next
 *                                                    accepted frame of that CPU (or when idle)
 *
 * Data frames (SUBBUF, META) cost one credit each and their size in byte credits (one frame may
 * overdraw the byte credit, so a frame larger than the grant cannot deadlock). A META that finds
 * the window full waits (only the newest per CPU) until there is room, never dropped: the source
 * sends a meta page only when it changed, so it may be the last word on that CPU's kernel loss. Control frames
 * (HELLO, METADATA, GAP, NOTICE, STATS) are small and never wait for credits. Nothing is sent
 * while the socket's `bufferedAmount` is above the high-water mark: the socket's own buffer is
 * then drained by the OS, and the `send` callback wakes the pump again.
 *
 * Memory per client is bounded by windowBytes + highWaterBytes + one frame, whatever the rate.
 * Frames are shared between clients (one encoded Uint8Array per slice).
 *
 * Messages: a client that said `multiFrame` in HELLO_ACK gets as many consecutive sendable frames
 * as fit in MAX_MULTI_FRAME_MESSAGE_BYTES in one WebSocket message (one `send`, one writev: the
 * per-message cost was a quarter of the server's profile). Credits are still taken per frame,
 * exactly as for one frame per message. Frames the fan-out laid out back to back in one buffer
 * (all frames of one read) go out as one view of that buffer, without a copy; anything else (a
 * GAP in between) is concatenated. Urgent frames are sent before the rest, as their own message.
 */
import {encodeGap, GapReason, MAX_MULTI_FRAME_MESSAGE_BYTES} from '../../core/protocol.ts';

/** What the queue needs from a WebSocket (the `ws` package's WebSocket fits). */
export interface FrameSink {
  readonly bufferedAmount: number;
  send(data: Uint8Array, cb: (err?: Error) => void): void;
  close(code: number, reason: string): void;
}

export interface WindowOptions {
  /** Data frames queued per client at most before slices are dropped for it. */
  windowFrames: number;
  /** Bytes of data frames queued per client at most. */
  windowBytes: number;
  /** No send while the socket buffers more than this many bytes. */
  highWaterBytes: number;
}

interface Entry {
  frame: Uint8Array;
  /** Data frames cost credits and count in the window; control frames do not. */
  data: boolean;
}

interface PendingGap {
  firstSeq: number;
  lastSeq: number;
  slices: number;
  bytes: number;
}

export class ClientQueue {
  /** Credits granted by the client and not yet used. */
  creditFrames = 0;
  creditBytes = 0;
  private queue: Entry[] = [];
  private head = 0;
  /** Urgent control frames: sent ahead of the queue (they never wait behind uncredited data). */
  private urgent: Uint8Array[] = [];
  queuedFrames = 0;
  queuedBytes = 0;
  private readonly gaps = new Map<number, PendingGap>();
  private readonly lastMeta = new Map<number, Uint8Array>();
  /**
   * Per CPU, the newest META that found the window full: queued as soon as there is room. It
   * cannot simply be dropped: the source sends a meta page only when it changed, so after the
   * last burst of a CPU the dropped one would have been the client's last word on its loss.
   */
  private readonly pendingMeta = new Map<number, {frame: Uint8Array; meta: Uint8Array}>();
  private sending = false;
  closed = false;
  /** Several frames per message (HELLO_ACK `multiFrame`). */
  multiFrame = false;
  /** While > 0, offers queue without sending (the fan-out offers a whole read, then sends). */
  private corked = 0;
  // Counters, reported in STATS and by tests.
  framesSent = 0;
  bytesSent = 0;
  messagesSent = 0;
  gapSlices = 0;
  gapBytes = 0;
  gapFrames = 0;
  /** METAs that found the window full and waited (a newer one of the same CPU replaces it). */
  metasDeferred = 0;

  constructor(
    readonly sink: FrameSink,
    readonly opts: WindowOptions,
    /** Called after a send completes, so the owner can read more for this client. */
    private readonly onDrain: () => void = () => {},
  ) {}

  /** Frames this client could take now without queueing past its credits or window. */
  room(): number {
    if (this.closed || this.creditBytes - this.queuedBytes <= 0) return 0;
    return Math.max(
      0,
      Math.min(this.creditFrames - this.queuedFrames, this.opts.windowFrames - this.queuedFrames),
    );
  }

  grant(frames: number, bytes: number): void {
    this.creditFrames += frames;
    this.creditBytes += bytes;
    this.pump();
  }

  private hasWindowFor(len: number): boolean {
    return (
      this.queuedFrames < this.opts.windowFrames &&
      (this.queuedFrames === 0 || this.queuedBytes + len <= this.opts.windowBytes)
    );
  }

  /** Offer one SUBBUF frame. Returns false when it was dropped (and recorded for a GAP). */
  offerSlice(frame: Uint8Array, cpu: number, seq: number, sliceBytes: number): boolean {
    if (this.closed) return false;
    if (!this.hasWindowFor(frame.length)) {
      const g = this.gaps.get(cpu);
      if (g) {
        g.lastSeq = seq;
        g.slices++;
        g.bytes += sliceBytes;
      } else {
        this.gaps.set(cpu, {firstSeq: seq, lastSeq: seq, slices: 1, bytes: sliceBytes});
      }
      this.gapSlices++;
      this.gapBytes += sliceBytes;
      return false;
    }
    this.flushGap(cpu);
    this.push({frame, data: true});
    this.pump();
    return true;
  }

  /**
   * Offer one META frame. Counters are cumulative, so only the newest per CPU matters: one equal
   * to the last this client got (same raw meta page) is not sent at all, and one that finds the
   * window full waits (replacing an older waiting one) until there is room. Returns true when
   * queued now.
   */
  offerMeta(frame: Uint8Array, cpu: number, meta: Uint8Array): boolean {
    if (this.closed) return false;
    this.pendingMeta.delete(cpu);
    const last = this.lastMeta.get(cpu);
    if (last && sameBytes(last, meta)) return false;
    if (!this.hasWindowFor(frame.length)) {
      this.metasDeferred++;
      this.pendingMeta.set(cpu, {frame, meta});
      return false;
    }
    this.lastMeta.set(cpu, meta);
    this.push({frame, data: true});
    this.pump();
    return true;
  }

  /** Queue the METAs that waited for room, as far as the window allows (oldest CPU first). */
  private queuePendingMetas(): void {
    for (const [cpu, m] of this.pendingMeta) {
      if (!this.hasWindowFor(m.frame.length)) return;
      this.pendingMeta.delete(cpu);
      this.lastMeta.set(cpu, m.meta);
      this.push({frame: m.frame, data: true});
    }
  }

  /** Queue a control frame (never dropped, never waits for credits). */
  sendControl(frame: Uint8Array): void {
    if (this.closed) return;
    this.push({frame, data: false});
    this.pump();
  }

  /**
   * Queue a control frame that must not wait behind data the client has no credits for (state
   * notices such as tracing-off, CONTROL answers): it may overtake queued data frames, so only
   * frames whose order relative to the data does not matter go here.
   */
  sendUrgent(frame: Uint8Array): void {
    if (this.closed) return;
    this.urgent.push(frame);
    this.pump();
  }

  /** Control frames waiting (STATS are skipped while this is high). */
  get backlog(): number {
    return this.queue.length - this.head + this.urgent.length;
  }

  private push(e: Entry): void {
    this.queue.push(e);
    if (e.data) {
      this.queuedFrames++;
      this.queuedBytes += e.frame.length;
    }
  }

  private flushGap(cpu: number): void {
    const g = this.gaps.get(cpu);
    if (!g) return;
    this.gaps.delete(cpu);
    this.gapFrames++;
    this.push({frame: encodeGap({cpu, reason: GapReason.SLOW_CLIENT, ...g}), data: false});
  }

  /** Hold sends until uncork(), so frames offered meanwhile can share one message. */
  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (this.corked > 0 && --this.corked === 0) this.pump();
  }

  /** Send what credits and the socket's high-water mark allow. */
  pump(): void {
    if (this.sending || this.closed || this.corked > 0) return;
    this.sending = true;
    try {
      if (this.pendingMeta.size > 0) this.queuePendingMetas();
      while (this.urgent.length > 0 && this.sink.bufferedAmount < this.opts.highWaterBytes) {
        const frame = this.urgent.shift()!;
        this.framesSent++;
        this.bytesSent += frame.length;
        this.sendMessage(frame);
      }
      const max = this.multiFrame ? MAX_MULTI_FRAME_MESSAGE_BYTES : 0;
      while (this.head < this.queue.length) {
        if (this.sink.bufferedAmount >= this.opts.highWaterBytes) break;
        // One message: the next frames that credits allow, up to `max` bytes (one at least).
        const first = this.head;
        let bytes = 0;
        while (this.head < this.queue.length) {
          const e = this.queue[this.head];
          const len = e.frame.length;
          if (this.head > first && bytes + len > max) break;
          if (e.data) {
            if (this.creditFrames <= 0 || this.creditBytes <= 0) break;
            this.creditFrames--;
            this.creditBytes -= len;
            this.queuedFrames--;
            this.queuedBytes -= len;
          }
          this.head++;
          bytes += len;
        }
        if (this.head === first) break;
        this.framesSent += this.head - first;
        this.bytesSent += bytes;
        this.sendMessage(this.joined(first, this.head, bytes));
      }
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
        // Idle: tell the client now about what it missed, rather than with its next slice.
        if (this.gaps.size > 0 && this.sink.bufferedAmount < this.opts.highWaterBytes) {
          for (const cpu of [...this.gaps.keys()]) this.flushGap(cpu);
          this.sending = false;
          this.pump();
          return;
        }
      } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    } finally {
      this.sending = false;
    }
  }

  private sendMessage(data: Uint8Array): void {
    this.messagesSent++;
    this.sink.send(data, (err) => {
      if (err) return;
      this.pump();
      this.onDrain();
    });
  }

  /** Frames queue[from, to) as one message: a view when they lie back to back in one buffer. */
  private joined(from: number, to: number, bytes: number): Uint8Array {
    const a = this.queue[from].frame;
    if (to - from === 1) return a;
    let contiguous = true;
    for (let i = from + 1, end = a.byteOffset + a.length; i < to && contiguous; i++) {
      const f = this.queue[i].frame;
      contiguous = f.buffer === a.buffer && f.byteOffset === end;
      end += f.length;
    }
    if (contiguous) return new Uint8Array(a.buffer, a.byteOffset, bytes);
    const out = new Uint8Array(bytes);
    for (let i = from, at = 0; i < to; i++) {
      out.set(this.queue[i].frame, at);
      at += this.queue[i].frame.length;
    }
    return out;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.urgent = [];
    this.head = 0;
    this.queuedFrames = this.queuedBytes = 0;
    this.gaps.clear();
    this.pendingMeta.clear();
    try {
      this.sink.close(code, reason);
    } catch {
      // already closed
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
