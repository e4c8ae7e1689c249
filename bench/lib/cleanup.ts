/**
 * Everything a live benchmark leaves behind if it stops half-way: child processes (markgen,
 * trace-cmd, the server) and tracefs instances. Registered here, undone on normal exit, on
 * Ctrl-C (SIGINT reaches the whole process group; we still wait for and reap our own children,
 * then remove the instances) and on SIGTERM. Children are killed by their own pid only.
 */
import {execFileSync, type ChildProcess} from 'node:child_process';
import {existsSync, rmdirSync} from 'node:fs';
import {join} from 'node:path';

export const TRACEFS = '/sys/kernel/tracing';

const children = new Set<ChildProcess>();
/** Children started as leaders of their own process group (signalled as a group). */
const leaders = new WeakSet<ChildProcess>();
const instances = new Set<string>();
let shim: string | undefined;
let installed = false;
let interrupted = false;

/** True after SIGINT/SIGTERM reached a bench that called installCleanup(). */
export function wasInterrupted(): boolean {
  return interrupted;
}

export function trackChild(c: ChildProcess, groupLeader = false): ChildProcess {
  children.add(c);
  if (groupLeader) leaders.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}

/** An instance that must not survive the bench; trace-cmd's (`-B`) need `shimPath` to reset. */
export function trackInstance(name: string, shimPath?: string): void {
  instances.add(name);
  if (shimPath) shim = shimPath;
}

/** Remove one instance now (rmdir; `trace-cmd reset -B` first only if rmdir is refused). */
export function removeInstance(name: string): void {
  const dir = join(TRACEFS, 'instances', name);
  for (let i = 0; i < 6 && existsSync(dir); i++) {
    try {
      rmdirSync(dir);
    } catch {
      // busy for a moment while a reader closes; trace-cmd may also have left settings behind
      if (i === 2 && shim) {
        try {
          execFileSync('trace-cmd', ['reset', '-B', name], {
            stdio: 'ignore',
            timeout: 10_000,
            env: {...process.env, LD_PRELOAD: shim},
          });
        } catch {
          // fall through to rmdir
        }
      } else execFileSync('sleep', ['0.2']);
    }
  }
  instances.delete(name);
}

/** Signal a child we started (its whole group when it leads one). */
export function signalChild(c: ChildProcess, sig: NodeJS.Signals): void {
  if (c.exitCode !== null || c.signalCode !== null || !c.pid) return;
  try {
    process.kill(leaders.has(c) ? -c.pid : c.pid, sig);
  } catch {
    // already gone
  }
}

/** SIGKILL what is left of the process group a child we started leads (after it exited). */
export function killGroup(c: ChildProcess): void {
  if (!c.pid || !leaders.has(c)) return;
  try {
    process.kill(-c.pid, 'SIGKILL');
  } catch {
    // no process left in the group
  }
}

/**
 * Call `done` once when the child has exited and its output pipes are drained. 'exit' alone
 * can come before the last stdout chunk (seen: markgen's one summary line lost, "markgen
 * failed (0): "); 'close' waits for every holder of the pipes, which a surviving grandchild
 * (a trace-cmd recorder) can delay forever, so after 'exit' the group is killed (when the
 * child leads one: a recorder that outlived trace-cmd would keep its instance busy) and
 * `graceMs` later `done` runs anyway. Callers need not kill the group themselves.
 */
export function onEnded(
  c: ChildProcess,
  done: (code: number | null, signal: NodeJS.Signals | null) => void,
  graceMs = 2000,
): void {
  let called = false;
  const once = (code: number | null, signal: NodeJS.Signals | null) => {
    if (called) return;
    called = true;
    clearTimeout(timer);
    done(code, signal);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  c.on('exit', (code, signal) => {
    killGroup(c);
    timer = setTimeout(() => once(code, signal), graceMs);
  });
  c.on('close', (code, signal) => once(code, signal));
}

export function cleanupNow(): void {
  for (const c of children) {
    if (c.exitCode === null && c.pid) {
      try {
        process.kill(leaders.has(c) ? -c.pid : c.pid, 'SIGTERM');
      } catch {
        // gone
      }
    }
  }
  for (const name of [...instances]) removeInstance(name);
}

/** Install exit/signal handlers once. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupNow);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      interrupted = true;
      process.exitCode = 130; // run.ts: a failure after this is the interruption, not an error
      console.error(`\n${sig}: stopping children and removing instances …`);
      cleanupNow();
      // Give a killed server a moment to remove its own instance, then check again.
      setTimeout(() => {
        cleanupNow();
        process.exit(130);
      }, 1500);
    });
  }
}
