/**
 * What the dashboard needs from its data side, in the app's own shapes. `worker-bridge.ts`
 * implements it over the comlink-wrapped worker (adapting the worker's answers in one place);
 * the perf bench implements it over synthetic columns. Components never see the worker API.
 */
import type {TimelineTrack, Viewport} from '../model/types.ts';
import type {Problem, SourceInfo} from '../store/connection-slice.ts';
import type {EventFilters} from '../store/filter-slice.ts';
import type {CpuStatsView, WindowInfo} from '../store/stats-slice.ts';

export type BackendNotice =
  | {kind: 'open'; source: SourceInfo}
  | {kind: 'data'; dataVersion: number}
  /**
   * The newest data moved (about once a frame while data flows): the window's new range.
   * `sentMs`: when the backend sent it (wall ms), where it knows (paint-probe.ts).
   */
  | {kind: 'edge'; range: Viewport; sentMs?: number; timelines?: PushedTimelines}
  | {kind: 'closed'; problem: Problem}
  /** `notice`/`message`: the server's NOTICE kind (tracing-off, control-ok, …) and raw message. */
  | {kind: 'notice'; text: string; notice?: string; message?: string};

/**
 * The followed view's shape (timeline-cache.ts): for an edge at E, the columns of `cpus` over
 * [E − beforeNs, E + afterNs] at `cols` columns. A backend told it (`follow`) sends them with
 * each 'edge'.
 */
export interface FollowView {
  cpus: number[];
  beforeNs: number;
  afterNs: number;
  cols: number;
}

/** Timeline columns that came with an 'edge' for the followed view. */
export interface PushedTimelines {
  /** The range and detail they answer, and the edge (newest timestamp) they were made at. */
  range: Viewport;
  cols: number;
  edgeNs: number;
  dataVersion: number;
  cpus: number[];
  tracks: TimelineTrack[];
  /**
   * Call once the columns were used or dropped: the backend sends the next followed columns
   * only then (one set in flight, so a page that draws slowly is not sent columns to discard).
   */
  done(): void;
}

/** What a control button sends: an action the server lists in HELLO, with its arguments. */
export interface ControlCommand {
  action: string;
  args?: Record<string, unknown>;
}

export interface StatsSnapshot {
  dataVersion: number;
  cpuStats: CpuStatsView[];
  window: WindowInfo;
  /** Oldest/newest timestamps in the window; null before any event. */
  dataRange: Viewport | null;
}

export interface EventRow {
  id: number;
  cpu: number;
  tsNs: number;
  name: string;
  pid: number;
  comm: string;
  /** The event's own text (print fmt rendered), without the common prefix. */
  info: string;
}

export interface EventPage {
  dataVersion: number;
  /** Events matching the filters in the whole window. */
  total: number;
  /** Index (within the matching events) of rows[0]. */
  offset: number;
  rows: EventRow[];
  /** False while the worker is still matching a text filter: ask again. */
  complete?: boolean;
}

export interface EventQuery {
  filters: EventFilters;
  /** Index within the matching events; negative counts from the end (-n = the last n). */
  offset: number;
  limit: number;
}

export interface EventDetail extends EventRow {
  /** Every field of the record, common_* included, as name → printed value. */
  fields: [string, string][];
  /** The line `trace-cmd report` would print for it. */
  line: string;
}

export interface TaskRow {
  pid: number;
  comm: string;
  runningNs: number;
  runnableNs: number;
  wakeups: number;
  /** Wakeup latency (wakeup → running) over the window. */
  latencyCount: number;
  latencyMeanNs: number;
  latencyMaxNs: number;
  /** This task's wakeup-latency histogram, bucket k over `TaskSummary.bucketLowNs[k]`. */
  latencyCounts: number[];
}

/** Log2 wakeup-latency histogram of one CPU: bucket k counts latencies in [lowNs[k], lowNs[k+1]). */
export interface LatencyHistogram {
  cpu: number;
  bucketLowNs: number[];
  counts: number[];
}

export interface TaskSummary {
  tasks: TaskRow[];
  histograms: LatencyHistogram[];
  /** Lower bounds of the latency buckets shared by every histogram here. */
  bucketLowNs: number[];
}

export interface DashboardBackend {
  /** Open the server's WebSocket. Rejects (or reports 'closed') on a wrong token. */
  connect(wsUrl: string, token: string): Promise<void>;
  /** Push notifications; returns an unsubscribe function. */
  subscribe(onNotice: (n: BackendNotice) => void): Promise<() => void>;
  stats(): Promise<StatsSnapshot>;
  /**
   * Optional: only the newest data range (cheap), asked every animation frame while the
   * timelines follow live data (controller.ts). Without it the view moves with `stats()`.
   */
  edge?(): Promise<Viewport | null>;
  /** Columns for one CPU covering `range`, at about `widthPx` columns of detail. */
  timeline(cpu: number, range: Viewport, widthPx: number): Promise<TimelineTrack>;
  /**
   * Optional: the same for several CPUs in one query (tracks in `cpus` order). The timeline
   * cache gathers the CPUs asking for one range in a task into one call (timeline-cache.ts).
   */
  timelines?(cpus: number[], range: Viewport, widthPx: number): Promise<TimelineTrack[]>;
  /**
   * Optional: the view the timelines follow (null: none). The backend then sends that view's
   * columns with each 'edge' (`timelines`), so a slide needs no question.
   */
  follow?(view: FollowView | null): void;
  /**
   * Optional: the page no longer uses these buffers of timeline answers (every track that
   * viewed them was replaced or dropped); the backend may write later answers into them.
   * Called with each buffer once, after which its views here are detached.
   */
  recycle?(buffers: ArrayBuffer[]): void;
  events(query: EventQuery): Promise<EventPage>;
  /** Index of the event (within the matching events) at or after `tsNs`; for scroll-to. */
  eventIndexAt(filters: EventFilters, tsNs: number): Promise<number>;
  eventDetail(id: number): Promise<EventDetail | null>;
  /** Per-task scheduling totals over the window, and per-CPU wakeup latency histograms. */
  tasks(): Promise<TaskSummary>;
  /** Names of every event type seen, for the filter menu. */
  eventNames(): Promise<string[]>;
  /**
   * Optional server control (only when SourceInfo.controlAllowed). Resolves to the request id
   * (undefined when not connected); the answer comes back as a 'notice'.
   */
  control?(cmd: ControlCommand): Promise<string | undefined>;
}
