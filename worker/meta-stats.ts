/**
 * Per-CPU statistics as time series, one row per meta page snapshot: the kernel's counters
 * (entries, overrun, read, unread = entries − overrun − read, reader id) next to rates derived
 * between consecutive snapshots (swaps/s, events/s written and delivered, bytes/s, fill level)
 * and the three loss figures kept apart: kernel loss, delivery gaps, window eviction.
 *
 * Pages feed cumulative counters (handlePage); a snapshot turns them into a row. The series is
 * a bounded ring (MAX_SAMPLES rows per CPU, the oldest dropped), ~7 minutes at 10 Hz.
 */
import {unreadEvents, type MetaPage} from '../core/meta-page.ts';
import {ColumnSet} from './growable.ts';
import type {DecodedPage, LossFigures, PageSink, StatsSink} from './page-sink.ts';

export const MAX_SAMPLES = 4096;
/** Skipped sub-buffer ids kept per CPU (the most recent). */
export const MAX_SKIPPED_IDS = 256;

class CpuCounters {
  events = 0;
  bytes = 0;
  pages = 0;
  swaps = 0;
  /** Σ stored lost counts of pages (MISSED_STORED). */
  pageLostEvents = 0;
  /** Pages flagged MISSED without a stored count. */
  pageLostUnknown = 0;
  skippedSubbufs = 0;
  skippedIds: number[] = [];
  skippedIdsMissing = 0;
  lastSubbufId = -2;
  fed: LossFigures | undefined;
  prevTimeMs = NaN;
  prevEntries = 0;
  prevRead = 0;
  prevEvents = 0;
  prevBytes = 0;
  prevSwaps = 0;
  readonly rows = new ColumnSet();
  readonly cols = {
    timeMs: this.rows.add(Float64Array),
    entries: this.rows.add(Float64Array),
    overrun: this.rows.add(Float64Array),
    read: this.rows.add(Float64Array),
    unread: this.rows.add(Float64Array),
    readerId: this.rows.add(Int32Array),
    readerRead: this.rows.add(Float64Array),
    swapsPerSec: this.rows.add(Float64Array),
    eventsPerSec: this.rows.add(Float64Array),
    readPerSec: this.rows.add(Float64Array),
    deliveredEventsPerSec: this.rows.add(Float64Array),
    deliveredBytesPerSec: this.rows.add(Float64Array),
    fill: this.rows.add(Float64Array),
    kernelLostEvents: this.rows.add(Float64Array),
    deliveryGapSlices: this.rows.add(Float64Array),
    evictedEvents: this.rows.add(Float64Array),
  };
}

export type StatsSeriesName = keyof CpuCounters['cols'];
export type StatsSeries = {length: number} & {[K in StatsSeriesName]: Float64Array | Int32Array};

export interface CpuStats {
  cpu: number;
  series: StatsSeries;
  totals: {
    events: number;
    bytes: number;
    pages: number;
    swaps: number;
    kernelLostEvents: number;
    /** Pages that said "events lost" without a count. */
    kernelLostUnknown: number;
    skippedSubbufs: number;
    /**
     * Ids of the sub-buffers counted in `skippedSubbufs`, in the order they were skipped (an id
     * repeats when lapped again); the most recent MAX_SKIPPED_IDS. Derived from the ring model.
     */
    skippedSubbufIds: number[];
    /** Skipped sub-buffers whose ids are not known (the ring position was lost on a reset). */
    skippedSubbufIdsMissing: number;
    deliveryGapSlices: number;
    deliveryGapBytes: number;
    evictedEvents: number;
  };
}

export class MetaStatsView implements PageSink, StatsSink {
  private cpus: (CpuCounters | undefined)[] = [];

  /** `evictedEvents(cpu)` comes from the store (the third loss figure). */
  constructor(private readonly evictedEvents: (cpu: number) => number) {}

  reset(): void {
    this.cpus = [];
  }

  private of(cpu: number): CpuCounters {
    let c = this.cpus[cpu];
    if (!c) this.cpus[cpu] = c = new CpuCounters();
    return c;
  }

  handlePage(page: DecodedPage): void {
    const c = this.of(page.cpu);
    c.events += page.columns.length;
    c.bytes += page.bytes.byteLength;
    c.pages++;
    if (page.subbufId >= 0 && page.subbufId !== c.lastSubbufId) c.swaps++;
    c.lastSubbufId = page.subbufId;
    if (page.lostBefore > 0) c.pageLostEvents += page.lostBefore;
    else if (page.lostBefore < 0) c.pageLostUnknown++;
    c.skippedSubbufs += page.skippedBefore ?? 0;
  }

  handleLoss(f: LossFigures): void {
    this.of(f.cpu).fed = {...f};
  }

  handleSkippedIds(cpu: number, ids: number[], missing: number): void {
    const c = this.of(cpu);
    c.skippedIds.push(...ids);
    if (c.skippedIds.length > MAX_SKIPPED_IDS)
      c.skippedIds.splice(0, c.skippedIds.length - MAX_SKIPPED_IDS);
    c.skippedIdsMissing += missing;
  }

  private kernelLost(c: CpuCounters): number {
    return Math.max(c.pageLostEvents, c.fed?.kernelLostEvents ?? 0);
  }

  handleMeta(cpu: number, timeMs: number, meta: MetaPage): void {
    const c = this.of(cpu);
    if (c.rows.count >= MAX_SAMPLES) c.rows.dropBefore(c.rows.head + 1);
    const r = c.rows.beginRow();
    const k = c.cols;
    const dt = (timeMs - c.prevTimeMs) / 1000;
    const rate = (now: number, before: number) => (dt > 0 ? (now - before) / dt : NaN);
    const unread = unreadEvents(meta);
    k.timeMs.array[r] = timeMs;
    k.entries.array[r] = meta.entries;
    k.overrun.array[r] = meta.overrun;
    k.read.array[r] = meta.read;
    k.unread.array[r] = unread;
    k.readerId.array[r] = meta.readerId;
    k.readerRead.array[r] = meta.readerRead;
    // Counters going down = buffer reset: no rate across it.
    const reset = meta.entries < c.prevEntries || meta.read < c.prevRead;
    k.eventsPerSec.array[r] = reset ? NaN : rate(meta.entries, c.prevEntries);
    k.readPerSec.array[r] = reset ? NaN : rate(meta.read, c.prevRead);
    k.swapsPerSec.array[r] = rate(c.swaps, c.prevSwaps);
    k.deliveredEventsPerSec.array[r] = rate(c.events, c.prevEvents);
    k.deliveredBytesPerSec.array[r] = rate(c.bytes, c.prevBytes);
    const perPage = c.pages > 0 ? c.events / c.pages : NaN;
    k.fill.array[r] = meta.nrSubbufs > 1 ? unread / ((meta.nrSubbufs - 1) * perPage) : NaN;
    k.kernelLostEvents.array[r] = this.kernelLost(c);
    k.deliveryGapSlices.array[r] = c.fed?.deliveryGapSlices ?? 0;
    k.evictedEvents.array[r] = this.evictedEvents(cpu);
    c.prevTimeMs = timeMs;
    c.prevEntries = meta.entries;
    c.prevRead = meta.read;
    c.prevEvents = c.events;
    c.prevBytes = c.bytes;
    c.prevSwaps = c.swaps;
  }

  /** Bytes allocated by the series (bounded by MAX_SAMPLES rows per CPU). */
  bytes(): number {
    let n = 0;
    for (const c of this.cpus) if (c) n += c.rows.bytes();
    return n;
  }

  /**
   * Per CPU, the series (the newest `lastRows` rows at most: a dashboard polling a few times a
   * second needs its sparklines and the last second, not a copy of all MAX_SAMPLES rows of
   * 16 columns, 512 KB per CPU, each time) and the totals.
   */
  data(lastRows = MAX_SAMPLES): CpuStats[] {
    const out: CpuStats[] = [];
    this.cpus.forEach((c, cpu) => {
      if (!c) return;
      const n = Math.min(c.rows.count, Math.max(0, Math.floor(lastRows)));
      const h = c.rows.head + c.rows.count - n;
      const series = {length: n} as StatsSeries;
      for (const [name, col] of Object.entries(c.cols)) {
        (series as unknown as Record<string, unknown>)[name] = col.array.slice(h, h + n);
      }
      out.push({
        cpu,
        series,
        totals: {
          events: c.events,
          bytes: c.bytes,
          pages: c.pages,
          swaps: c.swaps,
          kernelLostEvents: this.kernelLost(c),
          kernelLostUnknown: c.pageLostUnknown,
          skippedSubbufs: Math.max(c.skippedSubbufs, c.fed?.skippedSubbufs ?? 0),
          skippedSubbufIds: c.skippedIds.slice(),
          skippedSubbufIdsMissing: c.skippedIdsMissing,
          deliveryGapSlices: c.fed?.deliveryGapSlices ?? 0,
          deliveryGapBytes: c.fed?.deliveryGapBytes ?? 0,
          evictedEvents: this.evictedEvents(cpu),
        },
      });
    });
    return out;
  }
}
