import {describe, expect, it} from 'vitest';
import {Rng} from '../seeded-random.ts';
import {SymbolTable} from './symbols.ts';

/** The table as a plain regex parse and a stable sort of the reversed list would build it. */
function reference(text: string): {bad: number; entries: Array<[bigint, string]>} {
  const entries: Array<[bigint, string]> = [];
  let bad = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^([0-9a-fA-F]{1,16})\s+(\S)\s+(\S+)/.exec(line);
    if (!m) {
      bad++;
      continue;
    }
    if (m[3].startsWith('$') || m[2] === 'A' || m[2] === 'a') continue;
    entries.push([BigInt(`0x${m[1]}`), m[3]]);
  }
  entries.reverse();
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {bad, entries};
}

/** glibc bsearch with libtraceevent's compare: equal, or between an entry and the next one. */
function referenceFind(e: Array<[bigint, string]>, addr: bigint): number {
  let lo = 0;
  let hi = e.length;
  while (lo < hi) {
    const idx = (lo + hi) >>> 1;
    const at = e[idx][0];
    const inside = addr === at || (addr > at && idx + 1 < e.length && addr < e[idx + 1][0]);
    if (inside) return idx;
    if (addr < at) hi = idx;
    else lo = idx + 1;
  }
  return -1;
}

function dump(t: SymbolTable): Array<[bigint, string]> {
  return Array.from({length: t.size}, (_, i): [bigint, string] => [t.address(i), t.name(i)]);
}

describe('SymbolTable', () => {
  it('parses kallsyms lines, skipping absolute and $ symbols, and counts malformed ones', () => {
    const t = new SymbolTable();
    const bad = t.load(
      [
        'ffffffff81000000 T _stext',
        'ffffffff81000000 T _text',
        '0000000000000000 A fixed_percpu_data',
        'ffffffff81000100 t $x.1',
        'ffffffffc0a01000 t nf_hook\t[nf_tables]',
        'not a line',
        'ffffffff81000200  W  spaced   trailing words',
        '',
      ].join('\n'),
    );
    expect(bad).toBe(1);
    expect(dump(t)).toEqual([
      [0xffffffff81000000n, '_text'],
      [0xffffffff81000000n, '_stext'],
      [0xffffffff81000200n, 'spaced'],
      [0xffffffffc0a01000n, 'nf_hook'],
    ]);
    expect(t.find(0xffffffff81000010n)).toBe(1);
    expect(t.find(0xffffffff80ffffffn)).toBe(-1);
    expect(t.find(0xffffffffc0a01000n)).toBe(3);
    expect(t.find(0xffffffffc0a01001n)).toBe(-1); // past the last symbol: exact match only
    expect(t.addressOf('nf_hook')).toBe(0xffffffffc0a01000n);
  });

  it('agrees with a regex parse and a stable sort on random, unsorted and odd input', () => {
    const rnd = new Rng(7);
    const pick = <T>(xs: T[]): T => xs[rnd.int(xs.length)];
    for (let round = 0; round < 40; round++) {
      const lines: string[] = [];
      const sortedInput = round % 2 === 0;
      let base = 0xffffffff81000000n;
      for (let k = 0; k < 300; k++) {
        base += BigInt(rnd.int(3) * 16);
        const addr = sortedInput ? base : base + BigInt(rnd.int(1 << 20)) * 16n;
        let hex = addr.toString(16);
        if (rnd.int(10) === 0) hex = hex.slice(rnd.int(8) + 1);
        if (rnd.int(40) === 0) hex = `1${hex}`; // 17 digits: malformed
        const sep = pick([' ', ' ', ' ', '\t', '  ', '\u00a0', '']);
        const type = pick(['T', 't', 'W', 'A', 'a', 'd', 'TT', ' ']);
        const name = pick([`f${k}`, `f${k % 7}`, `$d${k}`, '', `m${k}\t[mod]`, `g${k}\r`]);
        lines.push(`${hex}${sep}${type} ${name}`);
        if (rnd.int(30) === 0) lines.push(pick(['', 'junk', '\r', 'zz T x']));
      }
      const text = lines.join('\n');
      const t = new SymbolTable();
      const want = reference(text);
      expect(t.load(text)).toBe(want.bad);
      expect(dump(t)).toEqual(want.entries);
      // Lookups between and around the entries probe as libtraceevent's bsearch does.
      for (let q = 0; q < 200; q++) {
        const e = want.entries;
        if (e.length === 0) break;
        const addr = e[rnd.int(e.length)][0] + BigInt(rnd.int(40)) - 8n;
        expect(t.find(addr)).toBe(referenceFind(e, addr));
      }
    }
  });
});
