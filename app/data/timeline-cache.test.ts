import {describe, expect, it} from 'vitest';
import type {TimelineTrack, Viewport} from '../model/types.ts';
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
});
