/**
 * Pure helpers that turn the worker's answers into what the dashboard shows: report-line
 * splitting, filter mapping, close reasons, rates from cumulative counters, window summary.
 * Kept apart from the comlink adapter (worker-backend.ts) so they test without a worker.
 */
import type {EventFilter, WindowSummary} from '../../worker/api.ts';
import type {Viewport} from '../model/types.ts';
import type {Problem} from '../store/connection-slice.ts';
import type {EventFilters} from '../store/filter-slice.ts';
import type {WindowInfo} from '../store/stats-slice.ts';

/** trace-cmd report line: "comm-pid [cpu] secs: name: info" (comm may hold '-' and spaces). */
const REPORT_LINE = /^\s*(.*)-(-?\d+)\s+\[(\d+)\]\s+(?:\S+\s+)?[\d.]+:\s+([^:\s]+):\s?(.*)$/;

export function splitReportLine(line: string): {comm: string; info: string} | null {
  const m = REPORT_LINE.exec(line);
  return m ? {comm: m[1].trim(), info: m[5]} : null;
}

export function toWorkerFilter(f: EventFilters): EventFilter {
  const out: EventFilter = {};
  if (f.cpus.length) out.cpus = f.cpus;
  if (f.events.length) out.events = f.events;
  const task = f.task.trim();
  if (/^\d+(\s*,\s*\d+)*$/.test(task)) out.pids = task.split(',').map((p) => Number(p.trim()));
  else if (task) out.comm = task;
  if (f.text.trim()) out.text = f.text.trim();
  return out;
}

/** Close details the worker reports ("closed 1008: missing or wrong token") → a problem. */
export function problemFromClose(detail: string): Problem {
  if (/\b1008\b|token/i.test(detail)) {
    return {kind: 'unauthorized', message: `The server refused the token (${detail}).`};
  }
  return {kind: 'server-gone', message: detail || 'the connection closed'};
}

/**
 * Rate of a cumulative counter over the last `windowMs` of samples: steadier than the last
 * per-snapshot rate, which is 0 whenever two META snapshots land between writer bursts.
 */
export function recentRate(
  timeMs: ArrayLike<number>,
  counter: ArrayLike<number>,
  windowMs = 1000,
): number {
  const n = timeMs.length;
  if (n < 2) return 0;
  const tEnd = timeMs[n - 1];
  let j = n - 2;
  while (j > 0 && tEnd - timeMs[j] < windowMs) j--;
  const dt = (tEnd - timeMs[j]) / 1000;
  const dv = counter[n - 1] - counter[j];
  return dt > 0 && dv >= 0 ? dv / dt : 0;
}

export function last(a: ArrayLike<number>, n: number): number[] {
  const out: number[] = [];
  for (let i = Math.max(0, a.length - n); i < a.length; i++)
    out.push(Number.isFinite(a[i]) ? a[i] : 0);
  return out;
}

export function maxOf(a: ArrayLike<number>): number {
  let m = -1;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return m;
}

/** Mean of the finite samples of the last second. */
export function meanOfRecent(
  timeMs: ArrayLike<number>,
  v: ArrayLike<number>,
  windowMs = 1000,
): number {
  const n = timeMs.length;
  let sum = 0;
  let k = 0;
  for (let i = n - 1; i >= 0 && timeMs[n - 1] - timeMs[i] <= windowMs; i--) {
    if (Number.isFinite(v[i])) {
      sum += v[i];
      k++;
    }
  }
  return k ? sum / k : 0;
}

export function windowInfo(s: WindowSummary): WindowInfo {
  const r = dataRange(s);
  return {
    events: s.events,
    bytes: s.memory.liveBytes,
    spanNs: r ? r.endNs - r.startNs : 0,
    capacityBytes: s.memory.capBytes,
  };
}

export function dataRange(s: WindowSummary): Viewport | null {
  let startNs = Infinity;
  let endNs = -Infinity;
  for (const c of s.cpus) {
    if (c.events <= 0 || !Number.isFinite(c.oldestNs) || !Number.isFinite(c.newestNs)) continue;
    startNs = Math.min(startNs, c.oldestNs);
    endNs = Math.max(endNs, c.newestNs);
  }
  return endNs >= startNs ? {startNs, endNs} : null;
}
