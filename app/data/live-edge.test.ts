import {describe, expect, it} from 'vitest';
import type {Viewport} from '../model/types.ts';
import {createAppStore} from '../store.ts';
import type {PushedTimelines} from './backend.ts';
import {LiveEdge, QUIET_ASKS} from './live-edge.ts';

/** Frames run by hand; edge answers come from a list (then the last one repeats). */
function rig(answers: (Viewport | null)[]) {
  const store = createAppStore();
  const frames: (() => void)[] = [];
  let asked = 0;
  let nowMs = 0;
  const edge = new LiveEdge(
    store,
    async () => answers[Math.min(asked++, answers.length - 1)],
    (cb) => frames.push(cb),
    30,
    () => nowMs,
  );
  const runFrame = async (stepMs = 33) => {
    nowMs += stepMs;
    const f = frames.splice(0);
    for (const cb of f) cb();
    await new Promise((r) => setTimeout(r, 0));
  };
  return {store, edge, frames, runFrame};
}

describe('LiveEdge', () => {
  it('slides the followed view while the edge moves, then stops asking', async () => {
    const {store, edge, frames, runFrame} = rig([
      {startNs: 0, endNs: 3e9},
      {startNs: 0, endNs: 3.1e9},
      {startNs: 0, endNs: 3.1e9},
    ]);
    store.getState().setViewport({startNs: 0, endNs: 2e9});
    store.getState().setFollowLive(true);
    edge.wake();
    edge.wake(); // one question at a time
    expect(frames.length).toBe(1);
    await runFrame();
    expect(store.getState().viewport).toEqual({startNs: 1e9, endNs: 3e9});
    expect(frames.length).toBe(1); // moved: ask again next frame
    await runFrame();
    expect(store.getState().viewport.endNs).toBe(3.1e9);
    // Same edge from now on: it keeps asking for QUIET_ASKS answers, then stops.
    for (let i = 0; i < QUIET_ASKS + 5; i++) await runFrame();
    expect(frames.length).toBe(0);
    expect(edge.asked).toBe(2 + QUIET_ASKS);
    edge.wake(); // a 'data' push: asking again
    expect(frames.length).toBe(1);
  });

  it('backs off when questions come late (dropped frames), and recovers', async () => {
    const ends = Array.from({length: 40}, (_, i) => ({startNs: 0, endNs: 3e9 + i * 1e6}));
    const {store, edge, runFrame} = rig(ends);
    store.getState().setFollowLive(true);
    edge.wake();
    await runFrame(33);
    for (let i = 0; i < 4; i++) await runFrame(100); // 100 ms frames: the page is struggling
    expect(edge.currentIntervalMs).toBeGreaterThan(60);
    const slow = edge.currentIntervalMs;
    for (let i = 0; i < 30; i++) await runFrame(17); // smooth again
    expect(edge.currentIntervalMs).toBeLessThan(slow);
    expect(edge.currentIntervalMs).toBeGreaterThanOrEqual(30);
  });

  it('asks at most once per interval, waiting frames in between', async () => {
    const {store, edge, frames, runFrame} = rig([
      {startNs: 0, endNs: 3e9},
      {startNs: 0, endNs: 4e9},
    ]);
    store.getState().setFollowLive(true);
    edge.wake();
    await runFrame(16);
    expect(edge.asked).toBe(1);
    await runFrame(16); // 16 ms after the last question: wait
    expect(edge.asked).toBe(1);
    expect(frames.length).toBe(1);
    await runFrame(16);
    expect(edge.asked).toBe(2);
    expect(store.getState().viewport.endNs).toBe(4e9);
  });

  it('does nothing while not following, and resumes when follow is switched on', async () => {
    const {store, edge, frames, runFrame} = rig([{startNs: 0, endNs: 5e9}]);
    store.getState().setViewport({startNs: 0, endNs: 1e9}); // a manual view: not following
    edge.wake();
    expect(frames.length).toBe(0);
    expect(edge.owns).toBe(false);
    store.getState().setFollowLive(true);
    expect(frames.length).toBe(1);
    await runFrame();
    expect(store.getState().viewport).toEqual({startNs: 4e9, endNs: 5e9});
    edge.stop();
    expect(edge.owns).toBe(false);
  });

  describe('pushed edges', () => {
    /** Frames and timers run by hand; no edge() at all (push-only backend). */
    function pushRig() {
      const store = createAppStore();
      const frames: (() => void)[] = [];
      const timers: {at: number; cb: () => void}[] = [];
      let nowMs = 0;
      const edge = new LiveEdge(
        store,
        undefined,
        (cb) => frames.push(cb),
        50,
        () => nowMs,
        (cb, ms) => timers.push({at: nowMs + ms, cb}),
      );
      const advance = (ms: number, frameLate = false) => {
        nowMs += ms;
        for (const t of timers.splice(0)) {
          if (t.at <= nowMs) t.cb();
          else timers.push(t);
        }
        if (!frameLate || ms > 40) for (const cb of frames.splice(0)) cb();
      };
      return {store, edge, frames, timers, advance};
    }

    it('slides the followed view at once on every push that moves the end', () => {
      const {store, edge} = pushRig();
      store.getState().setFollowLive(true);
      edge.push({startNs: 0, endNs: 3e9});
      expect(store.getState().viewport).toEqual({startNs: 1e9, endNs: 3e9});
      edge.push({startNs: 0, endNs: 3.01e9});
      expect(store.getState().viewport.endNs).toBe(3.01e9); // no frame needed in between
      edge.push({startNs: 0, endNs: 3.01e9}); // same end: no slide
      expect(edge.asked).toBe(0); // nothing asked: the data came to us
    });

    it('ignores pushes while not following and stops the poll loop once pushes come', () => {
      const {store, edge, frames} = pushRig();
      store.getState().setViewport({startNs: 0, endNs: 1e9});
      edge.push({startNs: 0, endNs: 5e9});
      expect(store.getState().viewport).toEqual({startNs: 0, endNs: 1e9});
      edge.wake(); // a 'data' push: no polling in push mode
      expect(frames.length).toBe(0);
    });

    it('spaces slides out while frames come late, and goes back to every push', () => {
      const {store, edge, advance} = pushRig();
      store.getState().setFollowLive(true);
      let end = 3e9;
      const pushEvery = (ms: number, n: number) => {
        for (let i = 0; i < n; i++) {
          end += 1e6;
          edge.push({startNs: 0, endNs: end});
          advance(ms);
        }
      };
      pushEvery(100, 4); // each slide's next frame comes 100 ms later: dropping frames
      expect(edge.currentPushMs).toBeGreaterThanOrEqual(50);
      // While spaced out, a burst of pushes slides once per interval, to the newest end.
      const slid: number[] = [];
      const un = store.subscribe((s, p) => {
        if (s.viewport !== p.viewport) slid.push(s.viewport.endNs);
      });
      pushEvery(5, 6);
      expect(slid.length).toBeLessThan(6);
      advance(300);
      expect(store.getState().viewport.endNs).toBe(end); // the last push is never lost
      un();
      pushEvery(16, 200); // smooth again
      expect(edge.currentPushMs).toBe(0);
    });

    it("hands a push's columns to the cache right before its slide, and back once used or not", () => {
      const {store, edge, advance} = pushRig();
      const log: string[] = [];
      edge.onTimelines = (t, redraw) =>
        log.push(
          `cache ${t.edgeNs} at view end ${store.getState().viewport.endNs}${redraw ? ' redraw' : ''}`,
        );
      // Columns never shown go to the cache too, so that their memory can be reused.
      edge.onDiscard = (t) => log.push(`discard ${t.edgeNs}`);
      const pushed = (endNs: number): PushedTimelines => ({
        range: {startNs: endNs - 2.2e9, endNs: endNs + 0.2e9},
        cols: 240,
        edgeNs: endNs,
        dataVersion: 1,
        cpus: [0],
        tracks: [],
        done: () => log.push(`done ${endNs}`),
      });
      store.getState().setViewport({startNs: 0, endNs: 1e9}); // not following
      edge.push({startNs: 0, endNs: 2e9}, pushed(2e9));
      expect(log).toEqual(['done 2000000000', 'discard 2000000000']); // dropped, and said so
      log.length = 0;
      store.getState().setFollowLive(true);
      edge.push({startNs: 0, endNs: 3e9}, pushed(3e9));
      expect(log).toEqual(['cache 3000000000 at view end 1000000000', 'done 3000000000']);
      expect(store.getState().viewport.endNs).toBe(3e9);
      // While slides are spaced out, a newer push replaces a waiting one: the older is handed back.
      edge.currentPushMs = 100;
      log.length = 0;
      edge.push({startNs: 0, endNs: 4e9}, pushed(4e9));
      edge.push({startNs: 0, endNs: 5e9}, pushed(5e9));
      expect(log).toEqual(['done 4000000000', 'discard 4000000000']);
      advance(100);
      expect(log).toEqual([
        'done 4000000000',
        'discard 4000000000',
        'cache 5000000000 at view end 3000000000',
        'done 5000000000',
      ]);
      // New columns at the same end (a quieter CPU's data came in behind it): no slide, but the
      // cache is told to redraw.
      log.length = 0;
      advance(200);
      edge.push({startNs: 0, endNs: 5e9}, pushed(5e9));
      expect(log).toEqual(['cache 5000000000 at view end 5000000000 redraw', 'done 5000000000']);
      store.getState().setFollowLive(false);
      log.length = 0;
      edge.push({startNs: 0, endNs: 5e9}, pushed(5e9));
      expect(log).toEqual(['done 5000000000', 'discard 5000000000']); // not following: dropped
    });
  });
});
