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
 */
import type {HelloInfo, NoticeFrame} from '../core/protocol.ts';

export type ConnectionStateName = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'error';

export type Notification =
  | {kind: 'data'; version: number}
  | {kind: 'stats'; version: number}
  /**
   * The newest data moved: the window now spans [startNs, endNs] (trace clock, all CPUs).
   * `sentMs`: wall time of the push (timeOrigin + now, ms), so `bench painted` can tell the
   * worker's delay from the main thread's queue.
   */
  | {kind: 'edge'; version: number; startNs: number; endNs: number; sentMs: number}
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

const realTimers: TimerApi = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class Notifier {
  private listeners = new Map<number, Listener>();
  private nextId = 1;
  private pendingData = false;
  private pendingStats = false;
  private timer: unknown;
  private lastFlushMs = -Infinity;
  private edgeTimer: unknown;
  private lastEdgeMs = -Infinity;
  private lastEdgeEndNs = NaN;

  constructor(
    private readonly version: () => number,
    private readonly intervalMs = DEFAULT_NOTIFY_INTERVAL_MS,
    private readonly timers: TimerApi = realTimers,
    /** Without it no 'edge' is sent. */
    private readonly edgeRange?: EdgeRange,
    private readonly edgeIntervalMs = DEFAULT_EDGE_INTERVAL_MS,
  ) {}

  subscribe(cb: Listener): number {
    const id = this.nextId++;
    this.listeners.set(id, cb);
    return id;
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
    if (!this.edgeRange || this.edgeTimer !== undefined || this.listeners.size === 0) return;
    const wait = Math.max(0, this.lastEdgeMs + this.edgeIntervalMs - this.timers.now());
    this.edgeTimer = this.timers.setTimeout(() => this.flushEdge(), wait);
  }

  private flushEdge(): void {
    this.edgeTimer = undefined;
    const r = this.edgeRange?.();
    if (!r || r.endNs === this.lastEdgeEndNs) return; // not a new end: nothing to slide to
    this.lastEdgeMs = this.timers.now();
    this.lastEdgeEndNs = r.endNs;
    const sentMs = performance.timeOrigin + performance.now();
    this.send({kind: 'edge', version: this.version(), startNs: r.startNs, endNs: r.endNs, sentMs});
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
    for (const [id, cb] of this.listeners) {
      try {
        const r = cb(n);
        // A comlink proxy returns a promise; a closed port rejects it: drop that listener.
        if (r instanceof Promise) r.catch(() => this.listeners.delete(id));
      } catch {
        this.listeners.delete(id);
      }
    }
  }

  dispose(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    if (this.edgeTimer !== undefined) this.timers.clearTimeout(this.edgeTimer);
    this.timer = this.edgeTimer = undefined;
    this.listeners.clear();
  }
}
