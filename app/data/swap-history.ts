/**
 * Reader-swap history for the ring view, derived from the statistics series (one row per META
 * snapshot: time and reader.id). A change of reader.id between rows is a swap; the newest ones
 * animate for SWAP_FADE_MS. Skipped sub-buffers are placed on the ring by the order in which ids
 * have become the reader so far (the ring order of kernel-abi.md §2.6): with `k` skipped before
 * id X, the k ids preceding X in that order are marked. That placement is derived, like the
 * count, and is only as good as the observed order.
 */

const KEEP_SWAPS = 32;
const KEEP_LOST = 64;

interface CpuHistory {
  lastTimeMs: number;
  lastId: number;
  recent: {subbufId: number; atMs: number}[];
  /** Ids in the order they became the reader (a cycle once the ring has turned). */
  order: number[];
  lost: number[];
  skipsSeen: number;
}

export class SwapHistory {
  private readonly cpus = new Map<number, CpuHistory>();

  private of(cpu: number): CpuHistory {
    let h = this.cpus.get(cpu);
    if (!h) {
      h = {lastTimeMs: -Infinity, lastId: -1, recent: [], order: [], lost: [], skipsSeen: 0};
      this.cpus.set(cpu, h);
    }
    return h;
  }

  /**
   * Feed the series (oldest first). `perfMinusWallMs` converts the server's wall-clock
   * timestamps into performance.now() time, which the ring animation uses.
   */
  update(
    cpu: number,
    timeMs: ArrayLike<number>,
    readerId: ArrayLike<number>,
    perfMinusWallMs: number,
  ): void {
    const h = this.of(cpu);
    for (let i = 0; i < timeMs.length; i++) {
      if (timeMs[i] <= h.lastTimeMs) continue;
      const id = readerId[i];
      if (id !== h.lastId && h.lastId !== -1) {
        h.recent.push({subbufId: id, atMs: timeMs[i] + perfMinusWallMs});
        if (h.recent.length > KEEP_SWAPS) h.recent.shift();
      }
      if (id !== h.lastId && !h.order.includes(id)) h.order.push(id);
      h.lastId = id;
      h.lastTimeMs = timeMs[i];
    }
  }

  /** Skips seen on timeline swap marks: `skipped[i]` sub-buffers lost before id `subbufId[i]`. */
  noteSkips(cpu: number, subbufId: Int32Array, skipped: Int32Array, n: number): void {
    const h = this.of(cpu);
    let total = 0;
    for (let i = 0; i < n; i++) total += skipped[i];
    if (total <= h.skipsSeen) return;
    h.skipsSeen = total;
    for (let i = 0; i < n; i++) {
      const k = skipped[i];
      const at = h.order.indexOf(subbufId[i]);
      if (k <= 0 || at < 0 || h.order.length < 2) continue;
      for (let j = 1; j <= k && j < h.order.length; j++) {
        const id = h.order[(at - j + h.order.length) % h.order.length];
        if (!h.lost.includes(id)) h.lost.push(id);
      }
    }
    if (h.lost.length > KEEP_LOST) h.lost.splice(0, h.lost.length - KEEP_LOST);
  }

  recent(cpu: number): {subbufId: number; atMs: number}[] {
    return this.of(cpu).recent.slice();
  }

  lost(cpu: number): number[] {
    return this.of(cpu).lost.slice();
  }
}
