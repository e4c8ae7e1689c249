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
 * overdraw the byte credit, so a frame larger than the grant cannot deadlock). Control frames
 * (HELLO, METADATA, GAP, NOTICE, STATS) are small and never wait for credits. Nothing is sent
 * while the socket's `bufferedAmount` is above the high-water mark: the socket's own buffer is
 * then drained by the OS, and the `send` callback wakes the pump again.
 *
 * Memory per client is bounded by windowBytes + highWaterBytes + one frame, whatever the rate.
 * Frames are shared between clients (one encoded Uint8Array per slice).
 */
import {encodeGap, GapReason} from '../../core/protocol.ts';

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
  private sending = false;
  closed = false;
  // Counters, reported in STATS and by tests.
  framesSent = 0;
  bytesSent = 0;
  gapSlices = 0;
  gapBytes = 0;
  gapFrames = 0;
  metasDropped = 0;

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
   * Offer one META frame: counters are cumulative, so a dropped one loses nothing, and one equal
   * to the last this client got (same raw meta page) is not sent at all.
   */
  offerMeta(frame: Uint8Array, cpu: number, meta: Uint8Array): boolean {
    if (this.closed) return false;
    const last = this.lastMeta.get(cpu);
    if (last && sameBytes(last, meta)) return false;
    if (!this.hasWindowFor(frame.length)) {
      this.metasDropped++;
      return false;
    }
    this.lastMeta.set(cpu, meta);
    this.push({frame, data: true});
    this.pump();
    return true;
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

  /** Send what credits and the socket's high-water mark allow. */
  pump(): void {
    if (this.sending || this.closed) return;
    this.sending = true;
    try {
      while (this.urgent.length > 0 && this.sink.bufferedAmount < this.opts.highWaterBytes) {
        const frame = this.urgent.shift()!;
        this.framesSent++;
        this.bytesSent += frame.length;
        this.sink.send(frame, (err) => {
          if (err) return;
          this.pump();
          this.onDrain();
        });
      }
      while (this.head < this.queue.length) {
        if (this.sink.bufferedAmount >= this.opts.highWaterBytes) break;
        const e = this.queue[this.head];
        if (e.data) {
          if (this.creditFrames <= 0 || this.creditBytes <= 0) break;
          this.creditFrames--;
          this.creditBytes -= e.frame.length;
          this.queuedFrames--;
          this.queuedBytes -= e.frame.length;
        }
        this.head++;
        this.framesSent++;
        this.bytesSent += e.frame.length;
        this.sink.send(e.frame, (err) => {
          if (err) return;
          this.pump();
          this.onDrain();
        });
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

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.urgent = [];
    this.head = 0;
    this.queuedFrames = this.queuedBytes = 0;
    this.gaps.clear();
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
