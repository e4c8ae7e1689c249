import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {describe, expect, it} from 'vitest';
import {layoutFor} from '../../core/page-layout.ts';
import {EventColumns, decodeSubbuf} from '../../core/subbuffer.ts';
import {BytesSource} from '../../core/tracedat/byte-source.ts';
import {TraceEventIterator} from '../../core/tracedat/event-iterator.ts';
import {readTraceDat} from '../../core/tracedat/tracedat-file.ts';
import {ReplaySource} from './replay-source.ts';
import type {SubbufSlice} from './source.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../../core/testing/fixtures/tracedat');
const FILE = join(DIR, 'two-instances-v7.dat');

function drain(src: ReplaySource): {slices: SubbufSlice[]; notices: string[]} {
  const slices: SubbufSlice[] = [];
  const notices: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const b = src.read(7);
    slices.push(...b.slices);
    notices.push(...b.notices.map((n) => n.kind));
    if (notices.includes('end')) break;
  }
  return {slices, notices};
}

describe('ReplaySource', () => {
  it('describes the trace from the file', async () => {
    const src = new ReplaySource({file: FILE, speed: 0});
    const meta = await src.open({includeSymbols: true});
    expect(meta.kind).toBe('replay');
    expect(meta.cpus).toEqual([0, 1]);
    expect(meta.subbufSize).toBe(4096);
    expect(meta.instance).toMatch(/^ringside-test-rep-/);
    expect(meta.headerPage).toMatch(/commit/);
    expect(meta.formats.find((f) => f.system === 'ftrace' && f.name === 'print')).toBeDefined();
    expect(
      meta.formats.find((f) => f.system === 'sched' && f.name === 'sched_switch'),
    ).toBeDefined();
    expect(meta.savedCmdlines.length).toBeGreaterThan(0);
    expect(meta.traceClock).toBe('local');
    expect(meta.kallsyms).toBeDefined();
    await src.close();
  });

  it('plays every page of the buffer once, with per-CPU seq, then says end', async () => {
    const src = new ReplaySource({file: FILE, speed: 0});
    await src.open();
    const {slices, notices} = drain(src);
    expect(notices).toEqual(['end']);
    expect(src.read(10).notices).toEqual([]); // 'end' is said once
    const seqs = new Map<number, number[]>();
    for (const s of slices) {
      expect(s.from).toBe(0);
      expect(s.subbufId).toBe(-1);
      seqs.set(s.cpu, [...(seqs.get(s.cpu) ?? []), s.seq]);
    }
    for (const list of seqs.values()) expect(list).toEqual(list.map((_, i) => i));

    // Decoding the slices gives exactly the events the trace.dat iterator gives for that buffer.
    const dat = readTraceDat(new BytesSource(new Uint8Array(readFileSync(FILE))));
    const bi = dat.buffers.findIndex((b) => b.cpus.some((c) => c.size > 0));
    const it = new TraceEventIterator(dat, {buffers: [bi]});
    const want = new Map<number, number[]>();
    while (it.next()) want.set(it.cpu, [...(want.get(it.cpu) ?? []), it.tsNs]);
    const layout = layoutFor(4096, dat.longSize, dat.littleEndian);
    const got = new Map<number, number[]>();
    let lastPageTs = -Infinity;
    for (const s of slices) {
      const cols = new EventColumns();
      const r = decodeSubbuf(s.bytes, 0, s.bytes.length, layout, cols);
      expect(r.error).toBeUndefined();
      expect(r.header.timestamp).toBeGreaterThanOrEqual(lastPageTs); // merged by page time
      lastPageTs = r.header.timestamp;
      got.set(s.cpu, [...(got.get(s.cpu) ?? []), ...cols.tsNs.subarray(0, cols.length)]);
    }
    expect(got).toEqual(want);
    await src.close();
  });

  it('paces pages by their timestamps: speed 1 is real time, N is N times faster', async () => {
    const bytes = new Uint8Array(readFileSync(FILE));
    const spanOf = async (speed: number): Promise<number> => {
      let nowMs = 0;
      const src = new ReplaySource({source: new BytesSource(bytes), speed, now: () => nowMs});
      await src.open();
      let delivered = src.read(1000).slices.length;
      expect(delivered).toBeGreaterThanOrEqual(1); // the first page is due at once
      let steps = 0;
      while (!src.read(0).notices.some((n) => n.kind === 'end')) {
        nowMs += 1; // 1 ms of wall time
        const b = src.read(1000);
        delivered += b.slices.length;
        if (b.notices.some((n) => n.kind === 'end')) break;
        steps++;
        if (steps > 1e6) throw new Error('never ended');
      }
      await src.close();
      return nowMs;
    };
    const realMs = await spanOf(1);
    const fastMs = await spanOf(10);
    expect(realMs).toBeGreaterThan(5);
    expect(Math.abs(fastMs * 10 - realMs)).toBeLessThanOrEqual(10);
  });

  it('waits until the next page is due, not longer', async () => {
    let nowMs = 0;
    const src = new ReplaySource({file: FILE, speed: 0.001, now: () => nowMs});
    await src.open();
    src.read(1);
    const t0 = Date.now();
    await src.wait(30);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    nowMs = 1e12;
    const t1 = Date.now();
    await src.wait(1000);
    expect(Date.now() - t1).toBeLessThan(50);
    const ac = new AbortController();
    const p = src.wait(10_000, ac.signal);
    ac.abort();
    await p;
    await src.close();
  });

  it('rejects an unknown instance and a missing file', async () => {
    await expect(new ReplaySource({file: FILE, instance: 'nope'}).open()).rejects.toThrow(
      /no buffer/,
    );
    await expect(new ReplaySource({file: join(DIR, 'missing.dat')}).open()).rejects.toThrow();
  });
});
