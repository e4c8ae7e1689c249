/**
 * Seeded fuzz: thousands of mutated real format files and print fmts. Parsing must return a
 * format or throw a DecodeError; rendering a parsed format on random records must return a
 * string (bad print fmts become "[FAILED TO PARSE]" fallbacks), never throw, never hang.
 */
import {join} from 'node:path';
import {describe, expect, it} from 'vitest';
import {isDecodeError} from '../errors.ts';
import {parseEventFormat, type EventFormat} from '../format/event-format.ts';
import {EventRegistry} from '../format/event-registry.ts';
import {EventRenderer} from './render.ts';
import {Rng, randomRecord} from './testing/random-records.ts';
import {listFormatFiles} from '../testing/format-files.ts';

const CAPTURES = join(import.meta.dirname, '../testing/fixtures/captures');

const ITERATIONS = Number(process.env.RINGSIDE_FUZZ_ITERATIONS ?? 4000);

const TOKENS = [
  '(',
  ')',
  '"',
  ',',
  'REC->',
  'REC',
  '->',
  '%',
  '%s',
  '%d',
  '%*s',
  '%.*s',
  '%p',
  '%pS',
  '%pI4',
  '%pM',
  '%ph',
  '*',
  '[',
  ']',
  '{',
  '}',
  '?',
  ':',
  '-',
  '~',
  '!',
  '<<',
  '>>',
  '&&',
  '||',
  '__print_flags(',
  '__print_symbolic(',
  '__get_str(',
  '__print_hex(',
  '__print_array(',
  '__get_dynamic_array(',
  '__get_bitmask(',
  '__get_cpumask(',
  'sizeof(',
  '(int)',
  '(unsigned long)',
  '0x',
  '9999999999999999999999',
  '\\',
  '\n',
  '\t',
  ';',
  'field:',
  'offset:',
  'size:',
  'signed:',
  '__data_loc char[]',
  '\u0000',
  '\u00ff',
];

function mutate(text: string, r: Rng): string {
  const n = 1 + r.int(4);
  let s = text;
  for (let k = 0; k < n; k++) {
    const at = r.int(s.length + 1);
    switch (r.int(7)) {
      case 0: // delete a range
        s = s.slice(0, at) + s.slice(at + 1 + r.int(20));
        break;
      case 1: // insert a token
        s = s.slice(0, at) + TOKENS[r.int(TOKENS.length)] + s.slice(at);
        break;
      case 2: // truncate
        s = s.slice(0, at);
        break;
      case 3: {
        // duplicate or drop a line
        const lines = s.split('\n');
        const i = r.int(lines.length);
        if (r.int(2)) lines.splice(i, 0, lines[i] ?? '');
        else lines.splice(i, 1);
        s = lines.join('\n');
        break;
      }
      case 4: // change a number
        s = s.replace(/\d+/g, (m) => (r.int(8) === 0 ? String(r.int(70000)) : m));
        break;
      case 5: // random byte
        s = s.slice(0, at) + String.fromCharCode(r.int(256)) + s.slice(at + 1);
        break;
      default: {
        // nest parentheses deeply
        const depth = r.int(3) === 0 ? 1000 : 1 + r.int(30);
        s = `${s.slice(0, at)}${'('.repeat(depth)}1${')'.repeat(depth)}${s.slice(at)}`;
      }
    }
  }
  return s;
}

describe('fuzz: mutated format files and print fmts', () => {
  const corpus = listFormatFiles(join(CAPTURES, 'formats'));

  it(`${ITERATIONS} mutated format files parse or fail with a DecodeError`, () => {
    const r = new Rng(4242);
    let parsed = 0;
    let rejected = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const base = corpus[r.int(corpus.length)];
      const text = mutate(base.text, r);
      try {
        parseEventFormat(text, base.system, 'fuzz');
        parsed++;
      } catch (e) {
        if (!isDecodeError(e)) throw e;
        expect(e.kind).toBe('bad-format');
        rejected++;
      }
    }
    expect(parsed + rejected).toBe(ITERATIONS);
    expect(parsed).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  });

  it(`${ITERATIONS} mutated print fmts render random records without throwing`, () => {
    const r = new Rng(99);
    const registry = new EventRegistry({longSize: 8, littleEndian: true});
    registry.setKallsyms('ffffffff81000000 T _stext\nffffffff81100000 T _etext\n');
    const formats = corpus.map((c) => parseEventFormat(c.text, c.system));
    let failed = 0;
    let slowest = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const base = formats[r.int(formats.length)];
      const ev: EventFormat = {...base, id: 1000 + i, printFmt: mutate(base.printFmt, r)};
      registry.add(ev);
      const renderer = new EventRenderer(registry, {plugins: r.int(2) === 0});
      for (let k = 0; k < 2; k++) {
        const rec = randomRecord(ev, r, [0xffffffff81000010n]);
        // also cut records short: the renderer must stay inside them
        const len = r.int(3) === 0 ? r.int(rec.length + 1) : rec.length;
        const t0 = performance.now();
        const out = renderer.render(ev, rec, 0, len);
        slowest = Math.max(slowest, performance.now() - t0);
        expect(typeof out).toBe('string');
      }
      failed += renderer.fallbacks.size;
    }
    expect(failed).toBeGreaterThan(0);
    expect(slowest).toBeLessThan(500);
  });
});
