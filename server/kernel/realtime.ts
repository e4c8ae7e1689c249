/**
 * Whether this process may run a thread under a real-time policy (SCHED_FIFO), found out without
 * trying: the mmap source decides before it starts its reader thread whether that thread is
 * worth having (measured in issue #6: at real-time priority it reads on time under load; at
 * normal priority it mostly costs CPU). Linux allows it with CAP_SYS_NICE in the effective
 * capability set, or up to the soft RLIMIT_RTPRIO without it. Both are read from /proc.
 */
import {readFileSync} from 'node:fs';

const CAP_SYS_NICE = 23;

/** CAP_SYS_NICE in the `CapEff:` line of a /proc/<pid>/status text (false when absent). */
export function hasSysNice(statusText: string): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)\s*$/im.exec(statusText);
  if (!m) return false;
  return ((BigInt(`0x${m[1]}`) >> BigInt(CAP_SYS_NICE)) & 1n) === 1n;
}

/** The soft "Max realtime priority" of a /proc/<pid>/limits text (0 when absent). */
export function rtprioLimit(limitsText: string): number {
  const m = /^Max realtime priority\s+(\S+)/im.exec(limitsText);
  if (!m) return 0;
  return m[1] === 'unlimited' ? 99 : Number(m[1]) || 0;
}

/** Whether sched_setscheduler(SCHED_FIFO, `priority`) would be allowed to this process. */
export function mayUseRealtime(priority: number): boolean {
  if (priority <= 0) return false;
  try {
    if (hasSysNice(readFileSync('/proc/self/status', 'utf8'))) return true;
    return rtprioLimit(readFileSync('/proc/self/limits', 'utf8')) >= priority;
  } catch {
    return false; // not Linux, or /proc not mounted: no mmap source either
  }
}
