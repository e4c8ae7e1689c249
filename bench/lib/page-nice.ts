/**
 * `bench painted --page-nice N`: keep every thread of the browser (its process and all its
 * descendants: renderer, GPU, network service) at nice N while a load runs. A diagnostic, not a
 * setting Ringside makes: with N < 0 the page's threads are first in line for the CPU, which
 * shows how much of the painted tail is waiting behind the rest of the machine (markgen, the
 * server, the Node consumer) and how much is the page's own threads and pipeline.
 *
 * Linux's setpriority(PRIO_PROCESS, tid) sets one thread's nice value, so each thread is set on
 * its own, and again every `everyMs`: for threads and processes started since (Chromium starts
 * threads and a renderer per page), and over Chromium's own changes (it lowers some threads'
 * priority itself). Negative values need CAP_SYS_NICE.
 */
import {readdirSync, readFileSync} from 'node:fs';
import {getPriority, setPriority} from 'node:os';
import {statField} from './sched-split.ts';

/** `root` and every process below it, from the parent pid in each `/proc/<pid>/stat`. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of readdirSync('/proc')) {
    const pid = Number(p);
    if (!Number.isInteger(pid)) continue;
    try {
      const ppid = statField(readFileSync(`/proc/${pid}/stat`, 'utf8'), 4);
      const list = children.get(ppid);
      if (list) list.push(pid);
      else children.set(ppid, [pid]);
    } catch {
      // Gone while we looked.
    }
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Threads of `pids` (each `/proc/<pid>/task` entry). */
function threadsOf(pids: number[]): number[] {
  const out: number[] = [];
  for (const pid of pids) {
    try {
      for (const t of readdirSync(`/proc/${pid}/task`)) out.push(Number(t));
    } catch {
      // Gone while we looked.
    }
  }
  return out;
}

export interface NiceHold {
  /**
   * Stop, and put every thread of the tree back to the nice value it had when first seen (0 for
   * threads started during the hold, which inherited the held value), so the next load of the
   * same browser starts as the first did. Returns how many threads were set and how many refused.
   */
  stop(): {threads: number; refused: number; firstError?: string};
}

/** Set every thread of `root`'s process tree to `nice` now and every `everyMs` until stopped. */
export function holdNice(root: number, nice: number, everyMs = 200): NiceHold {
  const original = new Map<number, number>();
  const refused = new Set<number>();
  let firstError: string | undefined;
  let firstPass = true;
  let stopped = false;
  const apply = () => {
    for (const tid of threadsOf(processTree(root))) {
      if (refused.has(tid)) continue;
      try {
        if (!original.has(tid)) original.set(tid, firstPass ? getPriority(tid) : 0);
        setPriority(tid, nice);
      } catch (e) {
        // ESRCH: the thread ended in between; anything else (EACCES without CAP_SYS_NICE) counts.
        if ((e as NodeJS.ErrnoException).code === 'ESRCH') continue;
        refused.add(tid);
        firstError ??= (e as Error).message;
      }
    }
    firstPass = false;
  };
  apply();
  const timer = setInterval(apply, everyMs);
  return {
    stop() {
      clearInterval(timer);
      if (!stopped) {
        stopped = true;
        for (const tid of threadsOf(processTree(root))) {
          try {
            setPriority(tid, original.get(tid) ?? 0);
          } catch {
            // Ended, or not ours to change: nothing to put back.
          }
        }
      }
      const threads = original.size - refused.size;
      return {threads, refused: refused.size, ...(firstError ? {firstError} : {})};
    },
  };
}
