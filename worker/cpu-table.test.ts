import {describe, expect, it} from 'vitest';
import {CpuTable} from './cpu-table.ts';

/** Append a page of `n` events the way EventStore.handlePage does (columns left zero). */
function append(t: CpuTable, n: number): void {
  t.reserve(n);
  const firstAbs = t.endAbs;
  for (let i = 0; i < n; i++) t.tsNs[t.tail + i] = firstAbs + i;
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
    // growth copies each event a bounded number of times: 1.5× steps from 4096 rows
    expect(grown).toBeLessThanOrEqual(Math.ceil(Math.log(200_000 / 4096) / Math.log(1.5)) + 2);
    for (let abs = t.firstAbs; abs < t.endAbs; abs += 997) expect(t.tsNs[t.pos(abs)]).toBe(abs);
  });
});
