/**
 * Test helper: drive the `sim` source (server/sources/sim) the way the server's fanout does —
 * `read(batch)` until nothing is new, each batch's slices then the last META per CPU — and hand
 * the decoded pages and metas to a sink. The source's clock jumps (pauses) make it generate
 * seconds of data at once, which it then drains one CPU at a time: the delivery pattern that
 * fooled the sched view's quiet-CPU rule. A fake wall clock advances per batch, so tests choose
 * between a fast client (backlog streamed in milliseconds) and a slow one.
 */
import {parseMetaPage, type MetaPage} from '../../core/meta-page.ts';
import {layoutFor} from '../../core/page-layout.ts';
import {decodeSubbuf, EventColumns} from '../../core/subbuffer.ts';
import type {SourceMetadata} from '../../server/sources/source.ts';
import {SimSource} from '../../server/sources/sim/sim-source.ts';
import type {DecodedPage} from '../page-sink.ts';
import {seededRandom as rng} from '../../core/seeded-random.ts';

export interface SimFeedOptions {
  seed: number;
  cpus?: number;
  bufferKb?: number;
  /** Simulated time to run, ms. */
  simMs: number;
  /** Slices per read (the fanout's maxBatch). */
  batch?: number;
  /** Wall-clock ms that pass per batch delivered (client speed). */
  wallMsPerBatch?: number;
  /** Chance per read round of a pause of 1.5..pauseMaxMs instead of a 5..50 ms step. */
  pauseChance?: number;
  pauseMaxMs?: number;
}

export interface SimSink {
  metadata(m: SourceMetadata): void;
  page(p: DecodedPage): void;
  meta(cpu: number, timeMs: number, meta: MetaPage): void;
}

/** A fake wall clock (ms) shared between the feed and the code under test. */
export function fakeWall(startMs = 0): {now: () => number; advance(ms: number): void} {
  let t = startMs;
  return {now: () => t, advance: (ms) => void (t += ms)};
}

/** Run the sim for `simMs` and feed everything to `sink`. Returns the pages fed (owned). */
export async function runSimFeed(
  o: SimFeedOptions,
  sink: SimSink,
  wall: {advance(ms: number): void},
): Promise<DecodedPage[]> {
  let clockMs = 1_000;
  const sim = new SimSource({
    source: 'sim',
    events: [],
    cpus: o.cpus ?? 4,
    bufferKb: o.bufferKb ?? 1410,
    seed: o.seed,
    clock: () => clockMs,
  });
  const meta = await sim.open();
  sink.metadata(meta);
  const layout = layoutFor(meta.subbufSize);
  const cols = new EventColumns();
  const rnd = rng(o.seed * 7919 + 1);
  const pages: DecodedPage[] = [];
  const batch = o.batch ?? 256;
  let simMs = 0;
  while (simMs < o.simMs) {
    const pause = rnd() < (o.pauseChance ?? 0.05);
    const step = pause ? 1_500 + rnd() * ((o.pauseMaxMs ?? 6_000) - 1_500) : 5 + rnd() * 45;
    clockMs += step;
    simMs += step;
    for (;;) {
      const b = sim.read(batch);
      for (const s of b.slices) {
        cols.clear();
        const r = decodeSubbuf(s.bytes, 0, s.bytes.length, layout, cols, {emitFrom: s.from});
        if (r.count === 0) continue;
        const page: DecodedPage = {
          cpu: s.cpu,
          bytes: s.bytes,
          columns: {
            length: r.count,
            tsNs: cols.tsNs.slice(0, r.count),
            payloadOffset: cols.payloadOffset.slice(0, r.count),
            payloadLen: cols.payloadLen.slice(0, r.count),
          },
          subbufId: s.subbufId,
          seq: s.seq,
          lostBefore: r.header.missedEvents ? r.header.lostEvents : 0,
        };
        pages.push(page);
        sink.page(page);
      }
      const last = new Map<number, (typeof b.metas)[number]>();
      for (const m of b.metas) last.set(m.cpu, m);
      for (const m of last.values()) sink.meta(m.cpu, m.timeMs, parseMetaPage(m.bytes, true));
      wall.advance(o.wallMsPerBatch ?? 1);
      if (b.slices.length === 0) break;
    }
  }
  await sim.close();
  return pages;
}
