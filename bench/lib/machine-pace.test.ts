import {describe, expect, it} from 'vitest';
import {chaseBuffer, formatPace, machinePace} from './machine-pace.ts';

describe('machinePace', () => {
  it("the memory walk's lines form one cycle through every line, in a scattered order", () => {
    const a = chaseBuffer(1 << 20); // 16,384 lines
    const lines = a.length >>> 4;
    const seen = new Uint8Array(lines);
    let at = 0;
    let steps = 0;
    let adjacent = 0;
    do {
      expect(at % 16).toBe(0);
      expect(seen[at >>> 4]).toBe(0);
      seen[at >>> 4] = 1;
      const next = a[at];
      if (Math.abs(next - at) === 16) adjacent++;
      at = next;
      steps++;
    } while (at !== 0 && steps <= lines);
    expect(steps).toBe(lines);
    expect(adjacent).toBeLessThan(lines / 100); // not a sequential walk the prefetcher could follow
  });

  it('times both pieces in CPU ms, and more memory takes longer', () => {
    const small = machinePace(3_000_000, 1 << 20);
    const big = machinePace(3_000_000, 32 << 20);
    expect(small.aluMs).toBeGreaterThan(0);
    expect(big.memMs).toBeGreaterThan(small.memMs);
    expect(formatPace(big)).toMatch(/^machine pace: \d+ ms for a fixed .*, \d+ ms for a chain/);
  });
});
