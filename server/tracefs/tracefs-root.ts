/**
 * Where tracefs is. Looks at the usual mount points, then /proc/mounts, and (as root, when asked)
 * mounts it at /sys/kernel/tracing the way the kernel documentation does.
 */
import {execFileSync} from 'node:child_process';
import {accessSync, constants, existsSync, readFileSync, readdirSync} from 'node:fs';
import {TracefsError} from './tracefs-errors.ts';

const CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

function looksLikeTracefs(dir: string): boolean {
  return existsSync(`${dir}/trace_pipe`) && existsSync(`${dir}/per_cpu`);
}

function fromProcMounts(): string | undefined {
  try {
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, dir, type] = line.split(' ');
      if (type === 'tracefs' && dir && looksLikeTracefs(dir)) return dir;
    }
  } catch {
    // not Linux or /proc not mounted: fall through
  }
  return undefined;
}

export interface FindTracefsOptions {
  /** Explicit root (RINGSIDE_TRACEFS or a test); checked, never mounted. */
  root?: string;
  /** Try `mount -t tracefs nodev /sys/kernel/tracing` when nothing is mounted (root only). */
  mount?: boolean;
}

/** The tracefs root directory, or a TracefsError('not-mounted') saying what was tried. */
export function findTracefs(options: FindTracefsOptions = {}): string {
  const explicit = options.root ?? process.env.RINGSIDE_TRACEFS;
  if (explicit) {
    if (looksLikeTracefs(explicit)) return explicit;
    throw new TracefsError('not-mounted', `tracefs not found at ${explicit}`);
  }
  if (process.platform !== 'linux') {
    throw new TracefsError('not-mounted', `not Linux (${process.platform})`);
  }
  for (const dir of CANDIDATES) if (looksLikeTracefs(dir)) return dir;
  const mounted = fromProcMounts();
  if (mounted) return mounted;
  if (options.mount && existsSync('/sys/kernel/tracing')) {
    try {
      execFileSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing'], {
        stdio: 'ignore',
        timeout: 5000,
      });
      if (looksLikeTracefs('/sys/kernel/tracing')) return '/sys/kernel/tracing';
    } catch {
      // not root, or no tracefs in this kernel
    }
  }
  throw new TracefsError(
    'not-mounted',
    `tracefs not mounted (looked at ${CANDIDATES.join(', ')} and /proc/mounts)`,
  );
}

/** Whether we may create instances (root or equivalent). */
export function canWriteInstances(root: string): boolean {
  try {
    accessSync(`${root}/instances`, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Online CPU numbers that have a per_cpu directory. */
export function onlineCpus(dir: string): number[] {
  let online: Set<number> | undefined;
  try {
    online = new Set(parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8')));
  } catch {
    online = undefined;
  }
  const cpus: number[] = [];
  for (const name of readdirSync(`${dir}/per_cpu`)) {
    const m = /^cpu(\d+)$/.exec(name);
    if (!m) continue;
    const cpu = Number(m[1]);
    if (!online || online.has(cpu)) cpus.push(cpu);
  }
  cpus.sort((a, b) => a - b);
  return cpus;
}

/** "0-3,6,8-9" → [0,1,2,3,6,8,9] */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    const end = b !== undefined && Number.isInteger(b) ? b : a;
    for (let c = a; c <= end; c++) out.push(c);
  }
  return out;
}

/** Kernel release as [major, minor], from os.release() text like "6.18.44-fc". */
export function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}
