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

  it('gives time on a CPU beside wall time where the trace has thread times, busiest on a CPU first', () => {
    const out = summarize([
      ...meta,
      // A 100 ms task that ran 40 ms; inside it Commit 10–70 ms (wall 60) that ran 30 ms.
      {name: 'Task', ph: 'X', pid: 1, tid: 7, ts: 0, dur: 100_000, tdur: 40_000},
      {name: 'Commit', ph: 'B', pid: 1, tid: 7, ts: 10_000, tts: 5_000},
      {name: 'Commit', ph: 'E', pid: 1, tid: 7, ts: 70_000, tts: 35_000},
    ]);
    expect(out).toContain('100 ms in top-level events, 40 ms of it on a CPU');
    const lines = out.split('\n');
    // Commit: 30 ms on a CPU of 60 wall; Task: 40 − 30 = 10 of 100 − 60 = 40. Commit first.
    expect(lines[1]).toMatch(/ 30 \/ {5}60 ms {2}Commit \(×1\)/);
    expect(lines[2]).toMatch(/ 10 \/ {5}40 ms {2}Task \(×1\)/);
  });

  it('leaves out threads with under 20 ms of events', () => {
    const out = summarize([...meta, {name: 'Task', ph: 'X', pid: 1, tid: 7, ts: 0, dur: 5_000}]);
    expect(out).toBe('');
  });
});
