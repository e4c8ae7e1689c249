/**
 * Push notifications to the app, throttled: at most one 'data' and one 'stats' message per
 * `intervalMs` (default 250 ms, i.e. ≤ 4/s each), sent at the trailing edge so the last change
 * is never lost. Connection changes and HELLO are rare and go out at once. Timers are
 * injectable so tests run without waiting.
 *
 * 'edge' carries the window's oldest/newest timestamps whenever the newest one moved, at most
 * once per `edgeIntervalMs` (default 8 ms, half a frame; at once after a quiet spell). A
 * followed view slides on it (app/data/live-edge.ts) instead of asking for the range every
 * 50 ms and waiting for the answer (`npm run bench painted` light, same machine and hour:
 * p50 ~45 → ~18 ms, p99 ~70–150 → ~33–45 ms).
 *
 * Followed timelines ride along. A listener that said which view it follows (`follow`: the
 * CPUs, how far before and after the newest timestamp, how many columns) gets that view's
 * timeline columns inside each 'edge', computed here when the edge is sent, instead of asking
 * for them after the slide: the question waited in this worker's queue behind the data it was
 * ingesting, and the answer again in the page's (`npm run bench painted`, heavy load). One
 * such edge is in flight per listener: the next waits until the page says it used or dropped
 * the last (`followDone`), so a page that draws slowly is never sent columns it would throw
 * away; FOLLOW_ACK_TIMEOUT_MS guards against a page that never says so. A follower also gets an
 * edge when data came in without moving the end (its columns changed; the range did not).
 */
import type {HelloInfo, NoticeFrame} from '../core/protocol.ts';
import type {TimelineLod, TimelineQuery} from './timeline-lod.ts';

export type ConnectionStateName = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'error';

export type Notification =
  | {kind: 'data'; version: number}
  | {kind: 'stats'; version: number}
  /**
   * The newest data moved: the window now spans [startNs, endNs] (trace clock, all CPUs).
   * `sentMs`: wall time of the push (timeOrigin + now, ms), so `bench painted` can tell the
   * worker's delay from the main thread's queue.
   */
  | {
      kind: 'edge';
      version: number;
      startNs: number;
      endNs: number;
      sentMs: number;
      /** The followed view's columns at this edge, for the listener that follows (`follow`). */
      timeline?: {query: TimelineQuery; lod: TimelineLod};
    }
  | {kind: 'connection'; state: ConnectionStateName; detail: string}
  /** The server's HELLO arrived; `sameSession`: a reconnect to the same server session. */
  | {kind: 'hello'; hello: HelloInfo; sameSession: boolean}
  /** A server NOTICE (reset, tracing-off/-on, control-ok/-denied/-failed, …), sent at once. */
  | {kind: 'notice'; notice: {kind: NoticeFrame['kind']; cpu: number; message: string}};

export type Listener = (n: Notification) => unknown;

export interface TimerApi {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const DEFAULT_NOTIFY_INTERVAL_MS = 250;
/**
 * At most one 'edge' per this many ms: half a display frame, so new data waits at most that
 * long to be asked for; the app's timeline cache keeps one query per CPU in flight. 16 ms
 * added ~8 ms to `bench painted` light p50 and did not help `bench ui-stream` (2026-11-22).
 */
export const DEFAULT_EDGE_INTERVAL_MS = 8;

/** Oldest and newest timestamp in the window, or null when it is empty. */
export type EdgeRange = () => {startNs: number; endNs: number} | null;

/**
 * The view a listener follows: for an edge at `endNs`, the columns of `cpus` over
 * [endNs − beforeNs, endNs + afterNs] at `cols` columns (the query the page would ask).
 */
export interface FollowView {
  cpus: number[];
  beforeNs: number;
  afterNs: number;
  cols: number;
}

/** How a followed view's columns are computed and handed over (api.ts: by transfer). */
export interface FollowDeps {
  answer(q: TimelineQuery): TimelineLod;
  /** Wrap a notification so its column buffers are transferred, not copied. */
  transfer(n: Notification, lod: TimelineLod): Notification;
}

/**
 * A followed edge not acknowledged after this long no longer holds back the next one (a page
 * that dropped the message, or a listener that never acknowledges).
 */
export const FOLLOW_ACK_TIMEOUT_MS = 1000;
/**
 * Followed edges per listener sent ahead of its acknowledgements. Two (one computed while the
 * page draws the other) did worse under heavy load: the worker computed columns the page then
 * skipped (`npm run bench painted`, session 9 in docs/benchmarks.md).
 */
export const FOLLOW_IN_FLIGHT = 1;

interface ListenerState {
  cb: Listener;
  follow: FollowView | null;
  /** Followed edges sent and not yet acknowledged, and when the last of them went. */
  outstanding: number;
  lastFollowMs: number;
  /** The newest end this listener was sent. */
  lastEndNs: number;
  /** The data version of the last followed edge it was sent (its columns' data). */
  lastVersion: number;
}

const realTimers: TimerApi = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class Notifier {
  private listeners = new Map<number, ListenerState>();
  private nextId = 1;
  private pendingData = false;
  private pendingStats = false;
  private timer: unknown;
  private lastFlushMs = -Infinity;
  private edgeTimer: unknown;
  private edgeTimerAtMs = Infinity;
  private lastEdgeMs = -Infinity;

  constructor(
    private readonly version: () => number,
    private readonly intervalMs = DEFAULT_NOTIFY_INTERVAL_MS,
    private readonly timers: TimerApi = realTimers,
    /** Without it no 'edge' is sent. */
    private readonly edgeRange?: EdgeRange,
    private readonly edgeIntervalMs = DEFAULT_EDGE_INTERVAL_MS,
    /** Without it `follow` is ignored and edges carry no columns. */
    private readonly followDeps?: FollowDeps,
  ) {}

  subscribe(cb: Listener): number {
    const id = this.nextId++;
    this.listeners.set(id, {
      cb,
      follow: null,
      outstanding: 0,
      lastFollowMs: NaN,
      lastEndNs: NaN,
      lastVersion: NaN,
    });
    return id;
  }

  /**
   * Listener `id` follows `view` (null: stops following). Its next edge, sent at once when
   * there is data, carries the view's columns.
   */
  follow(id: number, view: FollowView | null): void {
    const l = this.listeners.get(id);
    if (!l || !this.followDeps) return;
    l.follow = view;
    l.outstanding = 0;
    l.lastEndNs = NaN; // the view changed: its columns are due even if the end did not move
    this.edgeSoon(this.timers.now());
  }

  /** Listener `id` used (or dropped) the last followed edge: the next may go. */
  followDone(id: number): void {
    const l = this.listeners.get(id);
    if (!l) return;
    l.outstanding = Math.max(0, l.outstanding - 1);
    // Paced by these acknowledgements (and its own interval), not by other listeners' edges.
    this.edgeSoon(l.lastFollowMs + this.edgeIntervalMs);
  }

  unsubscribe(id: number): void {
    this.listeners.delete(id);
  }

  data(): void {
    this.pendingData = true;
    this.schedule();
    this.scheduleEdge();
  }

  stats(): void {
    this.pendingStats = true;
    this.schedule();
  }

  connection(state: ConnectionStateName, detail: string): void {
    this.send({kind: 'connection', state, detail});
  }

  /** HELLO is rare (once per connection): sent at once. */
  hello(hello: HelloInfo, sameSession: boolean): void {
    this.send({kind: 'hello', hello, sameSession});
  }

  /** NOTICEs are rare and each one matters (control answers): sent at once, never merged. */
  notice(n: NoticeFrame): void {
    this.send({kind: 'notice', notice: {kind: n.kind, cpu: n.cpu, message: n.message}});
  }

  private schedule(): void {
    if (this.timer !== undefined || this.listeners.size === 0) return;
    const wait = Math.max(0, this.lastFlushMs + this.intervalMs - this.timers.now());
    this.timer = this.timers.setTimeout(() => this.flush(), wait);
  }

  private scheduleEdge(): void {
    this.edgeSoon(this.lastEdgeMs + this.edgeIntervalMs);
  }

  /** Flush edges at `atMs` (or now, if that has passed) when there is anything to send to. */
  private edgeSoon(atMs: number): void {
    if (!this.edgeRange || this.listeners.size === 0) return;
    const now = this.timers.now();
    this.armEdge(Math.max(now, atMs), now);
  }

  /** Flush edges at `atMs`, unless a flush is already due by then. */
  private armEdge(atMs: number, now: number): void {
    if (this.edgeTimer !== undefined) {
      if (this.edgeTimerAtMs <= atMs) return;
      this.timers.clearTimeout(this.edgeTimer);
    }
    this.edgeTimerAtMs = atMs;
    this.edgeTimer = this.timers.setTimeout(() => this.flushEdge(), atMs - now);
  }

  private flushEdge(): void {
    this.edgeTimer = undefined;
    this.edgeTimerAtMs = Infinity;
    const r = this.edgeRange?.();
    if (!r) return;
    const now = this.timers.now();
    const version = this.version();
    let sent = false;
    let retryAtMs = Infinity;
    for (const [id, l] of this.listeners) {
      const f = this.followDeps && l.follow;
      // Not a new end: nothing to slide to. A follower's columns are stale all the same when
      // any data came in: a quieter CPU's last events can arrive after a busier CPU has moved
      // the end past them, and without an edge they were never drawn (`bench painted` heavy:
      // the probe CPU's last 5 ms).
      if (r.endNs === l.lastEndNs && (!f || version === l.lastVersion)) continue;
      if (f && l.outstanding >= FOLLOW_IN_FLIGHT) {
        const giveUpMs = l.lastFollowMs + FOLLOW_ACK_TIMEOUT_MS;
        if (now < giveUpMs) {
          retryAtMs = Math.min(retryAtMs, giveUpMs); // unless followDone comes first
          continue;
        }
        l.outstanding = 0;
      }
      sent = true;
      l.lastEndNs = r.endNs;
      const sentMs = performance.timeOrigin + performance.now();
      const edge = {kind: 'edge', version, ...r, sentMs} as const;
      if (!f) {
        this.deliver(id, l, edge);
        continue;
      }
      const query = {
        startNs: r.endNs - f.beforeNs,
        endNs: r.endNs + f.afterNs,
        widthPx: f.cols,
        cpus: f.cpus,
      };
      const lod = this.followDeps!.answer(query);
      l.lastVersion = version;
      l.outstanding++;
      l.lastFollowMs = now;
      this.deliver(id, l, this.followDeps!.transfer({...edge, timeline: {query, lod}}, lod));
    }
    if (sent) this.lastEdgeMs = now;
    if (retryAtMs < Infinity) this.armEdge(retryAtMs, now);
  }

  private flush(): void {
    this.timer = undefined;
    this.lastFlushMs = this.timers.now();
    const v = this.version();
    if (this.pendingData) this.send({kind: 'data', version: v});
    if (this.pendingStats) this.send({kind: 'stats', version: v});
    this.pendingData = this.pendingStats = false;
  }

  private send(n: Notification): void {
    for (const [id, l] of this.listeners) this.deliver(id, l, n);
  }

  private deliver(id: number, l: ListenerState, n: Notification): void {
    try {
      const r = l.cb(n);
      // A comlink proxy returns a promise; a closed port rejects it: drop that listener.
      if (r instanceof Promise) r.catch(() => this.listeners.delete(id));
    } catch {
      this.listeners.delete(id);
    }
  }

  dispose(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    if (this.edgeTimer !== undefined) this.timers.clearTimeout(this.edgeTimer);
    this.timer = this.edgeTimer = undefined;
    this.listeners.clear();
  }
}
