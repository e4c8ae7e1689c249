/**
 * Keeps the server's own threads out of its own instance, as `trace-cmd record` does for its
 * processes unless given --no-filter. Without it, with raw_syscalls (or anything the reader's
 * work triggers) enabled, every read is traced, the trace of it is read again, and the stream
 * never goes quiet: the server's own syscalls were up to 84 % of what it delivered.
 *
 * How: the thread ids in /proc/self/task go to the instance's `set_event_notrace_pid` (appended;
 * the kernel drops a thread's events once it is listed, and forgets the id when the thread
 * exits). Threads can start later: libuv creates its whole threadpool (UV_THREADPOOL_SIZE, 4 by
 * default) at the first job queued on it, which for this server is usually the first poll() of
 * the mmap/read wait (fd-poller.ts, a koffi async call) or an async fs call; V8's platform
 * threads start with the process. So `refresh()` runs when the instance is created, right after
 * the first poll is queued, and with every state check (every 250 ms while reading), and adds
 * only ids it has not written yet. `event-fork` is left off on purpose: it would also hide the
 * processes the server starts (the browser it opens), which the user may want to trace.
 *
 * Own instance only (TraceInstance.addNotracePids refuses anything else). Best effort: a kernel
 * without set_event_notrace_pid (before 5.8) logs once and traces the server as before.
 */
import {readdirSync} from 'node:fs';
import type {TraceInstance} from './instance.ts';

/** Thread ids of this process (/proc/self/task); empty where /proc is not there. */
export function ownThreadIds(): number[] {
  try {
    return readdirSync('/proc/self/task')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

export class SelfFilter {
  private readonly written = new Set<number>();
  private failed = false;
  /** Times a refresh found new threads (tests, logs). */
  refreshes = 0;

  constructor(
    private readonly instance: TraceInstance,
    private readonly log?: (line: string) => void,
    private readonly threadIds: () => number[] = ownThreadIds,
  ) {}

  /** The thread ids written so far. */
  get pids(): number[] {
    return [...this.written];
  }

  /** Add threads started since the last call. Returns how many were added. */
  refresh(): number {
    if (this.failed) return 0;
    const fresh = this.threadIds().filter((t) => !this.written.has(t));
    if (fresh.length === 0) return 0;
    try {
      this.instance.addNotracePids(fresh);
    } catch (e) {
      this.failed = true;
      this.log?.(
        `cannot keep the server's own threads out of ${this.instance.dir}, they will be traced ` +
          `too: ${e instanceof Error ? e.message : String(e)}`,
      );
      return 0;
    }
    if (this.refreshes === 0) {
      this.log?.(
        `the server's own threads are kept out of ${this.instance.dir} ` +
          '(set_event_notrace_pid; --no-self-filter traces them too)',
      );
    }
    for (const t of fresh) this.written.add(t);
    this.refreshes++;
    return fresh.length;
  }
}
