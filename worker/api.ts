/**
 * The worker's one comlink API. Everything the app asks goes through here; the logic lives in
 * Session (session.ts) and its views, which run in Node tests without a Worker.
 *
 * Every answer is `{version, data}`: `version` is the store's data version the answer was
 * computed from, so the app can drop stale answers. Column answers are transferred, not copied
 * (comlink `transfer`, Perfetto's `postMessage(data, [data.buffer])`).
 *
 * Push: `subscribe(proxy(cb))` gets {kind: 'data' | 'stats' | 'edge' | 'connection' | 'hello' |
 * 'notice'} notifications, 'data' and 'stats' throttled to ≤ 4/s each, 'edge' (the newest data
 * range) to about one per frame (notifier.ts); 'hello' carries the server's HELLO as soon as it
 * arrives, 'notice' every server NOTICE (control answers too).
 */
import {transfer} from 'comlink';
import type {ControlRequest, HelloInfo, ServerStats} from '../core/protocol.ts';
import type {ConnectionState, WebSocketConstructor} from './connection.ts';
import type {EventFilter, EventListPage, EventListQuery} from './event-list.ts';
import type {EventRef} from './event-ref.ts';
import {AnswerBuffers} from './answer-buffers.ts';
import {LiveFeed} from './live-feed.ts';
import type {CpuLoss} from './loss.ts';
import type {CpuStats} from './meta-stats.ts';
import {Notifier, type FollowView, type Listener, type TimerApi} from './notifier.ts';
import type {DecodedPage} from './page-sink.ts';
import type {SchedData} from './sched-view.ts';
import {
  Session,
  type EventCounts,
  type EventDetail,
  type TraceMetadata,
  type WindowSummary,
} from './session.ts';
import {lodTransferables, type TimelineLod, type TimelineQuery} from './timeline-lod.ts';

export type {
  EventFilter,
  EventListPage,
  EventListQuery,
  TimelineLod,
  TimelineQuery,
  SchedData,
  CpuStats,
};
export type {EventDetail, EventCounts, WindowSummary, EventRef, TraceMetadata};
export type {HelloInfo, ServerStats, CpuLoss, ControlRequest};

/** The live connection as the reader loop sees it. */
export interface ConnectionInfo {
  state: ConnectionState;
  hello: HelloInfo | undefined;
  serverStats: ServerStats | undefined;
  /** Tracing on/off (HELLO, then tracing-on/-off notices); undefined = unknown. */
  tracingOn: boolean | undefined;
  /** Per CPU: kernel loss, delivery gaps, resets, decode errors (worker/loss.ts). */
  loss: CpuLoss[];
  decodeErrors: number;
}
export type {Notification, ConnectionStateName, FollowView} from './notifier.ts';

/** An answer and the data version it was computed from. */
export interface Answer<T> {
  version: number;
  data: T;
}

export interface ConnectOptions {
  /** Data frames granted ahead (credits). */
  windowFrames?: number;
  /** Ask for kallsyms and printk formats (big, needed for %pS and bprint). */
  includeSymbols?: boolean;
}

export interface ApiDeps {
  /** WebSocket constructor (the global one in a browser Worker; `ws` in Node). */
  WebSocket?: WebSocketConstructor;
  timers?: TimerApi;
  notifyIntervalMs?: number;
}

/** Oldest and newest timestamp over every CPU's table (cheap: two reads per CPU). */
function windowEdge(session: Session): {startNs: number; endNs: number} | null {
  let startNs = Infinity;
  let endNs = -Infinity;
  for (const cpu of session.store.cpus()) {
    startNs = Math.min(startNs, session.store.oldestTsNs(cpu));
    endNs = Math.max(endNs, session.store.newestTsNs(cpu));
  }
  return endNs >= startNs ? {startNs, endNs} : null;
}

function buffersOf(values: unknown[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const v of values) if (ArrayBuffer.isView(v)) out.push(v.buffer as ArrayBuffer);
  return out;
}

export function createWorkerApi(deps: ApiDeps = {}) {
  const session = new Session();
  // Timeline answers are written into buffers the page hands back (`recycle`) when it is done.
  const answerBuffers = new AnswerBuffers();
  const timelineAnswer = (q: TimelineQuery): TimelineLod => {
    const w = answerBuffers.writer();
    const lod = session.timeline(q, w);
    w.done();
    return lod;
  };
  const notifier = new Notifier(
    () => session.version,
    deps.notifyIntervalMs,
    deps.timers,
    () => windowEdge(session),
    undefined,
    {
      answer: timelineAnswer,
      // A buffer listed twice makes postMessage throw (DataCloneError): list each once.
      transfer: (n, lod) => transfer(n, [...new Set(lodTransferables(lod))]),
    },
  );
  session.onChange = () => notifier.data();
  let feed: LiveFeed | undefined;

  const answer = <T>(data: T, buffers: ArrayBuffer[] = []): Answer<T> => {
    const a = {version: session.version, data};
    // A buffer listed twice makes postMessage throw (DataCloneError): list each once.
    return buffers.length > 0 ? transfer(a, [...new Set(buffers)]) : a;
  };

  return {
    /** Connect to a Ringside server (`http://h:p/` as `serve` prints it, or `ws://h:p/ws`). */
    connect(url: string, token: string, options: ConnectOptions = {}): void {
      const WS = deps.WebSocket ?? (globalThis as {WebSocket?: WebSocketConstructor}).WebSocket;
      if (!WS) throw new Error('no WebSocket in this environment');
      feed?.stop();
      session.reset();
      feed = new LiveFeed(session, {
        url,
        token,
        WebSocket: WS,
        onState: (state, detail) => notifier.connection(state, detail),
        onStats: () => notifier.stats(),
        onHello: (hello, same) => notifier.hello(hello, same),
        onNotice: (n) => notifier.notice(n),
        ...options,
      });
      feed.start();
    },

    disconnect(): void {
      feed?.stop();
      feed = undefined;
    },

    /**
     * Send a CONTROL request (`{action, args}`; see HELLO `server.controlActions`). Returns the
     * request id, or undefined when not connected; the answer is a pushed 'notice'
     * (control-ok / -denied / -failed, message `#id action: reason`).
     */
    control(req: ControlRequest): string | undefined {
      return feed?.control(req);
    },

    /** The server's HELLO of the current connection (undefined before / without one). */
    hello(): Answer<HelloInfo | undefined> {
      return answer(feed?.hello);
    },

    /** Connection state, HELLO, server STATS and the reader loop's loss figures. */
    connection(): Answer<ConnectionInfo> {
      return answer({
        state: feed?.state ?? 'closed',
        hello: feed?.hello,
        serverStats: feed?.serverStats,
        tracingOn: feed?.tracingOn,
        loss: feed?.loss() ?? [],
        decodeErrors: feed?.decodeErrors ?? 0,
      });
    },

    /** Load a trace without a server (tests, files): metadata, then pages, then `end`. */
    loadMetadata(meta: TraceMetadata): number {
      session.setMetadata(meta);
      return session.version;
    },
    feedPages(pages: DecodedPage[], end = false): number {
      for (const p of pages) session.handlePage(p);
      if (end) session.flush();
      return session.version;
    },

    /** Bound the window (bytes); evicts at once if over. Returns the new data version. */
    setMemoryCap(bytes: number): number {
      session.setMemoryCap(bytes);
      return session.version;
    },

    timeline(q: TimelineQuery): Answer<TimelineLod> {
      const lod = timelineAnswer(q);
      return answer(lod, lodTransferables(lod));
    },

    /**
     * Buffers of timeline answers the page no longer uses (transferred back): the next answers
     * are written into them instead of fresh memory (answer-buffers.ts).
     */
    recycle(buffers: ArrayBuffer[]): void {
      answerBuffers.recycle(buffers);
    },

    /** Timeline answer buffers: pooled now, reused and made so far (tests, diagnostics). */
    answerBufferStats(): {pooled: number; reused: number; made: number} {
      return {pooled: answerBuffers.pooled, reused: answerBuffers.reused, made: answerBuffers.made};
    },

    events(q: EventListQuery): Answer<EventListPage> {
      const page = session.eventPage(q);
      return answer(page, buffersOf(Object.values(page.rows)));
    },

    eventDetail(ref: EventRef): Answer<EventDetail | undefined> {
      return answer(session.eventDetail(ref));
    },

    sched(): Answer<SchedData> {
      const d = session.schedData();
      const bufs = buffersOf(Object.values(d.tasks));
      for (const c of d.cpus)
        bufs.push(...buffersOf([...Object.values(c.slices), ...Object.values(c.histogram)]));
      return answer(d, bufs);
    },

    /** META statistics per CPU; `lastRows`: only the newest rows of each series. */
    stats(q: {lastRows?: number} = {}): Answer<CpuStats[]> {
      const d = session.statsData(q.lastRows);
      return answer(d, buffersOf(d.flatMap((c) => Object.values(c.series))));
    },

    summary(): Answer<WindowSummary> {
      return answer(session.summary());
    },

    eventCounts(): Answer<EventCounts> {
      const d = session.eventCounts();
      return answer(d, buffersOf(d.cpus.map((c) => c.counts)));
    },

    /** Push notifications; pass a comlink `proxy(cb)`. Returns an id for `unsubscribe`. */
    subscribe(cb: Listener): number {
      return notifier.subscribe(cb);
    },

    unsubscribe(id: number): void {
      notifier.unsubscribe(id);
    },

    /**
     * The subscriber `id` follows `view` (null: no longer): each 'edge' it gets then carries
     * the view's timeline columns at that edge (notifier.ts), the next one only after
     * `followDone(id)`.
     */
    follow(id: number, view: FollowView | null): void {
      notifier.follow(id, view);
    },

    /** The subscriber used or dropped the columns of its last 'edge'. */
    followDone(id: number): void {
      notifier.followDone(id);
    },
  };
}

export type WorkerApi = ReturnType<typeof createWorkerApi>;
