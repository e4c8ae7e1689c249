/**
 * DashboardBackend over the comlink-wrapped worker (worker/api.ts). The one place that knows the
 * worker's answer shapes: it maps them to the app's (model/types.ts, store slices), keeps the
 * little history the dashboard derives (recent reader swaps for the ring animation, pid → comm),
 * and turns connection notifications into the problems the page explains.
 *
 * Imports only types from worker/ (the worker runs in its own thread; see worker-bridge.ts).
 */
import {proxy, transfer, type Remote} from 'comlink';
import type {
  CpuStats,
  EventListPage,
  Notification,
  TimelineLod,
  WindowSummary,
  WorkerApi,
} from '../../worker/api.ts';
import {emptyTrack, type TimelineTrack, type Viewport} from '../model/types.ts';
import type {SourceInfo, SourceKindName} from '../store/connection-slice.ts';
import type {EventFilters} from '../store/filter-slice.ts';
import type {CpuStatsView} from '../store/stats-slice.ts';
import type {
  BackendNotice,
  ControlCommand,
  DashboardBackend,
  EventDetail,
  EventPage,
  EventQuery,
  EventRow,
  FollowView,
  PushedTimelines,
  StatsSnapshot,
  TaskSummary,
} from './backend.ts';
import {noticeText} from './notices.ts';
import {SwapHistory} from './swap-history.ts';
import {
  dataRange,
  last,
  maxOf,
  meanOfRecent,
  problemFromClose,
  recentRate,
  splitReportLine,
  toWorkerFilter,
  windowInfo,
} from './worker-answers.ts';

/** Samples of events/s and swaps/s kept for the sparklines (one per META, ~10/s). */
export const SPARK_SAMPLES = 150;
/**
 * Newest META rows asked for per CPU with each stats poll: the sparklines' SPARK_SAMPLES, the
 * last second of rates at up to ~250 reads/s, and the rows since the last poll (SwapHistory)
 * unless the page stalled for seconds. The whole series (4096 rows × 16 columns, 512 KB per
 * CPU) is asked for only while the ring size is unknown (no HELLO), as its fallback is the
 * highest reader id ever seen.
 */
const STATS_ROWS = 512;

const KINDS: readonly string[] = ['mmap', 'read', 'sim', 'replay'];

/** Most lost ids the ring view marks per CPU. */
const LOST_IDS_SHOWN = 64;

/**
 * Sub-buffer ids the ring view marks as lapped: the worker's exact ids (ring model with ids)
 * when it has them for every skip, else the placement derived from the swap order.
 */
function lostIdsOf(c: CpuStats | undefined, derived: number[]): number[] {
  const t = c?.totals;
  if (!t || t.skippedSubbufIdsMissing > 0 || t.skippedSubbufIds.length === 0) return derived;
  const ids: number[] = [];
  for (let i = t.skippedSubbufIds.length - 1; i >= 0 && ids.length < LOST_IDS_SHOWN; i--)
    if (!ids.includes(t.skippedSubbufIds[i])) ids.unshift(t.skippedSubbufIds[i]);
  return ids;
}

export class WorkerBackend implements DashboardBackend {
  private source: SourceInfo | null = null;
  private readonly comms = new Map<number, string>();
  private readonly swaps = new SwapHistory();
  private typeNames: string[] = [];
  private listeners = new Set<(n: BackendNotice) => void>();
  private subscribed: Promise<number> | undefined;

  constructor(private readonly api: Remote<WorkerApi>) {}

  async connect(wsUrl: string, token: string): Promise<void> {
    await this.ensureSubscribed();
    await this.api.connect(wsUrl, token);
  }

  private ensureSubscribed(): Promise<number> {
    this.subscribed ??= this.api.subscribe(proxy((n: Notification) => this.onNotification(n)));
    return this.subscribed;
  }

  async subscribe(on: (n: BackendNotice) => void): Promise<() => void> {
    this.listeners.add(on);
    await this.ensureSubscribed();
    return () => this.listeners.delete(on);
  }

  private emit(n: BackendNotice): void {
    for (const l of this.listeners) l(n);
  }

  /** Set while the socket is down, so the next HELLO re-announces the source. */
  private phaseClosed = false;

  private onNotification(n: Notification): void {
    switch (n.kind) {
      case 'data':
        this.emit({kind: 'data', dataVersion: n.version});
        // HELLO comes after the socket opens: ask until it is there. After a close, only a
        // new 'open' re-announces (a late data notice must not look like a reconnect).
        if (!this.source) void this.describeSource();
        break;
      case 'stats':
        if (!this.source) void this.describeSource();
        break;
      case 'edge':
        this.emit({
          kind: 'edge',
          range: {startNs: n.startNs, endNs: n.endNs},
          sentMs: n.sentMs,
          timelines: n.timeline && this.pushedTimelines(n.endNs, n.version, n.timeline),
        });
        break;
      case 'notice':
        this.emit({
          kind: 'notice',
          notice: n.notice.kind,
          message: n.notice.message,
          text: noticeText(n.notice.kind, n.notice.cpu, n.notice.message),
        });
        break;
      case 'hello':
        // Pushed as soon as HELLO arrives: describe the source without waiting for data.
        void this.describeSource();
        break;
      case 'connection':
        if (n.state === 'open') {
          void this.describeSource();
          return;
        }
        if (n.state === 'connecting') return;
        this.phaseClosed = true;
        if (n.state === 'closed') this.emit({kind: 'closed', problem: problemFromClose(n.detail)});
        else if (n.state === 'reconnecting') {
          this.emit({kind: 'closed', problem: {kind: 'server-gone', message: n.detail}});
        } else this.emit({kind: 'closed', problem: {kind: 'other', message: n.detail}});
        break;
    }
  }

  /** Source description from the worker's HELLO (kind, instance, CPUs, ring geometry, clock). */
  private describing = false;
  private describeAgain = false;
  private async describeSource(): Promise<void> {
    if (this.describing) {
      // A notification arrived mid-way: look again when this round ends, or it may be missed.
      this.describeAgain = true;
      return;
    }
    this.describing = true;
    try {
      do {
        this.describeAgain = false;
        await this.describeOnce();
      } while (this.describeAgain);
    } finally {
      this.describing = false;
    }
  }

  private async describeOnce(): Promise<void> {
    const hello = (await this.api.hello()).data;
    if (!hello) return; // HELLO not here yet: the next notification asks again
    const same =
      this.source &&
      this.source.kind === hello.source &&
      this.source.instance === hello.instance &&
      this.source.cpus.join() === hello.cpus.join();
    this.source = {
      kind: (KINDS.includes(hello.source) ? hello.source : 'unknown') as SourceKindName,
      instance: hello.instance,
      cpus: hello.cpus.slice().sort((a, b) => a - b),
      subbufSize: hello.subbufSize,
      nrSubbufs: hello.nrSubbufs,
      traceClock: hello.traceClock,
      controlAllowed: hello.server.allowControl,
      controlActions: hello.server.controlActions,
      reason: hello.sourceReason,
      reasonCode: hello.sourceReasonCode,
      tracingOn: hello.tracingOn,
    };
    if (!same || this.phaseClosed) this.emit({kind: 'open', source: this.source});
    this.phaseClosed = false;
  }

  async control(cmd: ControlCommand): Promise<string | undefined> {
    return this.api.control({action: cmd.action, args: cmd.args});
  }

  async stats(): Promise<StatsSnapshot> {
    const [st, sum, conn] = await Promise.all([
      this.api.stats(this.source?.nrSubbufs ? {lastRows: STATS_ROWS} : {}),
      this.api.summary(),
      this.api.connection(),
    ]);
    const byCpu = new Map<number, CpuStats>(st.data.map((c) => [c.cpu, c]));
    const before = new Map(conn.data.loss.map((l) => [l.cpu, l.overrunBeforeSession]));
    const cpus = this.source?.cpus ?? sum.data.cpus.map((c) => c.cpu);
    const nowPerf = performance.now();
    const nowWall = Date.now();
    const cpuStats = cpus.map((cpu) => ({
      ...this.cpuView(cpu, byCpu.get(cpu), sum.data, nowPerf, nowWall),
      overrunBeforeSession: before.get(cpu) ?? -1,
    }));
    return {
      dataVersion: st.version,
      cpuStats,
      window: windowInfo(sum.data),
      dataRange: dataRange(sum.data),
    };
  }

  async edge(): Promise<Viewport | null> {
    return dataRange((await this.api.summary()).data);
  }

  private cpuView(
    cpu: number,
    c: CpuStats | undefined,
    sum: WindowSummary,
    nowPerf: number,
    nowWall: number,
  ): CpuStatsView {
    const s = c?.series;
    const n = s?.length ?? 0;
    const at = <K extends keyof NonNullable<typeof s>>(k: K): number | null =>
      s && n > 0 ? Number((s[k] as ArrayLike<number>)[n - 1]) : null;
    const subbufSize = this.source?.subbufSize ?? 0;
    const nrSubbufs = this.source?.nrSubbufs ?? 0;
    if (s && n > 0) this.swaps.update(cpu, s.timeMs, s.readerId, nowPerf - nowWall);
    const readerId = at('readerId');
    const readerRead = at('readerRead');
    const evicted =
      sum.cpus.find((x) => x.cpu === cpu)?.evicted.events ?? c?.totals.evictedEvents ?? 0;
    const eventsPerSec =
      s && n > 1 ? recentRate(s.timeMs, s.entries) : (at('deliveredEventsPerSec') ?? 0);
    const swapsPerSec = s && n > 1 ? meanOfRecent(s.timeMs, s.swapsPerSec) : 0;
    // Without HELLO (see worker-backend request in the report) the ring size is unknown: show
    // the ids seen so far, which covers the whole ring once the reader has gone round once.
    const ringSize = nrSubbufs > 0 ? nrSubbufs : s && n > 0 ? maxOf(s.readerId) + 1 : 0;
    return {
      cpu,
      entries: at('entries'),
      overrun: at('overrun'),
      read: at('read'),
      unread: at('unread'),
      readerId,
      readerRead,
      subbufSize,
      nrSubbufs,
      fill: Math.max(0, Math.min(1, at('fill') ?? 0)) || 0,
      eventsPerSec,
      swapsPerSec,
      eventsPerSecHistory: s ? last(s.eventsPerSec, SPARK_SAMPLES) : [],
      swapsPerSecHistory: s ? last(s.swapsPerSec, SPARK_SAMPLES) : [],
      kernelLostEvents: c?.totals.kernelLostEvents ?? 0,
      derivedLostSubbufs: c?.totals.skippedSubbufs ?? 0,
      deliveryGaps: c?.totals.deliveryGapSlices ?? 0,
      evicted,
      ring: {
        nrSubbufs: ringSize,
        readerId: readerId ?? -1,
        readerFill: subbufSize > 0 && readerRead !== null ? readerRead / subbufSize : 0,
        recentSwaps: this.swaps.recent(cpu),
        lostIds: lostIdsOf(c, this.swaps.lost(cpu)),
      },
    };
  }

  follow(view: FollowView | null): void {
    void this.ensureSubscribed().then((id) => this.api.follow(id, view));
  }

  recycle(buffers: ArrayBuffer[]): void {
    // The worker keeps what is worth pooling (answer-buffers.ts) and lets the rest go.
    if (buffers.length > 0) void this.api.recycle(transfer(buffers, buffers));
  }

  /** Followed columns pushed with an 'edge', in the app's shape; `done` lets the next one go. */
  private pushedTimelines(
    edgeNs: number,
    version: number,
    t: NonNullable<Extract<Notification, {kind: 'edge'}>['timeline']>,
  ): PushedTimelines {
    let acked = false;
    const cpus = t.query.cpus ?? t.lod.tracks.map((x) => x.cpu);
    return {
      range: {startNs: t.query.startNs, endNs: t.query.endNs},
      cols: t.query.widthPx,
      edgeNs,
      dataVersion: version,
      cpus,
      tracks: cpus.map((cpu) => this.toTrack(cpu, t.lod)),
      done: () => {
        if (acked) return;
        acked = true;
        void this.ensureSubscribed().then((id) => this.api.followDone(id));
      },
    };
  }

  async timeline(cpu: number, range: Viewport, widthPx: number): Promise<TimelineTrack> {
    const a = await this.api.timeline({
      startNs: range.startNs,
      endNs: range.endNs,
      widthPx,
      cpus: [cpu],
    });
    return this.toTrack(cpu, a.data);
  }

  async timelines(cpus: number[], range: Viewport, widthPx: number): Promise<TimelineTrack[]> {
    const a = await this.api.timeline({
      startNs: range.startNs,
      endNs: range.endNs,
      widthPx,
      cpus,
    });
    return cpus.map((cpu) => this.toTrack(cpu, a.data));
  }

  private toTrack(cpu: number, lod: TimelineLod): TimelineTrack {
    for (const [pid, comm] of lod.comms) this.comms.set(pid, comm);
    this.typeNames = lod.typeNames;
    const t = lod.tracks.find((x) => x.cpu === cpu);
    if (!t) return {...emptyTrack(cpu), typeNames: lod.typeNames, comms: this.comms};
    this.swaps.noteSkips(cpu, t.swaps.subbufId, t.swaps.skipped, t.swaps.length);
    return {
      cpu,
      slices: t.slices,
      events: t.events,
      lost: t.lost,
      swaps: t.swaps,
      typeNames: lod.typeNames,
      comms: this.comms,
    };
  }

  private rowsOf(p: EventListPage): EventRow[] {
    const rows: EventRow[] = [];
    const r = p.rows;
    for (let i = 0; i < r.length; i++) {
      const name = p.typeNames[r.type[i]] ?? '?';
      const line = r.line[i] ?? '';
      const parts = splitReportLine(line);
      rows.push({
        id: r.id[i],
        cpu: r.cpu[i],
        tsNs: r.tsNs[i],
        name,
        pid: r.pid[i],
        comm: parts?.comm ?? this.comms.get(r.pid[i]) ?? '',
        info: parts ? parts.info : line,
      });
    }
    return rows;
  }

  async events(q: EventQuery): Promise<EventPage> {
    const filter = toWorkerFilter(q.filters);
    // A negative offset is "the last n": the worker counts it from the end, in the same call.
    const a = await this.api.events({from: {index: q.offset}, count: q.limit, filter});
    return {
      dataVersion: a.version,
      total: a.data.total,
      offset: a.data.firstIndex,
      rows: this.rowsOf(a.data),
      complete: a.data.complete,
    };
  }

  async eventIndexAt(filters: EventFilters, tsNs: number): Promise<number> {
    const a = await this.api.events({from: {tsNs}, count: 0, filter: toWorkerFilter(filters)});
    return a.data.firstIndex;
  }

  async eventDetail(id: number): Promise<EventDetail | null> {
    const d = (await this.api.eventDetail(id)).data;
    if (!d) return null;
    const parts = splitReportLine(d.line);
    return {
      id: d.id,
      cpu: d.cpu,
      tsNs: d.tsNs,
      name: d.name,
      pid: d.pid,
      comm: d.comm,
      info: parts?.info ?? d.line,
      fields: d.fields,
      line: d.line,
    };
  }

  async tasks(): Promise<TaskSummary> {
    const d = (await this.api.sched()).data;
    const t = d.tasks;
    const tasks = [];
    for (let i = 0; i < t.length; i++) {
      const pid = t.pid[i];
      if (pid === 0) continue;
      tasks.push({
        pid,
        comm: t.comm[i] || (this.comms.get(pid) ?? ''),
        runningNs: t.runningNs[i],
        runnableNs: t.runnableNs[i],
        wakeups: t.wakeups[i],
        latencyCount: t.latencyCount[i],
        latencyMeanNs: t.latencyCount[i] > 0 ? t.latencySumNs[i] / t.latencyCount[i] : 0,
        latencyMaxNs: t.latencyMaxNs[i],
        latencyCounts: Array.from(t.latencyHistograms.subarray(i * t.buckets, (i + 1) * t.buckets)),
      });
    }
    return {
      tasks,
      bucketLowNs: Array.from(t.bucketLowNs),
      histograms: d.cpus.map((c) => ({
        cpu: c.cpu,
        bucketLowNs: Array.from(c.histogram.bucketLowNs),
        counts: Array.from(c.histogram.counts),
      })),
    };
  }

  async eventNames(): Promise<string[]> {
    const names = (await this.api.eventCounts()).data.typeNames;
    return names.length ? names.slice().sort() : this.typeNames.slice().sort();
  }
}
