/**
 * trace.dat reader tests that need no kernel: the committed real traces in
 * core/testing/fixtures/tracedat/ (recorded by trace-cmd 3.1.6, kallsyms trimmed; see
 * server/cli/report-command.test.ts) must print exactly as `trace-cmd report` printed them, also
 * after being rewritten as v6, v7 none, v7 zlib (chunked) and v7 zstd, with sections shuffled
 * and unknown options added.
 */
import {readFileSync, readdirSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {gunzipSync} from 'fflate';
import {describe, expect, it} from 'vitest';
import {DecodeError} from '../errors.ts';
import {TraceReport} from '../report/trace-report.ts';
import {BytesSource, type ByteSource} from './byte-source.ts';
import {TraceEventIterator} from './event-iterator.ts';
import {readTraceDat, type TraceDat} from './tracedat-file.ts';
import {writeTraceDat, type WriteOptions} from './tracedat-writer.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../testing/fixtures/tracedat');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.dat'));

function load(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(DIR, name)));
}
function expected(name: string): string {
  return new TextDecoder().decode(
    gunzipSync(new Uint8Array(readFileSync(join(DIR, `${name}.report.txt.gz`)))),
  );
}
function report(dat: TraceDat): string {
  const r = new TraceReport(dat);
  let s = r.header();
  for (const c of r.chunks()) s += c;
  expect(r.iterator.errorCount).toBe(0);
  return s;
}
function firstDiff(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i + 1}:\n  expected ${x[i]}\n  got      ${y[i]}`;
  }
  return '';
}

/** Counts reads and their largest size: the reader must stream, not slurp. */
class CountingSource implements ByteSource {
  reads = 0;
  maxRead = 0;
  constructor(private readonly inner: ByteSource) {}
  get size(): number {
    return this.inner.size;
  }
  read(offset: number, length: number): Uint8Array {
    this.reads++;
    this.maxRead = Math.max(this.maxRead, length);
    return this.inner.read(offset, length);
  }
}

describe('trace.dat fixtures (real trace-cmd 3.1.6 recordings)', () => {
  it('has 2-4 small fixtures', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(2);
    for (const f of FILES) expect(load(f).length).toBeLessThan(300 << 10);
  });

  for (const file of FILES) {
    describe(file, () => {
      const bytes = load(file);
      const want = expected(file);

      it('prints exactly what trace-cmd report printed', () => {
        const src = new CountingSource(new BytesSource(bytes));
        const got = report(readTraceDat(src));
        expect(firstDiff(want, got)).toBe('');
        // Streaming: no read larger than a metadata section or a 64-page batch.
        expect(src.maxRead).toBeLessThanOrEqual(Math.max(64 * 4096, 1 << 17));
      });

      const variants: WriteOptions[] = [
        {version: 6, compression: 'none'},
        {version: 7, compression: 'none', sectionOrder: [21, 19, 16, 18, 20, 17]},
        {version: 7, compression: 'zlib', chunkPages: 3},
        {
          version: 7,
          compression: 'zlib',
          chunkPages: 1,
          extraOptions: [[200, Uint8Array.of(1, 2, 3)]],
        },
        {version: 7, compression: 'zstd', chunkPages: 2},
      ];
      for (const variant of variants) {
        it(`prints the same after rewriting as ${JSON.stringify(variant)}`, () => {
          const dat = readTraceDat(new BytesSource(bytes));
          const rewritten = writeTraceDat(dat, variant);
          const again = readTraceDat(new BytesSource(rewritten));
          expect(again.version).toBe(variant.version);
          if (variant.version === 7) expect(again.compression.name).toBe(variant.compression);
          if (variant.compression !== 'none')
            expect(again.buffers.some((b) => b.compressed)).toBe(true);
          if (variant.extraOptions) expect(again.options.unknown).toEqual([200]);
          expect(firstDiff(want, report(again))).toBe('');
        });
      }

      it('merges CPUs in time order and yields every event once', () => {
        const dat = readTraceDat(new BytesSource(bytes));
        const it = new TraceEventIterator(dat);
        const perCpu = new Map<string, number>();
        let last = -Infinity;
        let n = 0;
        while (it.next()) {
          expect(it.tsNs).toBeGreaterThanOrEqual(last);
          last = it.tsNs;
          const k = `${it.bufferIndex}:${it.cpu}`;
          perCpu.set(k, (perCpu.get(k) ?? 0) + 1);
          n++;
        }
        let sum = 0;
        for (const [k, count] of perCpu) {
          const [b, cpu] = k.split(':').map(Number);
          const one = new TraceEventIterator(dat, {buffers: [b], cpus: [cpu]});
          let m = 0;
          let prev = -Infinity;
          while (one.next()) {
            expect(one.tsNs).toBeGreaterThanOrEqual(prev);
            prev = one.tsNs;
            m++;
          }
          expect(m).toBe(count);
          sum += m;
        }
        expect(sum).toBe(n);
        expect(n).toBeGreaterThan(100);
      });
    });
  }

  it('selects events (-F) and CPUs (--cpu) as a filter over the full report', () => {
    const file = 'two-instances-v7.dat';
    const dat = readTraceDat(new BytesSource(load(file)));
    const lines = expected(file).split('\n');
    const eventOf = (l: string): string | undefined => /\] +[\d.]+: (\S+):/.exec(l)?.[1];
    const run = (request: {filters?: string[]; cpus?: number[]}): string => {
      const r = new TraceReport(dat, {...request});
      let out = r.header();
      for (const c of r.chunks()) out += c;
      return out;
    };
    const irq = new Set(
      new TraceReport(dat).registry
        .all()
        .filter((f) => f.system === 'irq')
        .map((f) => f.name),
    );
    const want = lines.filter(
      (l, i) =>
        i === 0 ||
        l === '' ||
        ((e) => e === 'sched_switch' || (e !== undefined && irq.has(e)))(eventOf(l)),
    );
    expect(want.length).toBeGreaterThan(50);
    expect(firstDiff(want.join('\n'), run({filters: ['sched:sched_switch', 'irq']}))).toBe('');
    const cpu0 = lines.filter((l, i) => i === 0 || l === '' || / \[000\] /.test(l));
    expect(firstDiff(cpu0.join('\n'), run({cpus: [0]}))).toBe('');
  });

  it('reads the metadata trace-cmd stored', () => {
    const dat = readTraceDat(new BytesSource(load('two-instances-v7.dat')));
    expect(dat.version).toBe(7);
    expect(dat.compression.name).toBe('zstd');
    expect(dat.buffers.length).toBe(3);
    expect(
      dat.buffers
        .slice(1)
        .every((b) => b.name.startsWith('ringside-test-rep-') && b.cpus.length > 0),
    ).toBe(true);
    expect(dat.buffers.some((b) => b.compressed)).toBe(true);
    expect(dat.options.uname).toMatch(/^Linux /);
    expect(dat.options.version).toMatch(/^3\.1\.6/);
    expect(dat.options.cpustats.length).toBeGreaterThan(0);
    expect(dat.cpus).toBe(2);
    expect(dat.longSize).toBe(8);
    expect(dat.eventFormats.some((f) => f.system === 'sched')).toBe(true);
    const counter = readTraceDat(new BytesSource(load('counter-v6.dat')));
    expect(counter.version).toBe(6);
    expect(counter.clock).toBe('counter');
    expect(counter.usecs).toBe(false);
  });
});

describe('damaged trace.dat files', () => {
  const bytes = load(FILES.find((f) => f.startsWith('lost')) ?? FILES[0]);

  it('names the section and offset of a truncation', () => {
    for (const cut of [5, 12, 40, 200, 2000, bytes.length >> 1, bytes.length - 100]) {
      let err: unknown;
      try {
        const dat = readTraceDat(new BytesSource(bytes.subarray(0, cut)));
        const it = new TraceEventIterator(dat);
        while (it.next());
        if (it.errorCount) err = it.errors[0];
      } catch (e) {
        err = e;
      }
      expect(err, `cut at ${cut}`).toBeInstanceOf(DecodeError);
      const d = err as DecodeError;
      expect(d.where).toMatch(/trace\.dat|cpu\d/);
      expect(d.offset).toBeGreaterThanOrEqual(0);
    }
  });

  it('rejects a file that is not a trace.dat', () => {
    expect(() =>
      readTraceDat(new BytesSource(new TextEncoder().encode('hello world, not a trace'))),
    ).toThrow(DecodeError);
    const v5 = bytes.slice();
    v5[10] = 0x35; // version "5"
    expect(() => readTraceDat(new BytesSource(v5))).toThrow(/version/);
  });
});

/** Mulberry32: a small seeded PRNG so failures replay. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fuzz: mutated fixtures', () => {
  // A v6 and a zlib v7 rewrite of each fixture widen what the mutations hit.
  const inputs: [string, Uint8Array][] = [];
  for (const f of FILES) {
    const b = load(f);
    inputs.push([f, b]);
  }
  const small = readTraceDat(new BytesSource(load(FILES[0])));
  inputs.push(['zlib', writeTraceDat(small, {version: 7, compression: 'zlib', chunkPages: 2})]);
  inputs.push(['v6', writeTraceDat(small, {version: 6})]);

  it('never throws anything but DecodeError and never hangs (3000 cases)', () => {
    const next = rng(0x5eed);
    const started = Date.now();
    let decodeErrors = 0;
    let ok = 0;
    const CASES = 3000;
    for (let n = 0; n < CASES; n++) {
      const [name, base] = inputs[n % inputs.length];
      const m = base.slice();
      const kind = next();
      let bytes: Uint8Array;
      if (kind < 0.2) {
        bytes = m.subarray(0, Math.floor(next() * m.length));
      } else {
        // Flip 1..8 bytes; half the time aim at the first 4 KB where the headers live.
        const flips = 1 + Math.floor(next() * 8);
        for (let i = 0; i < flips; i++) {
          const span = next() < 0.5 ? Math.min(4096, m.length) : m.length;
          m[Math.floor(next() * span)] ^= 1 << Math.floor(next() * 8);
        }
        bytes = m;
      }
      try {
        const dat = readTraceDat(new BytesSource(bytes));
        // Walk a bounded number of events: corrupt counts must not make us spin.
        const it = new TraceEventIterator(dat);
        let k = 0;
        while (it.next() && k < 200_000) k++;
        expect(k).toBeLessThan(200_000);
        ok++;
      } catch (e) {
        if (!(e instanceof DecodeError)) {
          throw new Error(
            `case ${n} (${name}, ${kind < 0.2 ? 'truncated' : 'flipped'}): ${String(e)}`,
          );
        }
        decodeErrors++;
      }
    }
    expect(ok + decodeErrors).toBe(CASES);
    expect(decodeErrors).toBeGreaterThan(100);
    expect(Date.now() - started).toBeLessThan(45_000);
  });
});
