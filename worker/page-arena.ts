/**
 * Where the event store keeps page bytes: copies carved out of 256 KiB slabs, one open slab
 * per CPU, and a slab is used again once every page cut from it has left the window.
 *
 * Why not one ArrayBuffer per page (`bytes.slice()`): on the project VM the first write to a
 * fresh 4 KiB memory page costs ~10 µs (in a Chromium worker a 256 MiB array took 0.6–0.95 s
 * to fill the first time and 10–20 ms the second; 16,384 new 4 KiB arrays took 185–473 ms to
 * allocate), so the page copies were 1.1 s of the worker's time in a 6 s `bench painted
 * --profile` heavy run. Slabs are allocated once, and a window at its cap recycles them
 * instead of asking for fresh memory for every page.
 *
 * Pages of one CPU leave the window oldest first, so a slab (filled by one CPU, in order) is
 * freed as a block; memory beyond the pages' own bytes is at most the open slab per CPU, the
 * unused end of each slab (< one page), superseded slices of a sub-buffer until they leave,
 * and `maxSpare` spare slabs (EventStore: 1/32 of its cap).
 */

export interface Slab {
  readonly buf: Uint8Array;
  /** Bytes handed out from the start. */
  used: number;
  /** Pages cut from it that are still in the window. */
  live: number;
  /** No longer a CPU's open slab: reusable when `live` reaches 0. */
  closed: boolean;
}

export const SLAB_BYTES = 256 * 1024;

/** Write one byte per 4 KiB memory page of `a` (zero, where it is zero anyway). */
function touchPages(a: Uint8Array): void {
  for (let i = 0; i < a.byteLength; i += 4096) a[i] = 0;
}

/** Pages bigger than this get an ArrayBuffer of their own (huge sub-buffers, rare). */
const OWN_BUFFER_BYTES = SLAB_BYTES / 4;

export class PageArena {
  private open: (Slab | undefined)[] = [];
  private spare: Slab[] = [];
  /** Slabs allocated so far (diagnostics and tests). */
  slabsAllocated = 0;

  /**
   * Spare slabs kept for reuse (memory outside the cap, so bounded). The window's share of
   * page bytes moves by a few MiB as columns grow and shrink; slabs freed beyond this are
   * left to the garbage collector.
   */
  maxSpare = 32;

  /**
   * A copy of `src` that stays valid until `release(slab)`; `slab` is undefined for a page
   * that got its own buffer (nothing to release).
   */
  copy(cpu: number, src: Uint8Array): {bytes: Uint8Array; slab: Slab | undefined} {
    const n = src.byteLength;
    if (n > OWN_BUFFER_BYTES) return {bytes: src.slice(), slab: undefined};
    let s = this.open[cpu];
    if (!s || s.used + n > s.buf.byteLength) {
      if (s) this.close(s);
      s = this.spare.pop() ?? this.newSlab();
      this.open[cpu] = s;
    }
    const bytes = s.buf.subarray(s.used, s.used + n);
    bytes.set(src);
    s.used += (n + 7) & ~7; // the next page 8-byte aligned, as a fresh buffer would be
    s.live++;
    return {bytes, slab: s};
  }

  /** A page cut from `slab` left the window. */
  release(slab: Slab): void {
    if (--slab.live === 0 && slab.closed) this.recycle(slab);
  }

  /** Forget everything (the store was reset; no page refers to a slab any more). */
  clear(): void {
    this.open = [];
    this.spare = [];
  }

  /**
   * Below `n` spare slabs, add one with its memory mapped (one write per 4 KiB), so the copies
   * that use it do not take the page faults: called when the worker is idle (EventStore.warm),
   * one slab per call.
   */
  warmSpare(n: number): void {
    if (this.spare.length >= Math.min(n, this.maxSpare)) return;
    const s = this.newSlab();
    touchPages(s.buf);
    this.spare.push(s);
  }

  /** Slabs ready for reuse (diagnostics and tests). */
  get spareSlabs(): number {
    return this.spare.length;
  }

  private close(s: Slab): void {
    s.closed = true;
    if (s.live === 0) this.recycle(s);
  }

  private recycle(s: Slab): void {
    s.used = 0;
    s.live = 0;
    s.closed = false;
    if (this.spare.length < this.maxSpare) this.spare.push(s);
  }

  private newSlab(): Slab {
    this.slabsAllocated++;
    return {buf: new Uint8Array(SLAB_BYTES), used: 0, live: 0, closed: false};
  }
}
