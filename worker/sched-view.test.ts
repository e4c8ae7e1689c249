import {describe, expect, it} from 'vitest';
import {CommTable} from './comm-table.ts';
import type {DecodedPage} from './page-sink.ts';
import {schedSchema} from './sched-schema.ts';
import {SchedView, WaitKind, type SchedData} from './sched-view.ts';
import {capturePages, interleave} from './testing/capture-pages.ts';
import {seededRandom} from '../core/seeded-random.ts';
import {fixtureRegistry, schedPages} from './testing/sched-pages.ts';

const SCRIPT = `
  0 100 switch 0 R 10
  0 200 waking 20
  1 150 switch 0 R 30
  1 260 switch 30 S 20
  0 300 switch 10 R+ 40
  0 450 switch 40 D 10
  1 500 waking 30
  1 520 wakeup 30
  1 600 switch 20 S 30
  0 700 switch 10 S 0
  1 800 other
`;

const reg = fixtureRegistry();

function view(cpus = [0, 1]): SchedView {
  const v = new SchedView(new CommTable());
  v.setSchema(schedSchema(reg), true);
  v.setCpus(cpus);
  return v;
}

function run(pages: DecodedPage[], flush = true): SchedData {
  const v = view();
  for (const p of pages) v.handlePage(p);
  if (flush) v.flush();
  return v.data();
}

function rows(d: SchedData, cpu: number): number[][] {
  const s = d.cpus.find((c) => c.cpu === cpu)!.slices;
  return Array.from({length: s.length}, (_, i) => [
    s.startNs[i],
    s.endNs[i],
    s.pid[i],
    s.endState[i],
    s.waitNs[i],
    s.waitKind[i],
  ]);
}

describe('SchedView on a scripted schedule', () => {
  const byCpu = schedPages(SCRIPT, 2);
  const pages = [...byCpu.get(0)!, ...byCpu.get(1)!];

  it('cuts exact per-CPU slices with the wait before each', () => {
    const d = run(pages);
    const {UNKNOWN, WAKEUP, PREEMPTED} = WaitKind;
    expect(rows(d, 0)).toEqual([
      [100, 300, 10, 0x100, -1, UNKNOWN],
      [300, 450, 40, 2, -1, UNKNOWN],
      [450, 700, 10, 1, 150, PREEMPTED],
    ]);
    expect(rows(d, 1)).toEqual([
      [150, 260, 30, 1, -1, UNKNOWN],
      [260, 600, 20, 1, 60, WAKEUP],
      [600, 800, 30, -1, 100, WAKEUP], // still running: open slice up to the CPU's last event
    ]);
  });

  it('measures exact wakeup latencies into the switch-in CPU histogram', () => {
    const d = run(pages);
    const h1 = d.cpus.find((c) => c.cpu === 1)!.histogram;
    expect([h1.count, h1.sumNs, h1.maxNs]).toEqual([2, 160, 100]);
    expect(h1.counts[5]).toBe(1); // 60 ns in [32, 64)
    expect(h1.counts[6]).toBe(1); // 100 ns in [64, 128)
    expect(d.cpus.find((c) => c.cpu === 0)!.histogram.count).toBe(0);
  });

  it('sums running, runnable and sleeping time per task', () => {
    const t = run(pages).tasks;
    const row = (pid: number) => {
      const i = Array.from(t.pid).indexOf(pid);
      return [
        t.runningNs[i],
        t.runnableNs[i],
        t.sleepingNs[i],
        t.switchIns[i],
        t.wakeups[i],
        t.latencyCount[i],
        t.latencySumNs[i],
      ];
    };
    expect(row(10)).toEqual([450, 150, 0, 2, 0, 0, 0]);
    expect(row(20)).toEqual([340, 60, 0, 1, 1, 1, 60]);
    expect(row(30)).toEqual([110, 100, 240, 2, 1, 1, 100]);
    expect(row(40)).toEqual([150, 0, 0, 1, 0, 0, 0]);
  });

  it('names each task and keeps a wakeup latency histogram per task', () => {
    const t = run(
      schedPages(SCRIPT, 2, reg, new Map([[20, 'worker-20']]))
        .get(0)!
        .concat(schedPages(SCRIPT, 2, reg, new Map([[20, 'worker-20']])).get(1)!),
    ).tasks;
    expect(Array.from(t.pid)).toEqual([10, 20, 30, 40]);
    expect(t.comm).toEqual(['task10', 'worker-20', 'task30', 'task40']);
    expect(t.buckets).toBe(48);
    expect(t.latencyHistograms.length).toBe(4 * 48);
    expect(Array.from(t.bucketLowNs.subarray(0, 4))).toEqual([0, 2, 4, 8]);
    const row = (i: number) => Array.from(t.latencyHistograms.subarray(i * 48, (i + 1) * 48));
    const one = (k: number) => row(0).map((_, j) => (j === k ? 1 : 0));
    expect(row(0)).toEqual(one(-1)); // task 10: never woken
    expect(row(1)).toEqual(one(5)); // task 20: 60 ns in [32, 64)
    expect(row(2)).toEqual(one(6)); // task 30: 100 ns in [64, 128)
  });

  it('gives the same answer for any page split and any interleaving of CPUs', () => {
    const want = run(pages);
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = seededRandom(seed);
      const split = schedPages(SCRIPT, 1 + Math.floor(rnd() * 4));
      const order = interleave([split.get(0)!, split.get(1)!], rnd);
      expect(run(order)).toEqual(want);
    }
  });

  it('holds records back until every known CPU has caught up (the horizon)', () => {
    const v = view();
    for (const p of byCpu.get(0)!) v.handlePage(p);
    expect(v.data().pendingRecords).toBe(5);
    expect(rows(v.data(), 0)).toEqual([]);
    for (const p of byCpu.get(1)!) v.handlePage(p);
    // Horizon = min(last ts of CPU 0, of CPU 1) = 700: everything before it is processed.
    const d = v.data();
    expect(d.horizonNs).toBe(700);
    expect(d.pendingRecords).toBe(1);
    expect(d.lateRecords).toBe(0);
  });

  it('learns comms from sched records', () => {
    const comms = new CommTable();
    const v = new SchedView(comms);
    v.setSchema(schedSchema(reg), true);
    for (const p of schedPages(SCRIPT, 3, reg, new Map([[20, 'worker-20']])).get(1)!)
      v.handlePage(p);
    expect(comms.get(20)).toBe('worker-20');
    expect(comms.get(30)).toBe('task30');
    expect(comms.get(0)).toBe('<idle>');
  });
});

describe('SchedView on real captures', () => {
  const cpu0 = capturePages('mixed-cpu0.raw', 0);
  const cpu1 = capturePages('mixed-cpu1.raw', 1);
  const switchId = reg.byName('sched', 'sched_switch')!.id;

  it('cuts one slice per sched_switch, sorted and not overlapping, in any interleaving', () => {
    const want = run([...cpu0, ...cpu1]);
    for (const [cpu, pages] of [
      [0, cpu0],
      [1, cpu1],
    ] as const) {
      let switches = 0;
      let firstIsSwitch = false;
      for (const p of pages) {
        const v = new DataView(p.bytes.buffer, p.bytes.byteOffset);
        for (let i = 0; i < p.columns.length; i++) {
          const isSwitch = v.getUint16(p.columns.payloadOffset[i], true) === switchId;
          if (p === pages[0] && i === 0) firstIsSwitch = isSwitch;
          if (isSwitch) switches++;
        }
      }
      const s = want.cpus.find((c) => c.cpu === cpu)!.slices;
      const closed = Array.from(s.endState).filter((x) => x !== -1).length;
      // Each switch closes one slice, except a switch that is the CPU's very first event.
      expect(closed).toBe(switches - (firstIsSwitch ? 1 : 0));
      for (let i = 1; i < s.length; i++)
        expect(s.startNs[i]).toBeGreaterThanOrEqual(s.endNs[i - 1]);
    }
    expect(want.cpus[0].histogram.count + want.cpus[1].histogram.count).toBeGreaterThan(100);
    for (let seed = 1; seed <= 3; seed++)
      expect(run(interleave([cpu0, cpu1], seededRandom(seed)))).toEqual(want);
  });
});

/**
 * An independent formulation of wakeup latency, per switch-in S of task p (pid ≠ 0):
 * let O = p's last switch-out before S and I = p's last switch-in before S. If p went to sleep
 * at O (prev_state low byte ≠ 0) after I, or was never seen switching at all, the latency is
 * S − the first wakeup of p after O (after nothing, if no O) and before S.
 */
function slowLatencies(pages: DecodedPage[]): Map<string, number> {
  const sw = reg.byName('sched', 'sched_switch')!;
  const wakeIds = new Set(
    ['sched_waking', 'sched_wakeup', 'sched_wakeup_new'].map((n) => reg.byName('sched', n)?.id),
  );
  const f = (name: string) => sw.fieldByName.get(name)!.offset;
  type Rec = {ts: number; cpu: number; seq: number; kind: 'in' | 'out' | 'wake'; state: number};
  const byPid = new Map<number, Rec[]>();
  const add = (pid: number, r: Rec) => {
    if (pid === 0) return;
    if (!byPid.has(pid)) byPid.set(pid, []);
    byPid.get(pid)!.push(r);
  };
  let seq = 0;
  for (const p of pages) {
    const v = new DataView(p.bytes.buffer, p.bytes.byteOffset);
    for (let i = 0; i < p.columns.length; i++) {
      const o = p.columns.payloadOffset[i];
      const ts = p.columns.tsNs[i];
      const id = v.getUint16(o, true);
      if (id === sw.id) {
        const state = v.getInt32(o + f('prev_state'), true);
        add(v.getInt32(o + f('prev_pid'), true), {ts, cpu: p.cpu, seq: seq++, kind: 'out', state});
        add(v.getInt32(o + f('next_pid'), true), {
          ts,
          cpu: p.cpu,
          seq: seq++,
          kind: 'in',
          state: 0,
        });
      } else if (wakeIds.has(id)) {
        const pid = v.getInt32(o + reg.byId(id)!.fieldByName.get('pid')!.offset, true);
        add(pid, {ts, cpu: p.cpu, seq: seq++, kind: 'wake', state: 0});
      }
    }
  }
  const out = new Map<string, number>();
  for (const recs of byPid.values()) {
    recs.sort((a, b) => a.ts - b.ts || a.cpu - b.cpu || a.seq - b.seq);
    recs.forEach((s, k) => {
      if (s.kind !== 'in') return;
      const before = recs.slice(0, k);
      const lastIdx = (kind: Rec['kind']) => before.map((r) => r.kind).lastIndexOf(kind);
      const o = lastIdx('out');
      const i = lastIdx('in');
      if (o >= 0 && (o < i || (before[o].state & 0xff) === 0)) return;
      if (o < 0 && i >= 0) return;
      const w = before.findIndex((r, j) => j > o && r.kind === 'wake');
      if (w >= 0) out.set(`${s.cpu}:${s.ts}`, s.ts - before[w].ts);
    });
  }
  return out;
}

describe('wakeup latency against an independent formulation', () => {
  it('gives every switch-in the same latency on the real captures', () => {
    const pages = [...capturePages('mixed-cpu0.raw', 0), ...capturePages('mixed-cpu1.raw', 1)];
    const want = slowLatencies(pages);
    const d = run(pages);
    const got = new Map<string, number>();
    for (const c of d.cpus) {
      const s = c.slices;
      for (let i = 0; i < s.length; i++) {
        if (s.waitKind[i] === WaitKind.WAKEUP) got.set(`${c.cpu}:${s.startNs[i]}`, s.waitNs[i]);
      }
    }
    expect(want.size).toBeGreaterThan(500);
    expect(got).toEqual(want);
    const histTotal = d.cpus.reduce((n, c) => n + c.histogram.count, 0);
    expect(histTotal).toBe(want.size);
    // Per-task histograms hold the same latencies, bucket by bucket.
    const t = d.tasks;
    for (let k = 0; k < t.buckets; k++) {
      let perTask = 0;
      for (let i = 0; i < t.length; i++) perTask += t.latencyHistograms[i * t.buckets + k];
      expect(perTask).toBe(d.cpus.reduce((n, c) => n + c.histogram.counts[k], 0));
    }
  });
});

/**
 * Cross-CPU order when one CPU is seconds behind: CPU 1 wakes task 20, which runs on CPU 0.
 * A sched_wakeup lands after the switch-in it caused (ignored: already running).
 */
const LAGGING = `
  0 500 switch 0 R 10
  1 600 switch 0 R 30
  1 1000 waking 20
  0 1050 switch 10 S 20
  1 1060 wakeup 20
  0 2000 switch 20 S 0
  1 1500000000 waking 20
  0 1500000100 switch 0 R 20
  0 2000000000 switch 20 S 0
  0 3000000000 other
  1 3000000500 other
`;

describe('SchedView when one CPU delivers seconds behind another', () => {
  const byCpu = schedPages(LAGGING, 1);
  const cpu0 = byCpu.get(0)!;
  const cpu1 = byCpu.get(1)!;
  const want = run([...cpu0, ...cpu1]);

  function wallView(): {v: SchedView; advance(ms: number): void} {
    let t = 0;
    const v = new SchedView(new CommTable(), undefined, () => t);
    v.setSchema(schedSchema(reg), true);
    v.setCpus([0, 1]);
    return {v, advance: (ms) => void (t += ms)};
  }

  function latencies(d: SchedData): number[] {
    const out: number[] = [];
    for (const c of d.cpus)
      for (let i = 0; i < c.slices.length; i++)
        if (c.slices.waitKind[i] === WaitKind.WAKEUP) out.push(c.slices.waitNs[i]);
    return out.sort((a, b) => a - b);
  }

  function assertNoNegative(d: SchedData): void {
    const t = d.tasks;
    for (const k of ['runningNs', 'runnableNs', 'sleepingNs', 'latencySumNs'] as const)
      for (let i = 0; i < t.length; i++)
        expect(t[k][i], `${k} of ${t.pid[i]}`).toBeGreaterThanOrEqual(0);
    for (const c of d.cpus)
      for (let i = 0; i < c.slices.length; i++)
        expect(c.slices.waitNs[i]).toBeGreaterThanOrEqual(-1);
  }

  it('flushed in global order: both wakeups measured', () => {
    expect(latencies(want)).toEqual([50, 100]);
    assertNoNegative(want);
  });

  it('a CPU whose pages are still coming (no wall-clock silence) holds the horizon', () => {
    const {v, advance} = wallView();
    for (const p of cpu0) {
      v.handlePage(p);
      advance(5); // CPU 0's backlog streams in: 3 s of trace time in a few ms
    }
    expect(v.data().horizonNs).toBe(-Infinity); // CPU 1 has not spoken: nothing processed
    for (const p of cpu1) v.handlePage(p);
    v.flush();
    const d = v.data();
    expect(d.lateRecords).toBe(0);
    expect(d.staleTaskRecords).toBe(0);
    expect(d).toEqual(want);
  });

  it('a CPU whose last META reported unread events is behind, not idle, however long silent', () => {
    const {v, advance} = wallView();
    v.handlePage(cpu1[0]);
    v.noteMeta(1, 12);
    advance(5_000);
    for (const p of cpu0) v.handlePage(p);
    expect(v.data().horizonNs).toBe(600);
    for (const p of cpu1.slice(1)) v.handlePage(p);
    v.flush();
    expect(v.data()).toEqual(want);
  });

  it('a CPU silent in trace time and wall time is quiet; its late records never go negative', () => {
    const {v, advance} = wallView();
    v.handlePage(cpu1[0]);
    v.noteMeta(1, 0);
    advance(1_500);
    for (const p of cpu0) v.handlePage(p);
    // CPU 1 is 3 s behind and silent for 1.5 s: CPU 0's records went ahead without it.
    expect(v.data().horizonNs).toBe(3e9);
    for (const p of cpu1.slice(1)) v.handlePage(p);
    v.flush();
    const d = v.data();
    expect(d.lateRecords).toBeGreaterThan(0);
    // The 1000 ns waking reached task 20 after it had gone to sleep at 2 s: stale, not applied.
    expect(d.staleTaskRecords).toBeGreaterThan(0);
    assertNoNegative(d);
  });

  it('is quiet only after quietWallMs of silence (trace-time lag alone is not enough)', () => {
    const {v, advance} = wallView();
    v.handlePage(cpu1[0]);
    advance(999);
    for (const p of cpu0) v.handlePage(p);
    expect(v.data().horizonNs).toBe(600);
    advance(1);
    v.handlePage(cpu0[cpu0.length - 1]); // any page makes the view look again
    expect(v.data().horizonNs).toBe(3e9);
  });
});
