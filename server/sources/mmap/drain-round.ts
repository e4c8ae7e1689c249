/**
 * One read of every CPU's buffer, at most `maxSlices` slices in all, starting at CPU `startAt`
 * (the caller rotates it so one busy CPU cannot starve the others under a small budget). Shared
 * by the reader thread and the inline reader of mmap-source.ts.
 */
import type {CpuReader, DrainSink} from './cpu-reader.ts';

export interface DrainRound {
  sink: DrainSink;
  /** The budget ran out before every CPU was drained: read again without waiting. */
  moreQueued: boolean;
  /** New record bytes from the CPU that brought the most (for the wait pacer). */
  busiestBytes: number;
}

export function drainRound(readers: CpuReader[], maxSlices: number, startAt: number): DrainRound {
  const sink: DrainSink = {slices: [], metas: [], notices: [], newBytes: 0, caughtUp: []};
  const n = readers.length;
  let budget = Math.max(0, maxSlices);
  let busiestBytes = 0;
  let moreQueued = false;
  for (let k = 0; k < n; k++) {
    const r = readers[(startAt + k) % n];
    if (!r) continue;
    if (budget <= 0) {
      // No slices left to give: still hand out each CPU's first meta (the baseline counters).
      r.baseline(sink);
      if (maxSlices > 0) moreQueued = true;
      continue;
    }
    const before = sink.newBytes;
    budget -= r.drain(sink, budget);
    busiestBytes = Math.max(busiestBytes, sink.newBytes - before);
    if (r.caughtUp) sink.caughtUp!.push(r.cpu);
  }
  if (budget <= 0 && maxSlices > 0) moreQueued = true;
  return {sink, moreQueued, busiestBytes};
}
