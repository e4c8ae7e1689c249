import {describe, expect, it} from 'vitest';
import type {EventFilter} from './event-list.ts';
import {eventRef} from './event-ref.ts';
import type {DecodedPage} from './page-sink.ts';
import {Session} from './session.ts';
import {captureMetadata, capturePages, interleave} from './testing/capture-pages.ts';
import {seededRandom} from '../core/seeded-random.ts';

const cpu0 = capturePages('mixed-cpu0.raw', 0);
const cpu1 = capturePages('mixed-cpu1.raw', 1);

function session(pages: DecodedPage[], cap?: number): Session {
  const s = new Session();
  s.setMetadata(captureMetadata());
  if (cap) s.setMemoryCap(cap);
  for (const p of pages) s.handlePage(p);
  return s;
}

/** Slow reference: every event in the window, filtered one by one, sorted by (ts, cpu, index). */
function slowList(s: Session, f: EventFilter): number[] {
  const rows: [number, number, number][] = [];
  const names = f.events ? new Set(f.events) : undefined;
  for (const cpu of s.store.cpus()) {
    if (f.cpus && !f.cpus.includes(cpu)) continue;
    const t = s.store.table(cpu)!;
    for (let abs = t.firstAbs; abs < t.endAbs; abs++) {
      const i = t.pos(abs);
      const name = s.registry!.byId(t.type[i])?.name ?? '';
      if (names && !names.has(name)) continue;
      if (f.pids && !f.pids.includes(t.pid[i])) continue;
      if (f.comm && !(s.comms.get(t.pid[i]) ?? '').toLowerCase().includes(f.comm.toLowerCase()))
        continue;
      if (f.text && !s.line(cpu, abs).toLowerCase().includes(f.text.toLowerCase())) continue;
      rows.push([t.tsNs[i], cpu, abs]);
    }
  }
  rows.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  return rows.map(([, cpu, abs]) => eventRef(cpu, abs));
}

function fullList(s: Session, filter: EventFilter): {ids: number[]; total: number} {
  const ids: number[] = [];
  let total = 0;
  for (let from = 0; ;) {
    const page = s.eventPage({from: {index: from}, count: 1000, filter, budgetMs: 1e9});
    expect(page.complete).toBe(true);
    total = page.total;
    ids.push(...page.rows.id);
    from += page.rows.length;
    if (page.rows.length === 0 || from >= total) break;
  }
  return {ids, total};
}

const FILTERS: EventFilter[] = [
  {},
  {cpus: [1]},
  {events: ['sched_switch', 'sched_wakeup']},
  {events: ['sys_enter'], comm: 'cc1'},
  {pids: [0]},
  {text: ' S ==> '},
  {cpus: [0], text: 'irq='},
];

describe('event list', () => {
  it('matches a slow filter + sort for every filter kind', () => {
    const s = session(interleave([cpu0, cpu1], seededRandom(5)));
    for (const f of FILTERS) {
      const want = slowList(s, f);
      const got = fullList(s, f);
      expect(got.total).toBe(want.length);
      if (f.text) expect(want.length).toBeGreaterThan(0);
      expect(got.ids).toEqual(want);
    }
  });

  it('a negative index counts from the end: the last n rows in one call', () => {
    const s = session(interleave([cpu0, cpu1], seededRandom(4)));
    for (const f of [{}, {cpus: [1]}, {events: ['sched_switch']}]) {
      const want = slowList(s, f);
      for (const n of [1, 5, 37]) {
        const p = s.eventPage({from: {index: -n}, count: n, filter: f});
        expect(p.total).toBe(want.length);
        expect(p.firstIndex).toBe(want.length - n);
        expect(Array.from(p.rows.id)).toEqual(want.slice(-n));
      }
      // More than there is: from the start; and a window that ends before the tail.
      const all = s.eventPage({from: {index: -(want.length + 10)}, count: 3, filter: f});
      expect(all.firstIndex).toBe(0);
      expect(Array.from(all.rows.id)).toEqual(want.slice(0, 3));
      const mid = s.eventPage({from: {index: -10}, count: 4, filter: f});
      expect(Array.from(mid.rows.id)).toEqual(want.slice(-10, -6));
    }
  });

  it('finds the event at any index and time (rank search against the slow list)', () => {
    const s = session(interleave([cpu0, cpu1], seededRandom(8)));
    const rnd = seededRandom(3);
    for (const f of [{}, {events: ['sched_switch', 'irq_handler_entry']}]) {
      const want = slowList(s, f);
      for (let k = 0; k < 200; k++) {
        const i = Math.floor(rnd() * (want.length + 2));
        const p = s.eventPage({from: {index: i}, count: 2, filter: f});
        expect(Array.from(p.rows.id)).toEqual(want.slice(i, i + 2));
        if (i < want.length) {
          const t = s.store.table(p.rows.cpu[0])!;
          const byTime = s.eventPage({from: {tsNs: p.rows.tsNs[0]}, count: 1, filter: f});
          expect(byTime.rows.tsNs[0]).toBe(p.rows.tsNs[0]);
          expect(byTime.firstIndex).toBeLessThanOrEqual(i);
          expect(t).toBeDefined();
        }
      }
    }
  });

  it('is the same when the index is built incrementally, across eviction', () => {
    for (const cap of [undefined, 3 * 1024 * 1024]) {
      const order = interleave([cpu0, cpu1], seededRandom(11));
      const s = session([], cap);
      const f: EventFilter = {events: ['sched_switch', 'print', 'sys_exit']};
      let fed = 0;
      for (const chunk of [100, 300, 250, order.length]) {
        for (; fed < Math.min(chunk + fed, order.length); fed++) s.handlePage(order[fed]);
        s.eventPage({from: {index: 0}, count: 10, filter: f});
        s.eventPage({from: {index: 0}, count: 10, filter: {text: 'sched'}, budgetMs: 5});
      }
      expect(fullList(s, f).ids).toEqual(slowList(s, f));
      expect(fullList(s, {text: 'sched'}).ids).toEqual(slowList(s, {text: 'sched'}));
    }
  });

  it('pages by time and renders trace-cmd report lines', () => {
    const s = session([...cpu0, ...cpu1]);
    const all = slowList(s, {});
    const t = s.store.table(1)!;
    const ts = t.tsNs[t.head + 5000];
    const page = s.eventPage({from: {tsNs: ts}, count: 3});
    expect(page.rows.tsNs[0]).toBeGreaterThanOrEqual(ts);
    expect(all[page.firstIndex]).toBe(page.rows.id[0]);
    expect(page.rows.line[0]).toMatch(/^ +\S.*-\d+ +\[00[01]\] +\d+\.\d{6}: \w+: /);
    const detail = s.eventDetail(page.rows.id[0])!;
    expect(detail.line).toBe(page.rows.line[0]);
    expect(detail.fields.length).toBe(
      s.registry!.byName(detail.system, detail.name)!.fields.length,
    );
  });

  it('gives the fields of an event from its format', () => {
    const s = session([...cpu0]);
    const page = s.eventPage({from: {index: 0}, count: 1, filter: {events: ['sched_switch']}});
    const d = s.eventDetail(page.rows.id[0])!;
    const fields = Object.fromEntries(d.fields);
    expect(d.name).toBe('sched_switch');
    // trace-cmd's sched_switch plugin line: "prev_comm:prev_pid [prio] S ==> next_comm:next_pid [prio]"
    expect(d.line).toContain(`${fields.prev_comm}:${fields.prev_pid} [${fields.prev_prio}]`);
    expect(d.line).toContain(`==> ${fields.next_comm}:${fields.next_pid} [${fields.next_prio}]`);
  });
});
