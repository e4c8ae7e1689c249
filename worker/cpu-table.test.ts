import {describe, expect, it} from 'vitest';
import {CpuTable} from './cpu-table.ts';

/** Append a page of `n` events the way EventStore.handlePage does (columns left zero). */
function append(t: CpuTable, n: number, maxRows = Infinity): void {
  t.reserve(n, maxRows);
  const firstAbs = t.endAbs;
  for (let i = 0; i < n; i++) {
    t.tsNs[t.tail + i] = firstAbs + i;
    t.pid[t.tail + i] = (firstAbs + i) % 1_000_003;
    t.flags[t.tail + i] = (firstAbs + i) & 0xff;
  }
  t.tail += n;
  t.pages.push({
    bytes: new Uint8Array(0),
    cost: 0,
    firstAbs,
    count: n,
    firstTsNs: 0,
    lastTsNs: 0,
    subbufId: 0,
    seq: 0,
    lostBefore: 0,
    skippedBefore: 0,
    swap: false,
  });
}

describe('CpuTable', () => {
  it('keeps the live events in order across slides and reallocations', () => {
    const t = new CpuTable(0);
    for (let p = 0; p < 2000; p++) {
      append(t, 1 + (p % 97));
      if (p % 3 === 0 && t.pageCount > 5) t.evictOldestPage();
    }
    for (let abs = t.firstAbs; abs < t.endAbs; abs++) expect(t.tsNs[t.pos(abs)]).toBe(abs);
  });

  it('does not reallocate in a full window (appends balanced by evictions)', () => {
    const t = new CpuTable(0);
    // grow to ~200k events, then append and evict page for page at that size
    while (t.length < 200_000) append(t, 60);
    // the first lap of the window may still grow it once (its tail can be near the end)
    for (let p = 0; p < 5_000; p++) {
      append(t, 60);
      t.evictOldestPage();
    }
    const grown = t.reallocs;
    const capacity = t.tsNs.length;
    for (let p = 0; p < 50_000; p++) {
      append(t, 60);
      t.evictOldestPage();
    }
    expect(t.reallocs).toBe(grown);
    expect(t.tsNs.length).toBe(capacity);
    // growth copies each event a bounded number of times: 4× steps from 4096 rows
    expect(grown).toBeLessThanOrEqual(Math.ceil(Math.log(200_000 / 4096) / Math.log(4)) + 2);
    for (let abs = t.firstAbs; abs < t.endAbs; abs += 997) expect(t.tsNs[t.pos(abs)]).toBe(abs);
  });

  it('grows a big table a step at a time, keeping every event', () => {
    // One copy of a multi-million-row table stalled the worker for 100-300 ms (bench painted
    // heavy); a big table now fills its next columns over the appends before it needs them.
    const t = new CpuTable(0);
    let p = 0;
    while (t.length < 1_500_000) {
      append(t, 60 + (p % 98));
      if (p++ % 9 === 0) t.evictOldestPage();
    }
    expect(t.reallocs).toBeGreaterThanOrEqual(5); // 4× steps from 4096 rows
    expect(t.largestCopy).toBeLessThanOrEqual(128 * 1024);
    for (let abs = t.firstAbs; abs < t.endAbs; abs++) {
      const i = t.pos(abs);
      if (t.tsNs[i] !== abs || t.pid[i] !== abs % 1_000_003 || t.flags[i] !== (abs & 0xff))
        expect({abs, ts: t.tsNs[i], pid: t.pid[i], flags: t.flags[i]}).toBe('intact');
    }
  });

  it('a big table under a budget takes the budget in one step: each row copied at most once', () => {
    // 4× steps to the budget copied ~4 M rows into fresh memory while a 500k/s window filled
    // (`copyRows`, the largest item of the page worker's profile in a bench painted heavy run).
    const t = new CpuTable(0);
    const budget = 3_000_000;
    let p = 0;
    while (t.length < 2_500_000) append(t, 60 + (p++ % 98), budget);
    expect(t.tsNs.length).toBeGreaterThanOrEqual(budget);
    expect(t.rowsCopied).toBeLessThanOrEqual(96 * 1024); // the 4k, 16k and 64k steps only
    expect(t.touchedRows).toBeLessThan(t.tail + 64 * 1024); // the capacity is not memory yet
    for (let abs = t.firstAbs; abs < t.endAbs; abs += 13) expect(t.tsNs[t.pos(abs)]).toBe(abs);
  });

  it('switches to slides when eviction catches up during a prepared growth', () => {
    const t = new CpuTable(0);
    while (t.length < 300_000) append(t, 100);
    // Now balanced: whatever was being prepared, the window only slides from here.
    for (let k = 0; k < 20_000; k++) {
      append(t, 100);
      t.evictOldestPage();
    }
    const grown = t.reallocs;
    for (let k = 0; k < 20_000; k++) {
      append(t, 100);
      t.evictOldestPage();
    }
    expect(t.reallocs).toBe(grown);
    for (let abs = t.firstAbs; abs < t.endAbs; abs += 101) expect(t.tsNs[t.pos(abs)]).toBe(abs);
  });

  it('maps rows ahead of the tail without touching the live rows, and counts them as memory', () => {
    const t = new CpuTable(0);
    while (t.length < 100_000) append(t, 100);
    const touched = t.touchedRows;
    expect(touched).toBe(t.tail);
    expect(t.warmAhead(8192, 32_768)).toBe(8192);
    expect(t.touchedRows).toBe(touched + 8192);
    expect(t.columnBytes()).toBe(t.touchedRows * 23);
    while (t.warmAhead(8192, 32_768) > 0);
    expect(t.touchedRows).toBe(Math.min(t.tsNs.length, t.tail + 32_768));
    for (let abs = t.firstAbs; abs < t.endAbs; abs += 7) expect(t.tsNs[t.pos(abs)]).toBe(abs);
    // A window that will slide within the rows it holds maps nothing more.
    for (let k = 0; k < 800; k++) t.evictOldestPage();
    expect(t.warmAhead(8192, 32_768)).toBe(0);
  });

  it('keeps a prepared growth when the cap budget shrinks a little meanwhile', () => {
    // The budget moves with every page (other CPUs, page sizes); an exact check discarded a
    // 6.5 M-row growth for 3k rows and copied 5.5 M rows in one append as the window filled.
    const t = new CpuTable(0);
    let budget = 1_400_000;
    while (t.length < 1_200_000) {
      append(t, 100, budget);
      budget -= 3;
    }
    expect(t.tsNs.length).toBeLessThanOrEqual(1_400_000 * 1.1);
    expect(t.largestCopy).toBeLessThanOrEqual(128 * 1024);
  });
});
