/**
 * A Chromium trace of the measured run, summed per thread: where the page's CPU goes outside
 * JavaScript too (style, layout, paint, raster, compositing), which a V8 profile only shows as
 * "(program)". Used by `bench painted --trace`.
 *
 * Self time per trace event name: complete ('X') and begin/end ('B'/'E') events nest per
 * thread; an event's self time is its duration minus its children's, in wall time and, where
 * Chromium records thread time (`tdur` of 'X', `tts` of 'B'/'E'), in time on a CPU.
 */
import {writeFileSync} from 'node:fs';
import type {CdpBrowser} from './cdp-browser.ts';

/** Categories that cover the renderer's frame pipeline and the GPU process's compositing. */
const CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'blink',
  'cc',
  'gpu',
  'viz',
  'v8.execute',
  // V8's own compile and GC work, much of it on background threads (ThreadPoolForegroundWorker).
  'v8',
  'disabled-by-default-v8.compile',
  'toplevel',
];

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  /** Thread time (µs on a CPU) of an 'X' event, where Chromium records it. */
  tdur?: number;
  /** Thread clock (µs) of a 'B' or 'E' event, where Chromium records it. */
  tts?: number;
  args?: {name?: string};
}

/**
 * Start tracing; the returned function stops it and gives the per-thread summary. With
 * `saveTo`, the raw trace is also written there (Chrome's JSON trace format: open it in
 * Perfetto UI or chrome://tracing to see when, not only how much).
 */
export async function startChromeTrace(
  browser: CdpBrowser,
  saveTo?: string,
): Promise<() => Promise<string>> {
  const stop = await browser.startTracing(CATEGORIES);
  return async () => {
    const events = (await stop()) as TraceEvent[];
    if (saveTo) writeFileSync(saveTo, JSON.stringify({traceEvents: events}));
    return summarize(events);
  };
}

/** A span's wall and thread time, in µs; `cpu` is undefined where the trace has no thread time. */
interface Span {
  name: string;
  ts: number;
  end: number;
  cpu: number | undefined;
}

/**
 * Per thread (busiest first): wall time in top-level events and self time by event name, each
 * with its time on a CPU where the trace has thread times. On a saturated machine a thread is
 * off the CPU for much of an event's wall duration (2–3× its thread time for the page's main
 * thread under `bench painted` heavy), so the list is ordered by time on a CPU when known.
 */
export function summarize(trace: {traceEvents: TraceEvent[]} | TraceEvent[], top = 8): string {
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const threadName = new Map<string, string>();
  const processName = new Map<number, string>();
  for (const e of events) {
    if (e.ph !== 'M') continue;
    if (e.name === 'thread_name') threadName.set(`${e.pid}:${e.tid}`, e.args?.name ?? '?');
    if (e.name === 'process_name') processName.set(e.pid, e.args?.name ?? '?');
  }
  const byThread = new Map<string, TraceEvent[]>();
  for (const e of events) {
    if (e.ph !== 'X' && e.ph !== 'B' && e.ph !== 'E') continue;
    const k = `${e.pid}:${e.tid}`;
    let list = byThread.get(k);
    if (!list) byThread.set(k, (list = []));
    list.push(e);
  }
  const rows: {label: string; top: Times; self: Map<string, Times>; count: Map<string, number>}[] =
    [];
  for (const [k, list] of byThread) {
    const spans = spansOf(list);
    const self = new Map<string, Times>();
    const count = new Map<string, number>();
    for (const s of spans) count.set(s.name, (count.get(s.name) ?? 0) + 1);
    const stack: {name: string; end: number; wall: number; cpu: number; child: Times}[] = [];
    const top: Times = {wall: 0, cpu: 0};
    const pop = () => {
      const s = stack.pop()!;
      const t = self.get(s.name) ?? {wall: 0, cpu: 0};
      t.wall += Math.max(0, s.wall - s.child.wall);
      t.cpu += Math.max(0, s.cpu - s.child.cpu);
      self.set(s.name, t);
      if (stack.length) {
        stack[stack.length - 1].child.wall += s.wall;
        stack[stack.length - 1].child.cpu += s.cpu;
      }
    };
    for (const s of spans) {
      while (stack.length && stack[stack.length - 1].end <= s.ts) pop();
      const end = stack.length ? Math.min(s.end, stack[stack.length - 1].end) : s.end;
      const cpu = s.cpu ?? 0;
      if (!stack.length) {
        top.wall += end - s.ts;
        top.cpu += cpu;
      }
      stack.push({name: s.name, end, wall: end - s.ts, cpu, child: {wall: 0, cpu: 0}});
    }
    while (stack.length) pop();
    const [pid] = k.split(':');
    const label = `${processName.get(Number(pid)) ?? `pid ${pid}`} / ${threadName.get(k) ?? k}`;
    rows.push({label, top, self, count});
  }
  rows.sort((a, b) => b.top.wall - a.top.wall);
  const ms = (us: number) => (us / 1000).toFixed(0);
  return rows
    .filter((r) => r.top.wall > 20_000)
    .map((r) => {
      // Thread times are all or nothing per thread in practice; with none, wall alone as before.
      const hasCpu = r.top.cpu > 0;
      const key = (t: Times) => (hasCpu ? t.cpu : t.wall);
      const head = hasCpu
        ? `  ${r.label}: ${ms(r.top.wall)} ms in top-level events, ${ms(r.top.cpu)} ms of it on a CPU; self, on a CPU / wall:`
        : `  ${r.label}: ${ms(r.top.wall)} ms in top-level events; self:`;
      const lines = [...r.self]
        .sort((a, b) => key(b[1]) - key(a[1]))
        .slice(0, top)
        .map(([n, t]) => {
          const times = hasCpu
            ? `${ms(t.cpu).padStart(6)} / ${ms(t.wall).padStart(6)} ms`
            : `${ms(t.wall).padStart(6)} ms`;
          return `      ${times}  ${n} (×${r.count.get(n) ?? 0})`;
        });
      return [head, ...lines].join('\n');
    })
    .join('\n');
}

interface Times {
  wall: number;
  cpu: number;
}

/**
 * One thread's events as spans: B/E pairs joined, sorted by start, longer first on ties
 * (parents before their children).
 */
function spansOf(list: TraceEvent[]): Span[] {
  const spans: Span[] = [];
  const open: TraceEvent[] = [];
  for (const e of list.sort((a, b) => a.ts - b.ts)) {
    if (e.ph === 'X') spans.push({name: e.name, ts: e.ts, end: e.ts + (e.dur ?? 0), cpu: e.tdur});
    else if (e.ph === 'B') open.push(e);
    else {
      const b = open.pop();
      if (!b) continue;
      const cpu = b.tts !== undefined && e.tts !== undefined ? e.tts - b.tts : undefined;
      spans.push({name: b.name, ts: b.ts, end: e.ts, cpu});
    }
  }
  return spans.sort((a, b) => a.ts - b.ts || b.end - a.end);
}
