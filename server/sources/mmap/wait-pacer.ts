/**
 * How long to hold back before looking for new data, from the observed data rate.
 *
 * Every read has a fixed cost on both ends (GET_READER per CPU, one WebSocket message, one
 * event-loop turn in the consumer) and re-sends the reader sub-buffer from its start, so reading
 * more often than the busiest CPU fills a sub-buffer pays for the same bytes twice. Holding back
 * after a read batches that away, at the price of latency. Goals (2-core VM, issue #6):
 * - Idle: no timer ticks at all; the caller blocks in poll() with buffer_percent=0.
 * - A lone event (nothing read for longer than the gap) is read at once, when poll() wakes.
 * - Busy (a sub-buffer or more per `baseGapMs` on the busiest CPU): hold back `baseGapMs` (8 ms),
 *   ~110 reads/s whatever the rate, each taking whole sub-buffers; the latency aim (p99 < 20 ms
 *   write → decoded) leaves room for the read, the send and the decode of one such batch.
 * - Trickle (less than that): hold back `trickleGapMs`, by default the same 8 ms: a steady 1k/s
 *   stream is read ~110 times a second, each event waiting 4 ms on average. It was 4 ms (~200
 *   reads/s); every read re-sends the reader sub-buffer's prefix and a META, and the dashboard
 *   cannot show data sooner than its next frame anyway. `npm run bench painted --loads light`,
 *   four alternating pairs 4 → 8 ms (2026-12-06): server CPU 21–22 → 16–19 % of a core, the
 *   browser's 86–89 → 82–93 %, painted p99 42.5–62.8 → 36.5–40.4 ms (p50 unchanged, ~19 ms),
 *   write → decoded p99 11.1–15.8 → 13.8–19.8 ms.
 * - Overrun guard: never longer than a quarter of the time the busiest CPU takes to fill its own
 *   buffer at its observed rate (one CPU's buffer, that CPU's rate: other CPUs do not make room
 *   for it), and never below `minGapMs`.
 * The gap runs from the last read that found data; a read that found nothing cancels it (there is
 * nothing to batch with: go straight to poll).
 */
export interface PacerOptions {
  cpus: number;
  subbufSize: number;
  /** Data bytes of one CPU's buffer (all its sub-buffers but the reader page). */
  cpuBufferBytes: number;
  baseGapMs?: number;
  trickleGapMs?: number;
  minGapMs?: number;
}

export class WaitPacer {
  /** Smoothed delivery rate of the busiest CPU, bytes per ms. */
  rateBytesPerMs = 0;
  private lastReadMs = 0;
  private lastBytes = 0;
  readonly baseGapMs: number;
  readonly trickleGapMs: number;
  readonly minGapMs: number;

  constructor(private readonly o: PacerOptions) {
    this.baseGapMs = o.baseGapMs ?? 8;
    this.trickleGapMs = Math.min(o.trickleGapMs ?? this.baseGapMs, this.baseGapMs);
    this.minGapMs = Math.min(o.minGapMs ?? 1, this.trickleGapMs);
  }

  /**
   * Record a read() at `nowMs` that delivered `bytes` of new records, `busiestCpuBytes` of them
   * from the CPU that brought the most (defaults to all of them: a safe overestimate).
   */
  noteRead(bytes: number, nowMs: number, busiestCpuBytes = bytes): void {
    const dt = Math.max(1, nowMs - this.lastReadMs);
    const inst = busiestCpuBytes / dt;
    // Smooth over a few reads; decay fast to idle so an idle stream stops batching quickly.
    this.rateBytesPerMs =
      bytes === 0 ? this.rateBytesPerMs * 0.5 : 0.6 * this.rateBytesPerMs + 0.4 * inst;
    if (this.rateBytesPerMs < 1e-3) this.rateBytesPerMs = 0;
    this.lastReadMs = nowMs;
    this.lastBytes = bytes;
  }

  /** True while the busiest CPU brings a sub-buffer or more per base gap. */
  get busy(): boolean {
    return this.rateBytesPerMs * this.baseGapMs >= this.o.subbufSize;
  }

  /** The gap wanted between the last read and the next one. */
  gapMs(): number {
    if (this.lastBytes === 0) return 0; // nothing came: go straight to poll()
    const want = this.busy ? this.baseGapMs : this.trickleGapMs;
    const rate = Math.max(this.rateBytesPerMs, 1e-6);
    const overrunGuardMs = this.o.cpuBufferBytes / rate / 4;
    return Math.max(this.minGapMs, Math.min(want, overrunGuardMs));
  }

  /** Milliseconds still to wait at `nowMs` before the next read may start. */
  remainingMs(nowMs: number): number {
    return Math.max(0, this.lastReadMs + this.gapMs() - nowMs);
  }
}
