import {readFileSync} from 'node:fs';
import {describe, expect, it} from 'vitest';
import {layoutFor} from '../../../core/page-layout.ts';
import {decodeSubbuf, EventColumns} from '../../../core/subbuffer.ts';
import {bundledFormats, parseEventLayout} from './format-offsets.ts';
import {CpuRingBuffer} from './ring-buffer-model.ts';
import {makeTasks, savedCmdlines} from './tasks.ts';
import {SyntheticWorkload} from './workload.ts';

const CAPTURES = new URL('../../../core/testing/fixtures/captures/', import.meta.url);

/** Payload area per event id in a buffer of whole sub-buffers. */
function sizesById(bytes: Uint8Array, subbuf = 4096): Map<number, Set<number>> {
  const cols = new EventColumns();
  const layout = layoutFor(subbuf);
  for (let o = 0; o + subbuf <= bytes.length; o += subbuf)
    decodeSubbuf(bytes, o, subbuf, layout, cols);
  const m = new Map<number, Set<number>>();
  for (let i = 0; i < cols.length; i++) {
    const off = cols.payloadOffset[i];
    const id = bytes[off] | (bytes[off + 1] << 8);
    if (!m.has(id)) m.set(id, new Set());
    m.get(id)!.add(cols.payloadLen[i]);
  }
  return m;
}

function run(seed: number, rate: number, ms: number, cpus = 2) {
  const rbs = Array.from({length: cpus}, () => new CpuRingBuffer({nrPages: 1024}));
  const w = new SyntheticWorkload(rbs, {seed, rate});
  w.advanceTime(ms * 1e6);
  return {rbs, w};
}

function pagesOf(rb: CpuRingBuffer): Uint8Array {
  rb.map();
  const parts: Uint8Array[] = [];
  for (let id = 0; id <= rb.nrPages; id++) parts.push(rb.subbuf(id));
  const all = new Uint8Array(parts.length * rb.subbufSize);
  parts.forEach((p, i) => all.set(p, i * rb.subbufSize));
  return all;
}

describe('bundled format files', () => {
  it('are the kernel text, verbatim, for every event the workload writes', () => {
    const f = bundledFormats();
    for (const e of f.formats.filter((x) => x.system !== 'timer')) {
      const orig = readFileSync(new URL(`formats/${e.system}/${e.name}/format`, CAPTURES), 'utf8');
      expect(e.text).toBe(orig);
    }
    expect(f.headerPage).toBe(readFileSync(new URL('header_page', CAPTURES), 'utf8'));
  });

  it('parse field offsets and the fixed record size', () => {
    const l = bundledFormats().layouts.get('sched/sched_switch')!;
    expect(l.id).toBe(372);
    expect(l.fields.get('next_pid')).toEqual({offset: 56, size: 4});
    expect(l.fixedSize).toBe(64);
    expect(
      parseEventLayout('ftrace', bundledFormats().formats.find((x) => x.name === 'print')!.text)
        .fixedSize,
    ).toBe(16);
  });
});

describe('SyntheticWorkload', () => {
  it('lays out fixed-size events exactly as the real capture has them', () => {
    const real = sizesById(new Uint8Array(readFileSync(new URL('mixed-cpu0.raw', CAPTURES))));
    const {rbs} = run(9, 3000, 500);
    const sim = sizesById(pagesOf(rbs[0]));
    const fixed = [
      'sched_switch',
      'sched_wakeup',
      'sched_waking',
      'irq_handler_exit',
      'softirq_entry',
      'softirq_exit',
      'softirq_raise',
      'sys_enter',
      'sys_exit',
    ];
    for (const name of fixed) {
      const id = [...bundledFormats().layouts.values()].find((l) => l.name === name)!.id;
      expect([name, [...(sim.get(id) ?? [])]]).toEqual([name, [...(real.get(id) ?? [])]]);
    }
  });

  it('scales with the configured rate and is silent at rate 0', () => {
    const per = (rate: number) => {
      const {w} = run(3, rate, 1000);
      return w.emitted.reduce((a, b) => a + b, 0) / 2;
    };
    const low = per(1000);
    const mid = per(3000);
    const high = per(12000);
    expect(mid).toBeGreaterThan(1500);
    expect(mid).toBeLessThan(6000);
    expect(low).toBeLessThan(mid);
    expect(high).toBeGreaterThan(2 * mid);
    expect(per(0)).toBe(0);
  });

  it('is deterministic per seed', () => {
    const a = pagesOf(run(11, 3000, 300).rbs[1]);
    const b = pagesOf(run(11, 3000, 300).rbs[1]);
    const c = pagesOf(run(12, 3000, 300).rbs[1]);
    expect(Buffer.compare(a, b)).toBe(0);
    expect(Buffer.compare(a, c)).not.toBe(0);
  });

  it('lets tests script exact sequences in simulated time', () => {
    const rb = new CpuRingBuffer({nrPages: 8});
    const w = new SyntheticWorkload([rb], {rate: 0, startNs: 1_000_000});
    w.writeRaw(0, new Uint8Array([1, 0, 0, 0]));
    w.advanceTime(2 ** 28); // forces a time extend before the next record
    w.writeMarker(0, 'after the pause');
    rb.map();
    rb.getReader();
    const cols = new EventColumns();
    decodeSubbuf(rb.subbuf(1), 0, 4096, layoutFor(4096), cols);
    expect(cols.length).toBe(2);
    expect(cols.tsNs[0]).toBe(1_000_000);
    expect(cols.tsNs[1]).toBe(1_000_000 + 2 ** 28);
  });

  it('has a cmdline for every task', () => {
    const text = savedCmdlines(2);
    for (const t of makeTasks(2)) expect(text).toContain(`${t.pid} ${t.comm}\n`);
  });
});
