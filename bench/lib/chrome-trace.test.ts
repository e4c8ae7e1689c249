import {describe, expect, it} from 'vitest';
import {summarize} from './chrome-trace.ts';

const meta = [
  {name: 'process_name', ph: 'M', pid: 1, tid: 0, ts: 0, args: {name: 'Renderer'}},
  {name: 'thread_name', ph: 'M', pid: 1, tid: 7, ts: 0, args: {name: 'CrRendererMain'}},
];

describe('Chromium trace summary', () => {
  it('gives each event its self time: its duration minus its children, per thread', () => {
    const out = summarize([
      ...meta,
      // Task 0–100 ms holding Paint 10–40 (with Raster 20–30 inside) and Layout 50–60.
      {name: 'Task', ph: 'X', pid: 1, tid: 7, ts: 0, dur: 100_000},
      {name: 'Paint', ph: 'X', pid: 1, tid: 7, ts: 10_000, dur: 30_000},
      {name: 'Raster', ph: 'X', pid: 1, tid: 7, ts: 20_000, dur: 10_000},
      {name: 'Layout', ph: 'B', pid: 1, tid: 7, ts: 50_000},
      {name: 'Layout', ph: 'E', pid: 1, tid: 7, ts: 60_000},
      // A second top-level task, 200–230 ms.
      {name: 'Task', ph: 'X', pid: 1, tid: 7, ts: 200_000, dur: 30_000},
    ]);
    expect(out).toContain('Renderer / CrRendererMain: 130 ms in top-level events');
    expect(out).toMatch(/ 90 ms {2}Task \(×2\)/); // 100 − 30 − 10 + 30
    expect(out).toMatch(/ 20 ms {2}Paint \(×1\)/);
    expect(out).toMatch(/ 10 ms {2}Raster \(×1\)/);
    expect(out).toMatch(/ 10 ms {2}Layout \(×1\)/);
  });

  it('leaves out threads with under 20 ms of events', () => {
    const out = summarize([...meta, {name: 'Task', ph: 'X', pid: 1, tid: 7, ts: 0, dur: 5_000}]);
    expect(out).toBe('');
  });
});
