/**
 * A kernel reader's guard against a spin: rounds that read nothing although poll() (or the
 * reader page) had just said there was data. A drain consumes what poll saw, but poll also
 * reports POLLERR/POLLHUP/POLLNVAL as ready, and a loop of poll → empty read → poll would burn a
 * CPU (a whole one from every normal task on the reader thread, which runs under SCHED_FIFO). So
 * after `limit` such rounds in a row the reader pauses `pauseMs` before each further one, and the
 * first pause is reported as an error notice. Used by the reader thread and by InstanceSession
 * (the main-thread mmap reader and the read() source).
 */
import type {SourceNotice} from '../source.ts';

export class SpinGuard {
  private streak = 0;
  /** Pauses taken so far. */
  pauses = 0;

  constructor(
    /** Who reads, for the notice, e.g. 'mmap reader thread'. */
    readonly what: string,
    readonly limit = 4,
    readonly pauseMs = 10,
  ) {}

  /**
   * Note a round: did it expect data, did it find any. Returns the pause to take before the
   * next round (ms, or 0); the first pause also pushes an error notice onto `notices`.
   */
  note(expected: boolean, found: boolean, notices?: SourceNotice[]): number {
    if (!expected || found) {
      this.streak = 0;
      return 0;
    }
    if (++this.streak < this.limit) return 0;
    if (++this.pauses === 1) {
      notices?.push({
        kind: 'error',
        message: `${this.what}: poll() said data was ready ${this.limit} times in a row but reading found none; pausing ${this.pauseMs} ms between such rounds`,
      });
    }
    return this.pauseMs;
  }
}
