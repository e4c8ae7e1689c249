/**
 * How long to hold back before looking for new data, from the observed data rate.
 *
 * Goals (numbers measured on this project's 2-core VM, see docs in the report):
 * - Idle: no timer ticks at all; the caller blocks in poll() with buffer_percent=0.
 * - Trickle: deliver a lone event within poll's wake latency (a few ms).
 * - Busy: batch. After a read that found data, hold back `baseGapMs` (16 ms, one 60 Hz frame:
 *   at most ~60 reads/s, each taking everything that piled up; a 1 ms reader slowed a 4.8 M/s writer to
 *   3.2 M/s), but never longer than a quarter of the time the whole buffer takes to fill at the
 *   observed rate (overrun guard), and never below `minGapMs`.
 * An earlier version also waited for a sub-buffer per CPU to fill; at low rates that turned into
 * a flat 50 ms of latency for nothing (rare events cost nothing to read one by one).
 */
export interface PacerOptions {
  cpus: number;
  subbufSize: number;
  /** Data bytes of the whole buffer, all CPUs. */
  bufferBytes: number;
  baseGapMs?: number;
  minGapMs?: number;
}

export class WaitPacer {
  /** Smoothed delivery rate, bytes per ms. */
  rateBytesPerMs = 0;
  private lastReadMs = 0;
  private lastBytes = 0;
  readonly baseGapMs: number;
  readonly minGapMs: number;

  constructor(private readonly o: PacerOptions) {
    this.baseGapMs = o.baseGapMs ?? 16;
    this.minGapMs = Math.min(o.minGapMs ?? 2, this.baseGapMs);
  }

  /** Record a read() that delivered `bytes` of new records at `nowMs`. */
  noteRead(bytes: number, nowMs: number): void {
    const dt = Math.max(1, nowMs - this.lastReadMs);
    const inst = bytes / dt;
    // Smooth over a few reads; decay fast to idle so an idle stream stops batching quickly.
    this.rateBytesPerMs =
      bytes === 0 ? this.rateBytesPerMs * 0.5 : 0.6 * this.rateBytesPerMs + 0.4 * inst;
    if (this.rateBytesPerMs < 1e-3) this.rateBytesPerMs = 0;
    this.lastReadMs = nowMs;
    this.lastBytes = bytes;
  }

  /** The gap wanted between the last read and the next one. */
  gapMs(): number {
    if (this.lastBytes === 0) return 0; // nothing came: go straight to poll()
    const rate = Math.max(this.rateBytesPerMs, 1e-6);
    const overrunGuardMs = this.o.bufferBytes / rate / 4;
    return Math.max(this.minGapMs, Math.min(this.baseGapMs, overrunGuardMs));
  }

  /** Milliseconds still to wait at `nowMs` before the next read may start. */
  remainingMs(nowMs: number): number {
    return Math.max(0, this.lastReadMs + this.gapMs() - nowMs);
  }
}
