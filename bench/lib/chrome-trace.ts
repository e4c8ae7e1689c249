/**
 * A Chromium trace of the measured run, summed per thread: where the page's CPU goes outside
 * JavaScript too (style, layout, paint, raster, compositing), which a V8 profile only shows as
 * "(program)". Used by `bench painted --trace`.
 *
 * Self time per trace event name: complete ('X') and begin/end ('B'/'E') events nest per
 * thread; an event's self time is its duration minus its children's. Thread CPU time comes from
 * the events' `tdur` where Chromium records it (thread time, not wall).
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
  tdur?: number;
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

/** Per thread (busiest first): wall time in top-level events and self time by event name. */
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
  const rows: {
    label: string;
    topUs: number;
    self: Map<string, number>;
    count: Map<string, number>;
  }[] = [];
  for (const [k, list] of byThread) {
    // Turn B/E pairs into spans; sort spans by start, longer first on ties (parents first).
    const spans: {name: string; ts: number; end: number}[] = [];
    const open: TraceEvent[] = [];
    for (const e of list.sort((a, b) => a.ts - b.ts)) {
      if (e.ph === 'X') spans.push({name: e.name, ts: e.ts, end: e.ts + (e.dur ?? 0)});
      else if (e.ph === 'B') open.push(e);
      else {
        const b = open.pop();
        if (b) spans.push({name: b.name, ts: b.ts, end: e.ts});
      }
    }
    spans.sort((a, b) => a.ts - b.ts || b.end - a.end);
    const self = new Map<string, number>();
    const count = new Map<string, number>();
    for (const s of spans) count.set(s.name, (count.get(s.name) ?? 0) + 1);
    const stack: {name: string; end: number; child: number; dur: number}[] = [];
    let topUs = 0;
    const pop = () => {
      const s = stack.pop()!;
      self.set(s.name, (self.get(s.name) ?? 0) + Math.max(0, s.dur - s.child));
      if (stack.length) stack[stack.length - 1].child += s.dur;
    };
    for (const s of spans) {
      while (stack.length && stack[stack.length - 1].end <= s.ts) pop();
      const end = stack.length ? Math.min(s.end, stack[stack.length - 1].end) : s.end;
      if (!stack.length) topUs += end - s.ts;
      stack.push({name: s.name, end, child: 0, dur: end - s.ts});
    }
    while (stack.length) pop();
    const [pid] = k.split(':');
    const label = `${processName.get(Number(pid)) ?? `pid ${pid}`} / ${threadName.get(k) ?? k}`;
    rows.push({label, topUs, self, count});
  }
  rows.sort((a, b) => b.topUs - a.topUs);
  return rows
    .filter((r) => r.topUs > 20_000)
    .map(
      (r) =>
        `  ${r.label}: ${(r.topUs / 1000).toFixed(0)} ms in top-level events; self:\n` +
        [...r.self]
          .sort((a, b) => b[1] - a[1])
          .slice(0, top)
          .map(
            ([n, us]) =>
              `      ${(us / 1000).toFixed(0).padStart(6)} ms  ${n} (×${r.count.get(n) ?? 0})`,
          )
          .join('\n'),
    )
    .join('\n');
}
