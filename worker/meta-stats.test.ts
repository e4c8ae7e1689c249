import {describe, expect, it} from 'vitest';
import type {MetaPage} from '../core/meta-page.ts';
import {MAX_SAMPLES, MAX_SKIPPED_IDS, MetaStatsView} from './meta-stats.ts';
import type {DecodedPage} from './page-sink.ts';

function meta(entries: number, overrun: number, read: number, readerId: number): MetaPage {
  return {
    layout: 'final',
    metaPageSize: 4096,
    metaStructLen: 80,
    subbufSize: 4096,
    nrSubbufs: 11,
    readerLostEvents: 0,
    readerId,
    readerRead: 0,
    flags: 0,
    entries,
    overrun,
    read,
  };
}

function page(cpu: number, events: number, subbufId: number, lostBefore = 0): DecodedPage {
  const z = new Float64Array(events);
  return {
    cpu,
    bytes: new Uint8Array(1000),
    columns: {
      length: events,
      tsNs: z,
      payloadOffset: new Uint32Array(events),
      payloadLen: new Uint32Array(events),
    },
    subbufId,
    seq: 0,
    lostBefore,
  };
}

describe('MetaStatsView', () => {
  it('turns snapshots into per-CPU rows with exact rates and the three loss figures', () => {
    let evicted = 0;
    const v = new MetaStatsView(() => evicted);
    v.handleMeta(1, 1000, meta(100, 0, 40, 1));
    v.handlePage(page(1, 50, 2));
    v.handlePage(page(1, 50, 2)); // same sub-buffer again: not a swap
    v.handlePage(page(1, 50, 3, 7));
    v.handlePage(page(1, 50, 4, -1));
    evicted = 30;
    v.handleLoss({
      cpu: 1,
      kernelLostEvents: 9,
      skippedSubbufs: 1,
      deliveryGapSlices: 2,
      deliveryGapBytes: 8192,
    });
    v.handleMeta(1, 1500, meta(400, 20, 240, 4));
    const [c] = v.data();
    expect(c.cpu).toBe(1);
    const s = c.series;
    expect(s.length).toBe(2);
    expect(Array.from(s.unread)).toEqual([60, 140]);
    expect(Array.from(s.readerId)).toEqual([1, 4]);
    expect(s.eventsPerSec[1]).toBe(600); // 300 entries in 0.5 s
    expect(s.readPerSec[1]).toBe(400);
    expect(s.swapsPerSec[1]).toBe(6); // ids 2, 3, 4 in 0.5 s
    expect(s.deliveredEventsPerSec[1]).toBe(400);
    expect(s.deliveredBytesPerSec[1]).toBe(8000);
    expect(s.fill[1]).toBe(140 / (10 * 50));
    expect(Number.isNaN(s.eventsPerSec[0])).toBe(true);
    expect(s.kernelLostEvents[1]).toBe(9); // max(page counts 7, fed 9): the same events
    expect(s.deliveryGapSlices[1]).toBe(2);
    expect(s.evictedEvents[1]).toBe(30);
    expect(c.totals).toMatchObject({
      kernelLostUnknown: 1,
      skippedSubbufs: 1,
      deliveryGapBytes: 8192,
      swaps: 3,
    });
  });

  it('gives no rate across a buffer reset and keeps a bounded ring', () => {
    const v = new MetaStatsView(() => 0);
    v.handleMeta(0, 0, meta(1000, 0, 900, 1));
    v.handleMeta(0, 1000, meta(10, 0, 0, 1));
    expect(Number.isNaN(v.data()[0].series.eventsPerSec[1])).toBe(true);
    for (let i = 0; i < MAX_SAMPLES + 10; i++) v.handleMeta(0, 2000 + i, meta(10 + i, 0, 0, 1));
    const s = v.data()[0].series;
    expect(s.length).toBe(MAX_SAMPLES);
    expect(s.timeMs[s.length - 1]).toBe(2000 + MAX_SAMPLES + 9);
    expect(s.eventsPerSec[s.length - 1]).toBe(1000);
    // Only the newest rows, when that is all the caller needs.
    const t = v.data(3)[0].series;
    expect(t.length).toBe(3);
    expect(Array.from(t.timeMs)).toEqual(Array.from(s.timeMs.slice(-3)));
    expect(Array.from(t.readerId)).toEqual(Array.from(s.readerId.slice(-3)));
    expect(v.data(0)[0].series.length).toBe(0);
    expect(v.data(1e9)[0].series.length).toBe(MAX_SAMPLES);
  });

  it('keeps the most recent skipped sub-buffer ids, and counts skips without ids', () => {
    const v = new MetaStatsView(() => 0);
    v.handleSkippedIds(2, [5, 6], 0);
    v.handleSkippedIds(2, [], 3);
    expect(v.data()[0].totals).toMatchObject({
      skippedSubbufIds: [5, 6],
      skippedSubbufIdsMissing: 3,
    });
    for (let i = 0; i < MAX_SKIPPED_IDS; i++) v.handleSkippedIds(2, [i % 7], 0);
    const ids = v.data()[0].totals.skippedSubbufIds;
    expect(ids).toHaveLength(MAX_SKIPPED_IDS);
    expect(ids[ids.length - 1]).toBe((MAX_SKIPPED_IDS - 1) % 7);
  });
});
