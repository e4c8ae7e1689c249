/**
 * Remove `instances/ringside-<pid>[-n]` left behind by a Ringside process that died without
 * cleaning up. An instance whose pid is still alive belongs to a running server: leave it.
 */
import {readdirSync, rmdirSync} from 'node:fs';

const OWN_RE = /^ringside-(\d+)(?:-\d+)?$/;

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Returns the names removed. Failures (e.g. EBUSY: someone has it open) are logged and kept. */
export function removeStaleInstances(root: string, log?: (line: string) => void): string[] {
  let names: string[];
  try {
    names = readdirSync(`${root}/instances`);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = OWN_RE.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    try {
      rmdirSync(`${root}/instances/${name}`);
      removed.push(name);
      log?.(`removed stale tracefs instance ${name} (pid ${pid} is gone)`);
    } catch (e) {
      log?.(`could not remove stale instance ${name}: ${(e as Error).message}`);
    }
  }
  return removed;
}
