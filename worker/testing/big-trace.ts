/**
 * Test/bench helper: a long trace made of real capture pages replayed with shifted timestamps
 * (the bytes are shared, so 2 M events per CPU cost little real memory).
 */
import type {DecodedPage} from '../page-sink.ts';
import {capturePages} from './capture-pages.ts';

export function bigTracePages(eventsPerCpu: number): DecodedPage[][] {
  const sources = [capturePages('mixed-cpu0.raw', 0), capturePages('mixed-cpu1.raw', 1)];
  return sources.map((src, cpu) => {
    const out: DecodedPage[] = [];
    const t0 = src[0].columns.tsNs[0];
    const span =
      src[src.length - 1].columns.tsNs[src[src.length - 1].columns.length - 1] - t0 + 1000;
    let n = 0;
    let seq = 0;
    for (let lap = 0; n < eventsPerCpu; lap++) {
      for (const p of src) {
        if (n >= eventsPerCpu) break;
        const k = p.columns.length;
        const tsNs = new Float64Array(k);
        for (let i = 0; i < k; i++) tsNs[i] = p.columns.tsNs[i] - t0 + lap * span;
        out.push({
          ...p,
          cpu,
          seq: seq++,
          lostBefore: lap === 0 ? p.lostBefore : 0,
          columns: {...p.columns, tsNs},
        });
        n += k;
      }
    }
    return out;
  });
}
