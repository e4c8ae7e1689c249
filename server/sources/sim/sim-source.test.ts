import {createHash} from 'node:crypto';
import {describe, expect, it} from 'vitest';
import {parseMetaPage} from '../../../core/meta-page.ts';
import {layoutFor, pageLayoutFromHeaderPage} from '../../../core/page-layout.ts';
import {decodeSubbuf, EventColumns, readSubbufHeader} from '../../../core/subbuffer.ts';
import type {SourceBatch} from '../source.ts';
import {parseEventLayout} from './format-offsets.ts';
import {SimSource} from './sim-source.ts';

function clock(startMs = 1_000) {
  const c = {now: startMs, fn: () => c.now};
  return c;
}

interface Decoded {
  cpu: number;
  ts: number;
  type: number;
  /** Payload bytes (a copy). */
  payload: Uint8Array;
  /** Lost count of the sub-buffer when this is its first delivered record (else 0). */
  lost: number;
}

/** Decode every slice of a batch with core's decoder, new records only. */
function decodeBatch(batch: SourceBatch, subbufSize: number): Decoded[] {
  const layout = layoutFor(subbufSize);
  const out: Decoded[] = [];
  for (const s of batch.slices) {
    const cols = new EventColumns();
    const r = decodeSubbuf(s.bytes, 0, s.bytes.length, layout, cols, {emitFrom: s.from});
    expect(r.error).toBeUndefined();
    const header = readSubbufHeader(new DataView(s.bytes.buffer), 0, s.bytes.length, layout);
    for (let i = 0; i < cols.length; i++) {
      const off = cols.payloadOffset[i];
      out.push({
        cpu: s.cpu,
        ts: cols.tsNs[i],
        type: s.bytes[off] | (s.bytes[off + 1] << 8),
        payload: s.bytes.slice(off, off + cols.payloadLen[i]),
        lost: i === 0 && s.from === 0 ? header.lostEvents : 0,
      });
    }
  }
  return out;
}

function readAll(src: SimSource): SourceBatch {
  const all: SourceBatch = {slices: [], metas: [], notices: []};
  for (let i = 0; i < 10_000; i++) {
    const b = src.read(64);
    all.slices.push(...b.slices);
    all.metas.push(...b.metas);
    all.notices.push(...b.notices);
    if (b.slices.length === 0) return all;
  }
  throw new Error('source never ran dry');
}

function rawMarker(seq: number, extra = 8): Uint8Array {
  const b = new Uint8Array(4 + extra).fill(0xab);
  new DataView(b.buffer).setUint32(0, seq, true);
  return b;
}

describe('SimSource', () => {
  it('opens with the bundled metadata', async () => {
    const src = new SimSource({source: 'sim', events: [], cpus: 3, clock: clock().fn});
    const md = await src.open({includeSymbols: true});
    expect(md.kind).toBe('sim');
    expect(md.cpus).toEqual([0, 1, 2]);
    expect(md.nrSubbufs).toBe(355);
    expect(md.subbufSize).toBe(4096);
    expect(md.traceClock).toBe('local');
    expect(pageLayoutFromHeaderPage(md.headerPage).dataSize).toBe(4080);
    expect(md.headerEvent).toContain('time_extend : type == 30');
    const names = md.formats.map((f) => `${f.system}/${f.name}`);
    expect(names).toEqual(
      expect.arrayContaining(['sched/sched_switch', 'irq/irq_handler_entry', 'ftrace/print']),
    );
    expect(md.savedCmdlines).toMatch(/^1906 bash$/m);
    expect(md.kallsyms).toContain('tracing_mark_write');
    await src.close();
    await src.close(); // idempotent
  });

  it('follows the sub-buffer size in header_page', async () => {
    const src = new SimSource({
      source: 'sim',
      events: [],
      cpus: 1,
      subbufKb: 8,
      bufferKb: 64,
      clock: clock().fn,
    });
    const md = await src.open();
    expect(md.subbufSize).toBe(8192);
    expect(pageLayoutFromHeaderPage(md.headerPage).dataSize).toBe(8176);
  });

  it('delivers 100,000 sequenced raw markers exactly once and in order (big buffer)', async () => {
    const src = new SimSource({
      source: 'sim',
      events: [],
      cpus: 2,
      rate: 0,
      bufferKb: 4096,
      clock: clock().fn,
    });
    const md = await src.open();
    for (let i = 0; i < 100_000; i++) src.writeRaw(i & 1, rawMarker(i));
    const batch = readAll(src);
    const events = decodeBatch(batch, md.subbufSize);
    expect(events.length).toBe(100_000);
    const next = [0, 1];
    for (const e of events) {
      expect(e.type).toBe(19);
      const seq = new DataView(e.payload.buffer).getUint32(8, true);
      expect(seq).toBe(next[e.cpu]);
      next[e.cpu] += 2;
    }
    // counters: entries = written, nothing unread, nothing lost
    for (const cpu of [0, 1]) {
      const last = parseMetaPage(batch.metas.filter((m) => m.cpu === cpu).at(-1)!.bytes);
      expect([last.entries, last.read, last.overrun]).toEqual([50_000, 50_000, 0]);
    }
    // slices are ordered per CPU and never reuse a seq
    for (const cpu of [0, 1]) {
      const seqs = batch.slices.filter((s) => s.cpu === cpu).map((s) => s.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i));
    }
  });

  it('lists a CPU in caughtUp only when the read drained it', async () => {
    const src = new SimSource({source: 'sim', events: [], cpus: 2, rate: 0, clock: clock().fn});
    await src.open();
    // cpu0: several sub-buffers' worth; cpu1: one marker.
    for (let i = 0; i < 2000; i++) src.writeRaw(0, rawMarker(i));
    src.writeRaw(1, rawMarker(0));
    const first = src.read(1); // the batch is full after one slice: nobody is drained
    expect(first.slices.length).toBe(1);
    expect(first.caughtUp).toEqual([]);
    let caught = new Set<number>();
    for (let i = 0; i < 100 && caught.size < 2; i++) {
      const b = src.read(64);
      caught = new Set([...caught, ...(b.caughtUp ?? [])]);
      for (const cpu of b.caughtUp ?? []) {
        // drained: the next read brings nothing new for it
        expect(src.read(64).slices.filter((x) => x.cpu === cpu)).toEqual([]);
      }
    }
    expect([...caught].sort()).toEqual([0, 1]);
  });

  it('accounts for every loss with a tiny buffer: received + overrun = written', async () => {
    const src = new SimSource({
      source: 'sim',
      events: [],
      cpus: 1,
      rate: 0,
      bufferKb: 8,
      clock: clock().fn,
    });
    const md = await src.open();
    const received: number[] = [];
    let lostStored = 0;
    let written = 0;
    for (let round = 0; round < 40; round++) {
      const n = 50 + ((round * 211) % 1500);
      for (let i = 0; i < n; i++) src.writeRaw(0, rawMarker(written++, 16)); // 28-byte records
      for (const e of decodeBatch(readAll(src), md.subbufSize)) {
        received.push(new DataView(e.payload.buffer).getUint32(8, true));
        expect(e.lost).toBeGreaterThanOrEqual(0); // room for the count on every lossy page
        lostStored += e.lost;
      }
    }
    const meta = parseMetaPage(src.buffers[0].meta);
    expect(meta.overrun).toBeGreaterThan(0);
    expect(received.length + meta.overrun).toBe(written);
    expect(lostStored).toBe(meta.overrun);
    for (let i = 1; i < received.length; i++) expect(received[i]).toBeGreaterThan(received[i - 1]);
  });

  it('is deterministic: same seed and clock, identical bytes', async () => {
    const digest = async (seed: number) => {
      const c = clock();
      const src = new SimSource({
        source: 'sim',
        events: [],
        cpus: 2,
        seed,
        bufferKb: 256,
        clock: c.fn,
      });
      await src.open();
      const h = createHash('sha256');
      for (let step = 0; step < 50; step++) {
        c.now += 7;
        if (step === 20) src.writeMarker(1, 'hello from the test');
        const b = src.read(1000);
        for (const s of b.slices)
          h.update(s.bytes).update(`${s.cpu}/${s.subbufId}/${s.seq}/${s.from}`);
        for (const m of b.metas) h.update(m.bytes);
      }
      return h.digest('hex');
    };
    const a = await digest(42);
    expect(await digest(42)).toBe(a);
    expect(await digest(43)).not.toBe(a);
  });

  it('emits a coherent per-CPU schedule from the bundled formats', async () => {
    const c = clock();
    const src = new SimSource({source: 'sim', events: [], cpus: 2, seed: 5, clock: c.fn});
    const md = await src.open();
    const layout = (name: string) =>
      parseEventLayout('x', md.formats.find((f) => f.name === name)!.text);
    const sw = layout('sched_switch');
    const wk = layout('sched_wakeup');
    const off = (l: typeof sw, f: string) => l.fields.get(f)!.offset;
    c.now += 2000;
    const events = decodeBatch(readAll(src), md.subbufSize);
    const counts = new Map<number, number>();
    for (const e of events) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
    // ~3000 events/s/CPU configured; accept a factor of two either way
    expect(events.length / 2 / 2).toBeGreaterThan(1500);
    expect(events.length / 2 / 2).toBeLessThan(6000);
    for (const f of md.formats.filter((x) => !['raw_data', 'sched_wakeup_new'].includes(x.name))) {
      expect([f.name, (counts.get(parseEventLayout(f.system, f.text).id) ?? 0) > 0]).toEqual([
        f.name,
        true,
      ]);
    }
    for (const cpu of [0, 1]) {
      const mine = events.filter((e) => e.cpu === cpu);
      let running = -1;
      let lastTs = 0;
      let switches = 0;
      for (const e of mine) {
        expect(e.ts).toBeGreaterThanOrEqual(lastTs);
        lastTs = e.ts;
        if (e.type !== sw.id) continue;
        const v = new DataView(e.payload.buffer);
        const prev = v.getInt32(off(sw, 'prev_pid'), true);
        if (running >= 0) expect(prev).toBe(running);
        expect(v.getInt32(4, true)).toBe(prev); // common_pid = prev
        running = v.getInt32(off(sw, 'next_pid'), true);
        switches++;
      }
      expect(switches).toBeGreaterThan(100);
    }
    // every switch-in of a woken task comes after a sched_wakeup for it
    const woken = new Set<number>();
    let checked = 0;
    for (const e of events.slice().sort((a, b) => a.ts - b.ts)) {
      const v = new DataView(e.payload.buffer);
      if (e.type === wk.id) woken.add(v.getInt32(off(wk, 'pid'), true));
      if (e.type === sw.id) {
        const next = v.getInt32(off(sw, 'next_pid'), true);
        const prevState = v.getUint32(off(sw, 'prev_state'), true);
        if (prevState !== 0) woken.delete(v.getInt32(off(sw, 'prev_pid'), true));
        if (next !== 0 && woken.has(next)) checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
    const lat = src.workload.wakeLatenciesNs.slice().sort((a, b) => a - b);
    expect(lat[0]).toBeGreaterThan(0);
    expect(lat[Math.floor(lat.length / 2)]).toBeLessThan(5_000_000);
  });

  it('reports a reset and re-syncs to the reader page', async () => {
    const src = new SimSource({
      source: 'sim',
      events: [],
      cpus: 1,
      rate: 0,
      bufferKb: 64,
      clock: clock().fn,
    });
    const md = await src.open();
    for (let i = 0; i < 500; i++) src.writeRaw(0, rawMarker(i));
    expect(decodeBatch(readAll(src), md.subbufSize).length).toBe(500);
    for (let i = 0; i < 50; i++) src.writeRaw(0, rawMarker(1000 + i));
    src.resetBuffers();
    for (let i = 0; i < 7; i++) src.writeRaw(0, rawMarker(2000 + i));
    const after = readAll(src);
    expect(after.notices.map((n) => n.kind)).toContain('reset');
    const seqs = decodeBatch(after, md.subbufSize).map((e) =>
      new DataView(e.payload.buffer).getUint32(8, true),
    );
    expect(seqs).toEqual([2000, 2001, 2002, 2003, 2004, 2005, 2006]);
  });

  it('delivers trace_marker text as ftrace print with "\\n\\0"', async () => {
    const src = new SimSource({source: 'sim', events: [], cpus: 1, rate: 0, clock: clock().fn});
    const md = await src.open();
    src.writeMarker(0, 'm0-xxxxxxx');
    src.writeMarker(0, 'y'.repeat(150));
    const [a, b] = decodeBatch(readAll(src), md.subbufSize);
    expect(a.type).toBe(5);
    expect(a.payload.length).toBe(28); // type_len 7, as the kernel writes it
    expect(new TextDecoder().decode(a.payload.subarray(16, 28))).toBe('m0-xxxxxxx\n\0');
    expect(b.payload.length).toBe(168);
    src.writeMarker(0, 'z'.repeat(5000)); // cut to 4054 bytes + "\n\0", like the kernel
    expect(src.writeRaw(0, new Uint8Array(4065))).toBe(false); // EINVAL in the kernel
    const [c] = decodeBatch(readAll(src), md.subbufSize);
    expect(c.payload.length).toBe(4072);
    expect(c.payload.subarray(4070)).toEqual(new Uint8Array([10, 0]));
  });

  it('waits with timers and wakes on writes or abort', async () => {
    const src = new SimSource({source: 'sim', events: [], cpus: 1, rate: 0, pollMs: 5});
    await src.open();
    let t = Date.now();
    await src.wait(40);
    expect(Date.now() - t).toBeGreaterThanOrEqual(30);
    t = Date.now();
    const p = src.wait(5_000);
    setTimeout(() => src.writeMarker(0, 'wake'), 10);
    await p;
    expect(Date.now() - t).toBeLessThan(1000);
    await src.wait(5_000); // data pending: resolves at once
    src.read(100);
    const ac = new AbortController();
    const q = src.wait(5_000, ac.signal);
    ac.abort();
    await q;
    await src.close();
  });

  it('honours the events selection (markers always pass)', async () => {
    const c = clock();
    const logs: string[] = [];
    const src = new SimSource({
      source: 'sim',
      events: ['sched:sched_switch', 'irq/*', 'nosuch'],
      cpus: 2,
      clock: c.fn,
      log: (l) => logs.push(l),
    });
    const md = await src.open();
    c.now += 500;
    src.writeMarker(0, 'still here');
    const ids = new Set(decodeBatch(readAll(src), md.subbufSize).map((e) => e.type));
    const id = (name: string) =>
      parseEventLayout('x', md.formats.find((f) => f.name === name)!.text).id;
    expect(ids.has(id('sched_switch'))).toBe(true);
    expect(ids.has(id('irq_handler_entry'))).toBe(true);
    expect(ids.has(id('softirq_entry'))).toBe(true);
    expect(ids.has(id('print'))).toBe(true);
    expect(ids.has(id('sys_enter'))).toBe(false);
    expect(ids.has(id('sched_wakeup'))).toBe(false);
    expect(logs.join('\n')).toContain('nosuch');
  });

  it('stops writing while tracing is off and says so', async () => {
    const src = new SimSource({source: 'sim', events: [], cpus: 1, rate: 0, clock: clock().fn});
    const md = await src.open();
    src.setTracingOn(false);
    expect(src.writeMarker(0, 'lost')).toBe(false);
    src.setTracingOn(true);
    expect(src.writeMarker(0, 'kept')).toBe(true);
    const b = readAll(src);
    expect(b.notices.map((n) => n.kind)).toEqual(['tracing-off', 'tracing-on']);
    expect(decodeBatch(b, md.subbufSize).length).toBe(1);
  });

  it('runs in wall-clock time without spinning', async () => {
    const src = new SimSource({source: 'sim', events: [], cpus: 2, rate: 3000, pollMs: 10});
    const md = await src.open();
    const t0 = Date.now();
    let waits = 0;
    let events = 0;
    while (Date.now() - t0 < 300) {
      events += decodeBatch(src.read(256), md.subbufSize).length;
      await src.wait(50);
      waits++;
    }
    events += decodeBatch(src.read(1e6), md.subbufSize).length;
    expect(waits).toBeLessThan(60); // ~10 ms per wait, not a busy loop
    expect(events).toBeGreaterThan(300); // ~2 CPUs x 3000/s x 0.3 s, loosely
    await src.close();
  });
});
