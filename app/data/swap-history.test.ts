import {describe, expect, it} from 'vitest';
import {SwapHistory} from './swap-history.ts';

describe('SwapHistory', () => {
  it('turns reader.id changes into timed swaps, once per row', () => {
    const h = new SwapHistory();
    h.update(0, [1000, 1100, 1200], Int32Array.from([0, 0, 3]), -900);
    expect(h.recent(0)).toEqual([{subbufId: 3, atMs: 300}]);
    // The same rows again (the whole series comes each poll) add nothing; new rows do.
    h.update(0, [1000, 1100, 1200, 1300], Int32Array.from([0, 0, 3, 5]), -900);
    expect(h.recent(0).map((s) => s.subbufId)).toEqual([3, 5]);
    expect(h.recent(1)).toEqual([]);
  });

  it('places skipped sub-buffers before the new reader in the observed ring order', () => {
    const h = new SwapHistory();
    // Ring order seen: 0 → 2 → 4 → 1 → 3
    h.update(0, [1, 2, 3, 4, 5], Int32Array.from([0, 2, 4, 1, 3]), 0);
    // Two skipped before id 1: the two before it in that order are 2 and 4.
    h.noteSkips(0, Int32Array.from([1]), Int32Array.from([2]), 1);
    expect(h.lost(0).sort()).toEqual([2, 4]);
    // The same answer again changes nothing.
    h.noteSkips(0, Int32Array.from([1]), Int32Array.from([2]), 1);
    expect(h.lost(0)).toHaveLength(2);
  });
});
