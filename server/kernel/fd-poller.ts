/**
 * Wait for "readable" on a set of tracefs fds without blocking Node's event loop and without
 * spinning: poll(2) runs on a libuv threadpool thread (koffi async call), with an eventfd in the
 * set so `wake()` (abort, close) interrupts it at once.
 *
 * Why a thread and not poll(0) + timers: a timer loop trades latency against idle CPU (1 ms ticks
 * cost CPU and slow the writer; 100 ms ticks add 100 ms latency). A blocking poll costs nothing
 * while idle and wakes within the kernel's irq_work latency. It occupies one of libuv's 4 pool
 * threads only while waiting; timeouts are capped so a thread is never parked for long.
 */
import {
  eventfdDrain,
  eventfdSignal,
  pollRevents,
  pollfdArray,
  sysClose,
  sysEventfd,
  sysPollAsync,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
} from './ffi.ts';

export interface PollResult {
  /** A watched fd is readable (or in error: the caller should look). */
  ready: boolean;
  /** `wake()` was called. */
  woken: boolean;
}

/**
 * What a poll(2) over `fds` (a pollfdArray whose last entry is the wake eventfd) returned with
 * `count` ready entries: data (or an error to look at) on a watched fd, and/or a wake-up.
 */
export function pollOutcome(fds: Buffer, count: number): PollResult {
  let ready = false;
  let woken = false;
  const n = fds.length / 8;
  if (count > 0) {
    for (let i = 0; i < n; i++) {
      const rev = pollRevents(fds, i);
      if (!rev) continue;
      if (i === n - 1) woken = true;
      else if (rev & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) ready = true;
    }
  }
  return {ready, woken};
}

export class FdPoller {
  private readonly efd: number;
  private readonly fds: Buffer;
  private inFlight: Promise<PollResult> | undefined;
  private closed = false;

  constructor(fds: number[]) {
    this.efd = sysEventfd();
    this.fds = pollfdArray([...fds, this.efd]);
  }

  /** Poll for up to `timeoutMs`. Concurrent callers share the one poll in flight. */
  poll(timeoutMs: number): Promise<PollResult> {
    if (this.closed) return Promise.resolve({ready: false, woken: true});
    if (this.inFlight) return this.inFlight;
    this.inFlight = sysPollAsync(this.fds, Math.max(0, Math.floor(timeoutMs)))
      .then((count) => {
        const r = pollOutcome(this.fds, count);
        if (r.woken && !this.closed) eventfdDrain(this.efd);
        return r;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  /** Interrupt a poll in flight (it resolves with `woken`). */
  wake(): void {
    if (!this.closed) eventfdSignal(this.efd);
  }

  /** Whether a poll is running on the threadpool. */
  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** Wait until the poll in flight (if any) has returned. */
  async settle(): Promise<void> {
    if (this.inFlight) await this.inFlight.catch(() => undefined);
  }

  /** Wake any poll, wait for it, then close the eventfd. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.wake();
    await this.settle();
    this.closeNow();
  }

  /** Signal-time variant: no waiting. */
  closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.inFlight) sysClose(this.efd);
    else {
      eventfdSignal(this.efd);
      // Close after the thread returns so the fd number is not reused under it.
      void this.inFlight.finally(() => sysClose(this.efd));
    }
  }
}
