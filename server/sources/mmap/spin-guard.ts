/**
 * The mmap reader thread's guard against a spin: rounds that read nothing although poll() (or
 * the reader page) had just said there was data. A drain consumes what poll saw, but poll also
 * reports POLLERR/POLLHUP/POLLNVAL as ready, and a thread under SCHED_FIFO that looped without
 * blocking would take a CPU from every normal task. So after `limit` such rounds in a row the
 * loop pauses `pauseMs` before each further one (reader-thread.ts says so once).
 */
export class SpinGuard {
  private streak = 0;
  /** Pauses taken so far. */
  pauses = 0;

  constructor(
    readonly limit = 4,
    readonly pauseMs = 10,
  ) {}

  /** Note a round: did it expect data, did it find any. Returns the pause to take (ms, or 0). */
  note(expected: boolean, found: boolean): number {
    if (!expected || found) {
      this.streak = 0;
      return 0;
    }
    if (++this.streak < this.limit) return 0;
    this.pauses++;
    return this.pauseMs;
  }
}
