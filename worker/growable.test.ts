import {describe, expect, it} from 'vitest';
import {ColumnSet} from './growable.ts';

describe('ColumnSet', () => {
  it('keeps rows through growth, slides and front drops (against a plain array)', () => {
    const set = new ColumnSet();
    const a = set.add(Float64Array, 4);
    const b = set.add(Int32Array, 4);
    const ref: number[] = [];
    let next = 0;
    for (let round = 0; round < 200; round++) {
      for (let k = 0; k < (round % 7) + 1; k++) {
        const row = set.beginRow();
        a.array[row] = next + 0.5;
        b.array[row] = next;
        ref.push(next++);
      }
      if (round % 3 === 0) {
        const drop = Math.min(ref.length, round % 5);
        set.dropBefore(set.head + drop);
        ref.splice(0, drop);
      }
      expect(set.count).toBe(ref.length);
      const got = Array.from(b.array.subarray(set.head, set.length));
      expect(got).toEqual(ref);
      expect(Array.from(a.array.subarray(set.head, set.length))).toEqual(ref.map((x) => x + 0.5));
    }
  });
});
