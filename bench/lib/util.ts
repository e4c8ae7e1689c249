/** Small helpers shared by the benchmarks: rate parsing/printing, /proc readings, percentiles. */
import {readFileSync} from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

/** "100k,1M,2.5M" → [100000, 1000000, 2500000]. */
export function parseRates(s: string): number[] {
  return s
    .split(',')
    .filter(Boolean)
    .map((x) => {
      const m = /^([\d.]+)([kKmM]?)$/.exec(x.trim());
      if (!m) throw new Error(`bad rate '${x}'`);
      const mul = m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1e3 : 1e6;
      return Math.round(Number(m[1]) * mul);
    });
}

export function fmtRate(r: number): string {
  if (r >= 1e6) return `${+(r / 1e6).toFixed(2)}M`;
  if (r >= 1e3) return `${+(r / 1e3).toFixed(1)}k`;
  return `${Math.round(r)}`;
}

/** utime + stime of a process (and its reaped children excluded), seconds. */
export function procCpuS(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(rest[11]) + Number(rest[12])) / TICKS_PER_S;
}

/** Resident set size of a process, bytes. */
export function procRssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Percentile (0..100) of an unsorted numeric array (sorts a copy). */
export function percentiles(values: ArrayLike<number>, ps: number[]): number[] {
  const a = Float64Array.from(values as ArrayLike<number>).sort();
  return ps.map((p) =>
    a.length ? a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))] : NaN,
  );
}
