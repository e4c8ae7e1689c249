import {describe, expect, it} from 'vitest';
import {EventStore} from './event-store.ts';
import {PageArena, SLAB_BYTES} from './page-arena.ts';
import {bigTracePages} from './testing/big-trace.ts';

const filled = (n: number, v: number) => new Uint8Array(n).fill(v);

describe('PageArena', () => {
  it('keeps a copy, packs a CPU’s pages into one slab and reuses it once all have left', () => {
    const a = new PageArena();
    a.maxSpare = 4;
    const src = filled(4096, 1);
    const first = a.copy(0, src);
    src.fill(9); // the sink's bytes may change after handlePage: the copy must not
    expect(first.bytes.every((b) => b === 1)).toBe(true);
    const perSlab = SLAB_BYTES / 4096;
    const pages = [
      first,
      ...Array.from({length: perSlab - 1}, (_, i) => a.copy(0, filled(4096, i))),
    ];
    expect(new Set(pages.map((p) => p.slab)).size).toBe(1);
    expect(a.slabsAllocated).toBe(1);
    const next = a.copy(0, filled(100, 7)); // does not fit: a second slab opens
    expect(next.slab).not.toBe(first.slab);
    expect(a.slabsAllocated).toBe(2);
    // Another CPU never shares a slab (its pages leave in another order).
    expect(a.copy(1, filled(100, 3)).slab).not.toBe(next.slab);
    for (const p of pages.slice(0, -1)) a.release(p.slab!);
    expect(a.spareSlabs).toBe(0); // one page of the first slab is still in the window
    a.release(pages.at(-1)!.slab!);
    expect(a.spareSlabs).toBe(1);
    // The next slab CPU 0 needs is the recycled one, not new memory.
    for (let i = 0; i < perSlab; i++) a.copy(0, filled(4096, 5));
    expect(a.slabsAllocated).toBe(3); // cpu1's slab was the third; none since
  });

  it('maps spare slabs ahead, one per idle step, and the copies use them', () => {
    const a = new PageArena();
    a.warmSpare(2);
    expect(a.spareSlabs).toBe(1);
    a.warmSpare(2);
    a.warmSpare(2); // enough already
    expect(a.spareSlabs).toBe(2);
    expect(a.slabsAllocated).toBe(2);
    a.copy(0, filled(4096, 1));
    a.copy(1, filled(4096, 2));
    expect(a.spareSlabs).toBe(0);
    expect(a.slabsAllocated).toBe(2); // no new slab for the two open ones
  });

  it('gives huge pages a buffer of their own', () => {
    const a = new PageArena();
    const big = a.copy(0, filled(SLAB_BYTES, 2));
    expect(big.slab).toBeUndefined();
    expect(big.bytes.byteLength).toBe(SLAB_BYTES);
    expect(a.slabsAllocated).toBe(0);
  });
});

describe('EventStore page bytes in the arena', () => {
  it('stops asking for memory once the window is at its cap, and every kept payload stays right', () => {
    const cap = 24 * 2 ** 20;
    const s = new EventStore({memoryCapBytes: cap});
    const [c0, c1] = bigTracePages(700_000);
    // The first 8 payload bytes of every event, by CPU and absolute index, as delivered.
    const sent = [new Float64Array(800_000), new Float64Array(800_000)];
    const head8 = (b: Uint8Array, o: number) =>
      new DataView(b.buffer, b.byteOffset + o, 8).getFloat64(0, true);
    const next = [0, 0];
    let slabsAtCap = -1;
    let pagesAfterCap = 0;
    for (let i = 0; i < Math.max(c0.length, c1.length); i++) {
      for (const p of [c0[i], c1[i]]) {
        if (!p) continue;
        // A reused delivery buffer: the store must not keep a view into it.
        const scratch = p.bytes.slice();
        for (let k = 0; k < p.columns.length; k++)
          sent[p.cpu][next[p.cpu]++] = head8(scratch, p.columns.payloadOffset[k]);
        s.handlePage({...p, bytes: scratch});
        scratch.fill(0xee);
        if (slabsAtCap >= 0) pagesAfterCap++;
      }
      if (slabsAtCap < 0 && s.evicted.pages > 0) slabsAtCap = s.arena.slabsAllocated;
    }
    expect(slabsAtCap).toBeGreaterThan(0);
    // Eviction recycles. New slabs after the cap was first reached only follow the window's
    // share of page bytes as the columns grow and shrink: well under one per 64 pages (what a
    // store that never reused a slab would need).
    expect(pagesAfterCap).toBeGreaterThan(10_000);
    expect(s.arena.slabsAllocated - slabsAtCap).toBeLessThan(pagesAfterCap / 64 / 4);
    for (const cpu of s.cpus()) {
      const t = s.table(cpu)!;
      for (let abs = t.firstAbs; abs < t.endAbs; abs += 97) {
        const p = s.payload(cpu, abs)!;
        expect(head8(p.bytes, p.offset)).toBe(sent[cpu][abs]);
      }
    }
  });
});
