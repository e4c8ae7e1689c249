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

/**
 * Offset wall clock − CLOCK_MONOTONIC of this process, in ns (wall = mono + offset). Date.now()
 * only has 1 ms resolution, so each sample waits for the millisecond to tick and takes the
 * monotonic time at that edge (bracketed by process.hrtime before and after the reads around
 * it); the tightest of `samples` brackets wins. `errNs` is half that bracket.
 */
export function wallMinusMonoNs(samples = 9): {offsetNs: number; errNs: number} {
  let best = {offsetNs: NaN, errNs: Infinity};
  for (let k = 0; k < samples; k++) {
    const d0 = Date.now();
    let prevBefore = process.hrtime.bigint();
    for (;;) {
      const before = process.hrtime.bigint();
      const d = Date.now();
      const after = process.hrtime.bigint();
      if (d !== d0) {
        // The tick happened after the previous read began and before this one ended.
        const errNs = Number(after - prevBefore) / 2;
        const monoNs = Number(prevBefore) + errNs;
        if (errNs < best.errNs) best = {offsetNs: d * 1e6 - monoNs, errNs};
        break;
      }
      prevBefore = before;
    }
  }
  return best;
}
