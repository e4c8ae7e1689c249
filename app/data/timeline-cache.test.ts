import {describe, expect, it} from 'vitest';
import type {TimelineTrack, Viewport} from '../model/types.ts';
import type {FollowView, PushedTimelines} from './backend.ts';
import {buildTrack} from '../testing/track-builder.ts';
import {LIVE_REFRESH_MS, TimelineCache} from './timeline-cache.ts';

function deferredBackend() {
  const calls: {
    cpu: number;
    range: Viewport;
    widthPx: number;
    resolve: (t: TimelineTrack) => void;
  }[] = [];
  return {
    calls,
    timeline: (cpu: number, range: Viewport, widthPx: number) =>
      new Promise<TimelineTrack>((resolve) => calls.push({cpu, range, widthPx, resolve})),
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('TimelineCache', () => {
  it('fetches an overscanned range once and serves pans within it', async () => {
    const b = deferredBackend();
    let now = 0;
    const cache = new TimelineCache(b, () => now);
    let changes = 0;
    cache.subscribe(() => changes++);
    expect(cache.ensure(0, {startNs: 1000, endNs: 2000}, 100, 1)).toBe(true);
    expect(cache.ensure(0, {startNs: 1000, endNs: 2000}, 100, 1)).toBe(false); // in flight
    expect(b.calls[0].range).toEqual({startNs: 0, endNs: 3000});
    expect(b.calls[0].widthPx).toBe(600);
    b.calls[0].resolve(buildTrack({events: [[1500, 0, 1]]}));
    await flush();
    expect(changes).toBe(1);
    expect(cache.get(0)?.events.length).toBe(1);
    expect(cache.ensure(0, {startNs: 500, endNs: 1500}, 100, 1)).toBe(false); // pan inside
    expect(cache.ensure(0, {startNs: 2500, endNs: 3500}, 100, 1)).toBe(true); // outside
    now = 10;
  });

  it('refetches on zoom-in past the detail it asked for, and on new data after a while', async () => {
    const b = deferredBackend();
    let now = 0;
    const cache = new TimelineCache(b, () => now);
    cache.ensure(0, {startNs: 0, endNs: 3000}, 100, 1);
    b.calls[0].resolve(buildTrack({}));
    await flush();
    expect(cache.covers(0, {startNs: 1000, endNs: 2000}, 100, 1)).toBe(true); // 3× zoom: fine
    expect(cache.covers(0, {startNs: 1000, endNs: 1100}, 100, 1)).toBe(false); // 30×
    expect(cache.covers(0, {startNs: 1000, endNs: 2000}, 100, 2)).toBe(true); // new data, too soon
    now = LIVE_REFRESH_MS + 1;
    expect(cache.covers(0, {startNs: 1000, endNs: 2000}, 100, 2)).toBe(false);
  });

  it('looks again once an answer kept for its age is too old for newer data', async () => {
    const b = deferredBackend();
    let now = 0;
    const timers: {at: number; cb: () => void}[] = [];
    const cache = new TimelineCache(
      b,
      () => now,
      (cb, ms) => timers.push({at: now + ms, cb}),
    );
    let changes = 0;
    const vp = {startNs: 1000, endNs: 2000};
    // A still view that asks again whenever it is told (what TimelineCanvas does).
    cache.subscribe(() => {
      changes++;
      cache.ensure(0, vp, 100, 2);
    });
    cache.ensure(0, vp, 100, 1);
    b.calls[0].resolve(buildTrack({}));
    await flush();
    expect(changes).toBe(1);
    now = 50;
    expect(cache.ensure(0, vp, 100, 2)).toBe(false); // newer data, but the answer is young
    expect(cache.ensure(0, vp, 100, 2)).toBe(false);
    expect(timers).toHaveLength(1); // one look again, not one per ask
    now = timers[0].at;
    expect(now).toBeGreaterThan(LIVE_REFRESH_MS);
    timers.shift()!.cb();
    expect(b.calls).toHaveLength(2); // told, the view asked, and now it fetches
    expect(cache.ensure(0, vp, 100, 1)).toBe(false); // in flight; same data as the answer: no timer
    b.calls[1].resolve(buildTrack({}));
    await flush();
    expect(cache.ensure(0, vp, 100, 2)).toBe(false);
    expect(timers).toHaveLength(0); // the answer is for this data: nothing to look at again
    // A followed view is pushed new columns by the worker: no timer for it.
    now += 10;
    expect(cache.ensure(0, vp, 100, 3, true)).toBe(false);
    expect(timers).toHaveLength(0);
  });

  it('while following, refetches as soon as the view end passes the one it asked for', async () => {
    const b = deferredBackend();
    const cache = new TimelineCache(b, () => 0);
    cache.ensure(0, {startNs: 1000, endNs: 2000}, 100, 1, true);
    b.calls[0].resolve(buildTrack({}));
    await flush();
    // Same data version, well inside the overscanned range, no time passed:
    expect(cache.covers(0, {startNs: 1010, endNs: 2010}, 100, 1)).toBe(true);
    expect(cache.covers(0, {startNs: 1010, endNs: 2010}, 100, 1, true)).toBe(false);
    expect(cache.covers(0, {startNs: 1000, endNs: 2000}, 100, 1, true)).toBe(true);
    expect(cache.ensure(0, {startNs: 1010, endNs: 2010}, 100, 1, true)).toBe(true);
    expect(cache.ensure(0, {startNs: 1020, endNs: 2020}, 100, 1, true)).toBe(false); // in flight
  });

  it('drops an answer that arrives after a newer one', async () => {
    const b = deferredBackend();
    const cache = new TimelineCache(b, () => 0);
    cache.ensure(0, {startNs: 0, endNs: 10}, 10, 1);
    cache.ensure(1, {startNs: 0, endNs: 10}, 10, 1);
    b.calls[1].resolve(buildTrack({cpu: 1}));
    b.calls[0].resolve(buildTrack({cpu: 0}));
    await flush();
    expect(cache.get(0)?.cpu).toBe(0);
    expect(cache.get(1)?.cpu).toBe(1);
    // Same CPU: an old answer must not replace a newer one.
    cache.ensure(0, {startNs: 100, endNs: 110}, 10, 1);
    const first = b.calls[2];
    cache.clear(); // drops in-flight bookkeeping, lets a second request go out
    cache.ensure(0, {startNs: 200, endNs: 210}, 10, 1);
    b.calls[3].resolve(buildTrack({cpu: 0, events: [[205, 0, 2]]}));
    await flush();
    first.resolve(buildTrack({cpu: 0, events: [[105, 0, 1]]}));
    await flush();
    expect(cache.get(0)?.events.id[0]).toBe(2);
  });

  it('sends the CPUs that ask for one range in a task as one query to a batching backend', async () => {
    const single = deferredBackend();
    const batches: {cpus: number[]; range: Viewport; resolve: (t: TimelineTrack[]) => void}[] = [];
    const b = {
      timeline: single.timeline,
      timelines: (cpus: number[], range: Viewport) =>
        new Promise<TimelineTrack[]>((resolve) => batches.push({cpus, range, resolve})),
    };
    const cache = new TimelineCache(b, () => 0);
    let changes = 0;
    cache.subscribe(() => changes++);
    const vp = {startNs: 1000, endNs: 2000};
    for (const cpu of [0, 1, 2]) expect(cache.ensure(cpu, vp, 100, 1, true)).toBe(true);
    expect(cache.ensure(3, {startNs: 0, endNs: 500}, 100, 1, true)).toBe(true); // another range
    expect(cache.ensure(1, vp, 100, 1, true)).toBe(false); // already asked
    await Promise.resolve();
    expect(single.calls).toHaveLength(0);
    expect(batches.map((x) => x.cpus)).toEqual([[0, 1, 2], [3]]);
    expect(batches[0].range).toEqual({startNs: 900, endNs: 2100});
    batches[0].resolve([0, 1, 2].map((cpu) => buildTrack({cpu, events: [[1500 + cpu, 0, cpu]]})));
    await flush();
    expect(changes).toBe(1); // one listener round for the three tracks
    expect([0, 1, 2].map((cpu) => cache.get(cpu)?.events.tsNs[0])).toEqual([1500, 1501, 1502]);
    expect(cache.get(3)).toBeUndefined();
    expect(cache.ensure(0, vp, 100, 1, true)).toBe(false); // served
  });

  it('asks for a view refused while a fetch was in flight as soon as that answer arrives', async () => {
    const b = deferredBackend();
    const cache = new TimelineCache(b, () => 0);
    cache.ensure(0, {startNs: 1000, endNs: 2000}, 100, 1, true);
    expect(cache.ensure(0, {startNs: 1100, endNs: 2100}, 100, 1, true)).toBe(false);
    expect(cache.ensure(0, {startNs: 1200, endNs: 2200}, 100, 1, true)).toBe(false);
    expect(b.calls).toHaveLength(1);
    b.calls[0].resolve(buildTrack({}));
    await flush();
    // The newest refused view is asked for at once, without another ensure().
    expect(b.calls).toHaveLength(2);
    expect(b.calls[1].range.endNs).toBe(2200 + 100);
    b.calls[1].resolve(buildTrack({}));
    await flush();
    expect(b.calls).toHaveLength(2); // nothing else was wanted
  });

  describe('followed views pushed by the backend', () => {
    function followRig() {
      const b = deferredBackend();
      const told: (FollowView | null)[] = [];
      const cache = new TimelineCache({...b, follow: (v) => void told.push(v)}, () => 0);
      return {b, told, cache};
    }

    it('tells the backend the followed view once per change, for every CPU that asks', async () => {
      const {told, cache} = followRig();
      const vp = {startNs: 1000, endNs: 2000};
      cache.ensure(0, vp, 100, 1, true);
      cache.ensure(1, vp, 100, 1, true);
      await Promise.resolve();
      // What `ensure` asks for at a followed slide, relative to the view's end.
      expect(told).toEqual([{cpus: [0, 1], beforeNs: 1100, afterNs: 100, cols: 240}]);
      // The view slides with the same span (its end − start wobbles in the last bits): no news.
      cache.ensure(0, {startNs: 3000, endNs: 4000 + 1e-7}, 100, 1, true);
      await Promise.resolve();
      expect(told).toHaveLength(1);
      cache.ensure(0, {startNs: 0, endNs: 4000}, 100, 1, true); // zoomed out
      await Promise.resolve();
      expect(told.at(-1)).toEqual({cpus: [0, 1], beforeNs: 4400, afterNs: 400, cols: 240});
      cache.ensure(0, {startNs: 0, endNs: 4000}, 100, 1, false); // follow off
      await Promise.resolve();
      expect(told.at(-1)).toBeNull();
    });

    it('serves the slide to a pushed edge from its columns, without asking', () => {
      const {b, cache} = followRig();
      let done = 0;
      const pushed: PushedTimelines = {
        range: {startNs: 4900, endNs: 6100},
        cols: 240,
        edgeNs: 6000,
        dataVersion: 7,
        cpus: [0, 1],
        tracks: [0, 1].map((cpu) => buildTrack({cpu, events: [[5990 + cpu, 0, cpu]]})),
        done: () => done++,
      };
      cache.ensure(0, {startNs: 4000, endNs: 5000}, 100, 7, true); // a question in flight
      cache.accept(pushed);
      expect(cache.accepted).toBe(2);
      const slid = {startNs: 5000, endNs: 6000};
      for (const cpu of [0, 1]) expect(cache.ensure(cpu, slid, 100, 7, true)).toBe(false);
      expect(b.calls).toHaveLength(1); // only the question from before the push
      expect([0, 1].map((cpu) => cache.get(cpu)?.events.tsNs[0])).toEqual([5990, 5991]);
      // The older question's answer arriving now does not replace the pushed columns.
      b.calls[0].resolve(buildTrack({cpu: 0, events: [[4500, 0, 9]]}));
      return flush().then(() => {
        expect(cache.get(0)?.events.tsNs[0]).toBe(5990);
        // Past the pushed edge, a followed view asks again.
        expect(cache.ensure(0, {startNs: 5001, endNs: 6001}, 100, 7, true)).toBe(true);
        expect(done).toBe(0); // handing the columns back is the caller's (live-edge.ts)
      });
    });

    it('tells its listeners about pushed columns only when asked to (no slide to redraw)', () => {
      const {cache} = followRig();
      let told = 0;
      cache.subscribe(() => told++);
      const pushed = (dataVersion: number): PushedTimelines => ({
        range: {startNs: 4900, endNs: 6100},
        cols: 240,
        edgeNs: 6000,
        dataVersion,
        cpus: [0],
        tracks: [buildTrack({cpu: 0, events: [[5990 + dataVersion, 0, 1]]})],
        done: () => {},
      });
      cache.accept(pushed(1));
      expect(told).toBe(0);
      cache.accept(pushed(2), true);
      expect(told).toBe(1);
      expect(cache.get(0)?.events.tsNs[0]).toBe(5992);
    });
  });

  describe('hands answer buffers back to a backend that reuses them', () => {
    /** A track whose columns view `buf` (as a pooled answer's do), one event at `tsNs`. */
    function pooledTrack(buf: ArrayBuffer, cpu: number, tsNs: number): TimelineTrack {
      const t = buildTrack({cpu});
      const at = cpu * 64;
      t.events = {
        length: 1,
        tsNs: new Float64Array(buf, at, 1).fill(tsNs),
        type: new Int32Array(buf, at + 8, 1),
        id: new Float64Array(buf, at + 16, 1),
      };
      return t;
    }

    function rig() {
      const back: ArrayBuffer[] = [];
      const batches: {cpus: number[]; resolve: (t: TimelineTrack[]) => void}[] = [];
      const single = deferredBackend();
      const cache = new TimelineCache(
        {
          timeline: single.timeline,
          timelines: (cpus: number[]) =>
            new Promise<TimelineTrack[]>((resolve) => batches.push({cpus, resolve})),
          recycle: (bufs) => back.push(...bufs),
        },
        () => 0,
      );
      return {back, batches, cache};
    }

    it('once no stored track views a buffer, and never while one does', async () => {
      const {back, batches, cache} = rig();
      const a = new ArrayBuffer(256);
      for (const cpu of [0, 1]) cache.ensure(cpu, {startNs: 0, endNs: 10}, 10, 1);
      await Promise.resolve();
      batches[0].resolve([0, 1].map((cpu) => pooledTrack(a, cpu, 5)));
      await flush();
      expect(back).toEqual([]);
      // cpu 0 gets a newer answer: cpu 1 still draws from `a`.
      const b = new ArrayBuffer(256);
      cache.ensure(0, {startNs: 100, endNs: 110}, 10, 1);
      await Promise.resolve();
      batches[1].resolve([pooledTrack(b, 0, 105)]);
      await flush();
      expect(back).toEqual([]);
      expect(cache.get(1)?.events.tsNs[0]).toBe(5);
      // Now cpu 1 too: `a` goes back, once.
      const c = new ArrayBuffer(256);
      cache.ensure(1, {startNs: 100, endNs: 110}, 10, 1);
      await Promise.resolve();
      batches[2].resolve([pooledTrack(c, 1, 106)]);
      await flush();
      expect(back).toEqual([a]);
      expect(cache.recycled).toBe(1);
      // Clearing hands back what the stored tracks held.
      cache.clear();
      await flush();
      expect(new Set(back)).toEqual(new Set([a, b, c]));
      expect(back).toHaveLength(3);
    });

    it('an answer kept for no CPU (older than the stored one, a push not shown), not one kept for one', async () => {
      const {back, batches, cache} = rig();
      const pushed = (buf: ArrayBuffer, cpus: number[]): PushedTimelines => ({
        range: {startNs: 0, endNs: 100},
        cols: 10,
        edgeNs: 100,
        dataVersion: 1,
        cpus,
        tracks: cpus.map((cpu) => pooledTrack(buf, cpu, 90)),
        done: () => {},
      });
      // A question for cpu 0, then a push for it: the question's answer, arriving last, is older.
      cache.ensure(0, {startNs: 0, endNs: 10}, 10, 1);
      await Promise.resolve();
      const push1 = new ArrayBuffer(256);
      cache.accept(pushed(push1, [0]));
      const late = new ArrayBuffer(256);
      batches[0].resolve([pooledTrack(late, 0, 5)]);
      await flush();
      expect(back).toEqual([late]);
      expect(cache.get(0)?.events.tsNs[0]).toBe(90);
      // A push that is not shown.
      const unseen = new ArrayBuffer(256);
      cache.discard(pushed(unseen, [0, 1]));
      await flush();
      expect(back).toEqual([late, unseen]);
      // One answer for cpus 1 and 2: a push for cpu 1 overtakes it, cpu 2 keeps its track.
      cache.ensure(1, {startNs: 0, endNs: 10}, 10, 1);
      cache.ensure(2, {startNs: 0, endNs: 10}, 10, 1);
      await Promise.resolve();
      const push2 = new ArrayBuffer(256);
      cache.accept(pushed(push2, [1]));
      const shared = new ArrayBuffer(256);
      batches[1].resolve([1, 2].map((cpu) => pooledTrack(shared, cpu, 7)));
      await flush();
      expect(back).toEqual([late, unseen]);
      expect(cache.get(1)?.events.tsNs[0]).toBe(90);
      expect(cache.get(2)?.events.tsNs[0]).toBe(7);
    });
  });
});
