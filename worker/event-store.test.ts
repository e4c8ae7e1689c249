import {describe, expect, it} from 'vitest';
import {COLUMN_BYTES_PER_EVENT} from './cpu-table.ts';
import {EventStore} from './event-store.ts';
import type {DecodedPage} from './page-sink.ts';
import {capturePages, interleave, seededRandom} from './testing/capture-pages.ts';

/** The obvious slow implementation: counts by (cpu, common_type) straight from page bytes. */
function slowCounts(pages: DecodedPage[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of pages) {
    const v = new DataView(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
    for (let i = 0; i < p.columns.length; i++) {
      const key = `${p.cpu}:${v.getUint16(p.columns.payloadOffset[i], true)}`;
      m.set(key, (m.get(key) ?? 0) + 1);
    }
  }
  return m;
}

function storeCounts(s: EventStore): Map<string, number> {
  const m = new Map<string, number>();
  for (const cpu of s.cpus()) {
    const c = s.typeCounts(cpu);
    c.forEach((n, id) => n > 0 && m.set(`${cpu}:${id}`, n));
  }
  return m;
}

/** Same counts, recomputed from the store's columns (checks typeCounts' bookkeeping). */
function columnCounts(s: EventStore): Map<string, number> {
  const m = new Map<string, number>();
  for (const cpu of s.cpus()) {
    const t = s.table(cpu)!;
    for (let i = t.head; i < t.tail; i++) {
      const key = `${cpu}:${t.type[i]}`;
      m.set(key, (m.get(key) ?? 0) + 1);
    }
  }
  return m;
}

const mixed0 = capturePages('mixed-cpu0.raw', 0);
const mixed1 = capturePages('mixed-cpu1.raw', 1);

describe('EventStore on real capture pages', () => {
  it('keeps every event with the checksums of captures/README.md', () => {
    const s = new EventStore();
    for (const p of [...mixed0, ...mixed1]) s.handlePage(p);
    expect(s.table(0)!.length).toBe(43924);
    expect(s.table(1)!.length).toBe(43756);
    const t = s.table(0)!;
    let psum = 0;
    let txor = 0;
    for (let i = t.head; i < t.tail; i++) {
      psum += t.pid[i];
      txor = (txor ^ Number(BigInt.asUintN(32, BigInt(t.tsNs[i])))) >>> 0;
    }
    expect(psum).toBe(1166564571);
    expect(txor).toBe(0x607c44f0);
    expect(storeCounts(s)).toEqual(slowCounts([...mixed0, ...mixed1]));
    expect(s.evicted.events).toBe(0);
    // The first mixed sub-buffer says the ring had wrapped (MISSED_EVENTS).
    expect(s.table(0)!.pages[0].lostBefore).not.toBe(0);
  });

  it('property: under any cap and interleaving the window is a per-CPU suffix within the cap', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const rnd = seededRandom(seed);
      const order = interleave([mixed0, mixed1], rnd);
      const cap = Math.floor((0.05 + rnd() * 0.6) * 8 * 1024 * 1024);
      const s = new EventStore({memoryCapBytes: cap});
      for (const p of order) {
        s.handlePage(p);
        expect(s.liveBytes).toBeLessThanOrEqual(cap);
      }
      const kept: DecodedPage[] = [];
      for (const [cpu, all] of [
        [0, mixed0],
        [1, mixed1],
      ] as const) {
        const t = s.table(cpu)!;
        const first = t.oldestPage()!.seq;
        expect(t.pages.slice(t.pageHead).map((p) => p.seq)).toEqual(
          all.slice(first).map((p) => p.seq),
        );
        kept.push(...all.slice(first));
      }
      expect(storeCounts(s)).toEqual(slowCounts(kept));
      expect(columnCounts(s)).toEqual(slowCounts(kept));
      expect(s.evicted.events + s.eventCount).toBe(43924 + 43756);
      const live = kept.reduce(
        (n, p) => n + p.bytes.byteLength + p.columns.length * COLUMN_BYTES_PER_EVENT,
        0,
      );
      expect(s.liveBytes).toBe(live);
    }
  });

  it('evicts the page whose newest event is oldest, whatever the feeding order', () => {
    const a = new EventStore({memoryCapBytes: 2 * 1024 * 1024});
    const b = new EventStore({memoryCapBytes: 2 * 1024 * 1024});
    for (const p of [...mixed0, ...mixed1]) a.handlePage(p);
    for (const p of interleave([mixed0, mixed1], seededRandom(99))) b.handlePage(p);
    // Final windows can differ (eviction happens as pages come), but both respect the cap and
    // both evicted from the old end of each CPU.
    for (const s of [a, b]) {
      expect(s.liveBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
      expect(s.evicted.pages).toBeGreaterThan(0);
    }
    expect(b.oldestTsNs(0)).toBeGreaterThan(mixed0[0].columns.tsNs[0]);
  });

  it('setMemoryCap shrinks the window at once and counts the eviction', () => {
    const s = new EventStore();
    for (const p of mixed0) s.handlePage(p);
    const before = s.eventCount;
    s.setMemoryCap(512 * 1024);
    expect(s.liveBytes).toBeLessThanOrEqual(512 * 1024);
    expect(s.evicted.events).toBe(before - s.eventCount);
    expect(s.evicted.events).toBeGreaterThan(0);
    expect(() => s.setMemoryCap(0)).toThrow(RangeError);
  });

  it('finds the payload of any event in the window and forgets evicted ones', () => {
    const s = new EventStore({memoryCapBytes: 1024 * 1024});
    for (const p of mixed0) s.handlePage(p);
    const t = s.table(0)!;
    expect(s.payload(0, t.firstAbs - 1)).toBeUndefined();
    const abs = t.firstAbs + 17;
    const pl = s.payload(0, abs)!;
    const v = new DataView(pl.bytes.buffer, pl.bytes.byteOffset);
    expect(v.getUint16(pl.offset, true)).toBe(t.type[t.pos(abs)]);
    expect(v.getInt32(pl.offset + 4, true)).toBe(t.pid[t.pos(abs)]);
  });

  it('measures bytes per event and events per 256 MiB', () => {
    const s = new EventStore();
    const pages = [...mixed0, ...mixed1];
    for (const p of pages) s.handlePage(p);
    const perEvent = s.liveBytes / s.eventCount;
    const markers = new EventStore();
    for (const p of capturePages('markers-cpu1.raw', 1)) markers.handlePage(p);
    const perMarker = markers.liveBytes / markers.eventCount;
    console.log(
      `columns ${COLUMN_BYTES_PER_EVENT} B/event; window incl. page bytes: mixed ${perEvent.toFixed(1)} B/event ` +
        `(${((256 * 2 ** 20) / perEvent / 1e6).toFixed(2)} M events per 256 MiB), markers ${perMarker.toFixed(1)} B/event ` +
        `(${((256 * 2 ** 20) / perMarker / 1e6).toFixed(2)} M per 256 MiB)`,
    );
    expect(COLUMN_BYTES_PER_EVENT).toBeLessThanOrEqual(24);
  });
});
