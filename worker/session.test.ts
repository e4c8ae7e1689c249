import {describe, expect, it} from 'vitest';
import {eventRef} from './event-ref.ts';
import {Session} from './session.ts';
import {captureMetadata, capturePages} from './testing/capture-pages.ts';

const pages = capturePages('sparse-cpu0.raw', 0);

describe('Session', () => {
  it('refuses malformed pages, counts them and goes on', () => {
    const s = new Session();
    s.setMetadata(captureMetadata());
    const good = pages[0];
    const outside = {
      ...good,
      columns: {...good.columns, payloadOffset: good.columns.payloadOffset.map(() => 5000)},
    };
    s.handlePage({...good, cpu: -1});
    s.handlePage(outside);
    s.handlePage({...good, columns: {...good.columns, length: good.columns.length + 1}});
    for (const p of pages) s.handlePage(p);
    const sum = s.summary();
    expect(sum.rejectedPages).toBe(3);
    expect(sum.events).toBe(2438);
  });

  it('reports format files that do not parse instead of failing', () => {
    const s = new Session();
    const meta = captureMetadata();
    meta.formats.push({system: 'bad', name: 'broken', text: 'name: broken\nID: x\n'});
    s.setMetadata(meta);
    expect(s.summary().formatErrors).toEqual([expect.stringContaining('bad/broken')]);
    expect(s.registry!.byName('sched', 'sched_switch')).toBeDefined();
  });

  it('forgets evicted events and everything on reset', () => {
    const s = new Session();
    s.setMetadata(captureMetadata());
    for (const p of pages) s.handlePage(p);
    const first = eventRef(0, 0);
    expect(s.eventDetail(first)?.cpu).toBe(0);
    s.setMemoryCap(20_000);
    expect(s.eventDetail(first)).toBeUndefined();
    expect(s.summary().evicted.events).toBeGreaterThan(0);
    const v = s.version;
    s.reset();
    expect(s.version).toBeGreaterThan(v);
    expect(s.summary().events).toBe(0);
    expect(s.summary().evicted.events).toBe(0);
    expect(s.schedData().cpus).toEqual([]);
  });

  it('renders TIME_EXTEND and type-0 pages (sparse captures) like trace-cmd', () => {
    const s = new Session();
    s.setMetadata(captureMetadata());
    for (const p of pages) s.handlePage(p);
    const prints = s.eventPage({from: {index: 0}, count: 20, filter: {events: ['print']}});
    expect(prints.total).toBe(10);
    expect(prints.rows.line.every((l) => /print: +\S+: sparse marker \d+: y+$/.test(l))).toBe(true);
  });
});
