import {describe, expect, it} from 'vitest';
import type {HelloInfo} from '../core/protocol.ts';
import {
  FOLLOW_ACK_TIMEOUT_MS,
  FOLLOW_IN_FLIGHT,
  Notifier,
  type FollowDeps,
  type Notification,
  type TimerApi,
} from './notifier.ts';
import type {TimelineLod, TimelineQuery} from './timeline-lod.ts';

const HELLO: HelloInfo = {
  protocol: 1,
  sessionId: 's1',
  source: 'sim',
  cpus: [0, 1],
  subbufSize: 4096,
  nrSubbufs: 353,
  traceClock: 'local',
  littleEndian: true,
  server: {name: 'ringside', version: 't', allowControl: false, windowFrames: 8},
};

/** Manual clock: timers fire only when the test advances time. */
function manualTimers() {
  let now = 0;
  let q: {at: number; fn: () => void}[] = [];
  const timers: TimerApi = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = {at: now + ms, fn};
      q.push(t);
      return t;
    },
    clearTimeout: (h) => void (q = q.filter((t) => t !== h)),
  };
  const advance = (ms: number) => {
    now += ms;
    for (;;) {
      const due = q.filter((t) => t.at <= now).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      q = q.filter((t) => t !== due);
      due.fn();
    }
  };
  return {timers, advance};
}

describe('Notifier', () => {
  it('sends at most one data and one stats message per interval, trailing', () => {
    const {timers, advance} = manualTimers();
    let version = 0;
    const n = new Notifier(() => version, 250, timers);
    const got: Notification[] = [];
    n.subscribe((x) => void got.push(x));
    for (let t = 0; t < 1000; t += 10) {
      version++;
      n.data();
      if (t % 100 === 0) n.stats();
      advance(10);
    }
    advance(1000);
    const data = got.filter((x) => x.kind === 'data');
    expect(data.length).toBeGreaterThanOrEqual(4);
    expect(data.length).toBeLessThanOrEqual(5);
    expect(got.filter((x) => x.kind === 'stats').length).toBeLessThanOrEqual(5);
    // The last change is always announced.
    expect(data[data.length - 1]).toEqual({kind: 'data', version: 100});
  });

  it('sends connection changes and HELLO at once and drops listeners that fail', () => {
    const {timers} = manualTimers();
    const n = new Notifier(() => 0, 250, timers);
    const got: Notification[] = [];
    n.subscribe((x) => void got.push(x));
    n.subscribe(() => {
      throw new Error('port closed');
    });
    n.connection('open', '');
    n.hello(HELLO, false);
    n.connection('closed', 'bye');
    expect(got).toEqual([
      {kind: 'connection', state: 'open', detail: ''},
      {kind: 'hello', hello: HELLO, sameSession: false},
      {kind: 'connection', state: 'closed', detail: 'bye'},
    ]);
  });

  it("sends 'edge' at most once per edge interval, only when the newest timestamp moved", () => {
    const {timers, advance} = manualTimers();
    let range: {startNs: number; endNs: number} | null = null;
    const n = new Notifier(
      () => 7,
      250,
      timers,
      () => range,
      16,
    );
    const got: Notification[] = [];
    n.subscribe((x) => void got.push(x));
    const edges = () => got.filter((x) => x.kind === 'edge');
    n.data(); // empty window: nothing to slide to
    advance(0);
    expect(edges()).toEqual([]);
    range = {startNs: 100, endNs: 200};
    n.data(); // quiet until now: sent at once (next timer turn), not after 16 ms
    advance(0);
    expect(edges()).toEqual([
      {kind: 'edge', version: 7, startNs: 100, endNs: 200, sentMs: expect.any(Number)},
    ]);
    // Data every 2 ms for 100 ms: about one edge per 16 ms, carrying the newest end.
    for (let t = 0; t < 100; t += 2) {
      range = {startNs: 100, endNs: 202 + t};
      n.data();
      advance(2);
    }
    advance(20);
    const ends = edges().map((e) => (e.kind === 'edge' ? e.endNs : NaN));
    expect(ends.length).toBeGreaterThanOrEqual(6);
    expect(ends.length).toBeLessThanOrEqual(8);
    expect(ends.at(-1)).toBe(300); // the last end always arrives
    for (let i = 1; i < ends.length; i++) expect(ends[i]).toBeGreaterThan(ends[i - 1]);
    // A change that does not move the end (e.g. a META) sends no edge.
    const before = edges().length;
    n.data();
    advance(50);
    expect(edges().length).toBe(before);
    // The throttled 'data' push still goes out at its own pace.
    expect(got.filter((x) => x.kind === 'data').length).toBeLessThanOrEqual(2);
  });

  it("sends no 'edge' without a range source", () => {
    const {timers, advance} = manualTimers();
    const n = new Notifier(() => 1, 250, timers);
    const got: Notification[] = [];
    n.subscribe((x) => void got.push(x));
    n.data();
    advance(300);
    expect(got.map((x) => x.kind)).toEqual(['data']);
  });

  describe('followed views', () => {
    /** A notifier whose followed columns are a stand-in LOD naming the query it answers. */
    function followRig() {
      const {timers, advance} = manualTimers();
      let range: {startNs: number; endNs: number} | null = {startNs: 0, endNs: 1000};
      let version = 3;
      const asked: TimelineQuery[] = [];
      const transferred: TimelineLod[] = [];
      const deps: FollowDeps = {
        answer: (q) => {
          asked.push(q);
          return {...q, typeNames: [], tracks: [], comms: new Map()} as TimelineLod;
        },
        transfer: (n, lod) => (transferred.push(lod), n),
      };
      const n = new Notifier(
        () => version,
        250,
        timers,
        () => range,
        8,
        deps,
      );
      const moveTo = (endNs: number) => {
        range = {startNs: 0, endNs};
        version++;
        n.data();
      };
      /** Data that does not move the end (a quieter CPU's, behind the newest). */
      const addBehind = () => {
        version++;
        n.data();
      };
      const edgesOf = (got: Notification[]) => got.flatMap((x) => (x.kind === 'edge' ? [x] : []));
      return {n, advance, moveTo, addBehind, asked, transferred, edgesOf};
    }
    const VIEW = {cpus: [0, 1], beforeNs: 550, afterNs: 50, cols: 960};
    /** Two listeners: the one with `id` will follow, the other never does. */
    function twoListeners(n: Notifier) {
      const follower: Notification[] = [];
      const other: Notification[] = [];
      const id = n.subscribe((x) => void follower.push(x));
      n.subscribe((x) => void other.push(x));
      return {id, follower, other};
    }

    it("sends the followed view's columns with the edge, to the listener that follows", () => {
      const {n, advance, moveTo, asked, transferred, edgesOf} = followRig();
      const {id, follower, other} = twoListeners(n);
      moveTo(1000);
      advance(0);
      expect(edgesOf(follower).map((e) => e.timeline)).toEqual([undefined]);
      n.follow(id, VIEW); // due at once, although the end did not move
      advance(0);
      const e = edgesOf(follower)[1];
      const query = {startNs: 450, endNs: 1050, widthPx: 960, cpus: [0, 1]};
      expect(e).toMatchObject({endNs: 1000, timeline: {query}});
      expect(e.timeline!.lod).toMatchObject(query);
      expect(asked).toEqual([query]); // computed once, for the follower only
      expect(transferred).toEqual([e.timeline!.lod]); // handed over by transfer
      expect(edgesOf(other).every((x) => x.timeline === undefined)).toBe(true);
    });

    it(`keeps ${FOLLOW_IN_FLIGHT} followed edge in flight: the next goes on followDone`, () => {
      const {n, advance, moveTo, edgesOf} = followRig();
      const {id, follower, other} = twoListeners(n);
      n.follow(id, VIEW);
      advance(0);
      expect(edgesOf(follower).length).toBe(1);
      for (let t = 0; t < 100; t += 10) {
        moveTo(2000 + t);
        advance(10);
      }
      // The other listener slid along; the follower waits for its answer to be used.
      expect(edgesOf(other).length).toBeGreaterThan(5);
      expect(edgesOf(follower).length).toBe(FOLLOW_IN_FLIGHT);
      n.followDone(id);
      advance(0);
      const last = edgesOf(follower).at(-1)!;
      expect(last.endNs).toBe(2090); // the newest end, at once
      expect(last.timeline?.query.startNs).toBe(2090 - 550);
      // Nothing new since: done again sends nothing.
      n.followDone(id);
      advance(50);
      expect(edgesOf(follower).at(-1)).toBe(last);
    });

    it('sends a follower new columns when data came in behind an end that did not move', () => {
      const {n, advance, moveTo, addBehind, edgesOf} = followRig();
      const {id, follower, other} = twoListeners(n);
      n.follow(id, VIEW);
      moveTo(5000);
      advance(0);
      n.followDone(id);
      advance(20);
      const before = edgesOf(follower).length;
      const otherBefore = edgesOf(other).length;
      addBehind();
      advance(20);
      const last = edgesOf(follower).at(-1)!;
      expect(edgesOf(follower).length).toBe(before + 1);
      expect(last).toMatchObject({endNs: 5000, version: 5, timeline: {}});
      // Nothing to slide to for a listener without columns; nothing new, nothing sent.
      expect(edgesOf(other).length).toBe(otherBefore);
      n.followDone(id);
      advance(20);
      expect(edgesOf(follower).length).toBe(before + 1);
    });

    it('does not wait for an acknowledgement forever, and stops on follow(null)', () => {
      const {n, advance, moveTo, edgesOf} = followRig();
      const got: Notification[] = [];
      const id = n.subscribe((x) => void got.push(x));
      n.follow(id, VIEW);
      advance(0);
      moveTo(3000);
      advance(FOLLOW_ACK_TIMEOUT_MS - 1);
      expect(edgesOf(got).length).toBe(FOLLOW_IN_FLIGHT);
      moveTo(3001);
      advance(10); // never acknowledged: after the timeout the edge goes anyway
      expect(edgesOf(got).at(-1)).toMatchObject({endNs: 3001, timeline: {}});
      n.follow(id, null);
      moveTo(3002);
      advance(10);
      expect(edgesOf(got).at(-1)).toMatchObject({endNs: 3002});
      expect(edgesOf(got).at(-1)!.timeline).toBeUndefined();
    });
  });
});
