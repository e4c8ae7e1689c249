/**
 * DashboardBackend over the comlink-wrapped worker (worker/api.ts). The one place that knows the
 * worker's answer shapes: it maps them to the app's (model/types.ts, store slices), keeps the
 * little history the dashboard derives (recent reader swaps for the ring animation, pid → comm),
 * and turns connection notifications into the problems the page explains.
 *
 * Imports only types from worker/ (the worker runs in its own thread; see worker-bridge.ts).
 */
import {proxy, type Remote} from 'comlink';
import type {
  CpuStats,
  EventFilter,
  EventListPage,
  Notification,
  TimelineLod,
  WindowSummary,
  WorkerApi,
} from '../../worker/api.ts';
import type {TimelineTrack, Viewport} from '../model/types.ts';
import type {Problem, SourceInfo, SourceKindName} from '../store/connection-slice.ts';
import type {EventFilters} from '../store/filter-slice.ts';
import type {CpuStatsView} from '../store/stats-slice.ts';
import type {
  BackendNotice,
  DashboardBackend,
  EventDetail,
  EventPage,
  EventQuery,
  EventRow,
  StatsSnapshot,
  TaskSummary,
} from './backend.ts';
import {SwapHistory} from './swap-history.ts';

/** Samples of events/s and swaps/s kept for the sparklines (one per META, ~10/s). */
export const SPARK_SAMPLES = 150;

const KINDS: readonly string[] = ['mmap', 'read', 'sim', 'replay'];

/** trace-cmd report line: "comm-pid [cpu] secs: name: info" (comm may hold '-' and spaces). */
const REPORT_LINE = /^\s*(.*)-(-?\d+)\s+\[(\d+)\]\s+(?:\S+\s+)?[\d.]+:\s+([^:\s]+):\s?(.*)$/;

export function splitReportLine(line: string): {comm: string; info: string} | null {
  const m = REPORT_LINE.exec(line);
  return m ? {comm: m[1].trim(), info: m[5]} : null;
}

export function toWorkerFilter(f: EventFilters): EventFilter {
  const out: EventFilter = {};
  if (f.cpus.length) out.cpus = f.cpus;
  if (f.events.length) out.events = f.events;
  const task = f.task.trim();
  if (/^\d+(\s*,\s*\d+)*$/.test(task)) out.pids = task.split(',').map((p) => Number(p.trim()));
  else if (task) out.comm = task;
  if (f.text.trim()) out.text = f.text.trim();
  return out;
}

/** Close details the worker reports ("closed 1008: missing or wrong token") → a problem. */
export function problemFromClose(detail: string): Problem {
  if (/\b1008\b|token/i.test(detail)) {
    return {kind: 'unauthorized', message: `The server refused the token (${detail}).`};
  }
  return {kind: 'server-gone', message: detail || 'the connection closed'};
}

/**
 * Rate of a cumulative counter over the last `windowMs` of samples: steadier than the last
 * per-snapshot rate, which is 0 whenever two META snapshots land between writer bursts.
 */
export function recentRate(
  timeMs: ArrayLike<number>,
  counter: ArrayLike<number>,
  windowMs = 1000,
): number {
  const n = timeMs.length;
  if (n < 2) return 0;
  const tEnd = timeMs[n - 1];
  let j = n - 2;
  while (j > 0 && tEnd - timeMs[j] < windowMs) j--;
  const dt = (tEnd - timeMs[j]) / 1000;
  const dv = counter[n - 1] - counter[j];
  return dt > 0 && dv >= 0 ? dv / dt : 0;
}

function last(a: ArrayLike<number>, n: number): number[] {
  const out: number[] = [];
  for (let i = Math.max(0, a.length - n); i < a.length; i++)
    out.push(Number.isFinite(a[i]) ? a[i] : 0);
  return out;
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
    };
    if (!same || this.phaseClosed) this.emit({kind: 'open', source: this.source});
    this.phaseClosed = false;
  }

  async stats(): Promise<StatsSnapshot> {
    const [st, sum] = await Promise.all([this.api.stats(), this.api.summary()]);
    const byCpu = new Map<number, CpuStats>(st.data.map((c) => [c.cpu, c]));
    const cpus = this.source?.cpus ?? sum.data.cpus.map((c) => c.cpu);
    const nowPerf = performance.now();
    const nowWall = Date.now();
    const cpuStats = cpus.map((cpu) =>
      this.cpuView(cpu, byCpu.get(cpu), sum.data, nowPerf, nowWall),
    );
    return {
      dataVersion: st.version,
      cpuStats,
      window: windowInfo(sum.data),
      dataRange: dataRange(sum.data),
    };
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
        lostIds: this.swaps.lost(cpu),
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

  private toTrack(cpu: number, lod: TimelineLod): TimelineTrack {
    for (const [pid, comm] of lod.comms) this.comms.set(pid, comm);
    this.typeNames = lod.typeNames;
    const t = lod.tracks.find((x) => x.cpu === cpu);
    if (!t) {
      return {
        cpu,
        slices: {
          length: 0,
          startNs: new Float64Array(0),
          endNs: new Float64Array(0),
          pid: new Int32Array(0),
        },
        events: {
          length: 0,
          tsNs: new Float64Array(0),
          type: new Int32Array(0),
          id: new Float64Array(0),
        },
        lost: {length: 0, tsNs: new Float64Array(0), count: new Float64Array(0)},
        swaps: {
          length: 0,
          tsNs: new Float64Array(0),
          subbufId: new Int32Array(0),
          skipped: new Int32Array(0),
        },
        typeNames: lod.typeNames,
        comms: this.comms,
      };
    }
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
    let index = q.offset;
    if (index < 0) {
      // "The last n": ask for the total first (the worker clamps negative indexes to 0).
      const head = await this.api.events({from: {index: 0}, count: 0, filter});
      index = Math.max(0, head.data.total + q.offset);
    }
    const a = await this.api.events({from: {index}, count: q.limit, filter});
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
        comm: this.comms.get(pid) ?? '',
        runningNs: t.runningNs[i],
        runnableNs: t.runnableNs[i],
        wakeups: t.wakeups[i],
        latencyCount: t.latencyCount[i],
        latencyMeanNs: t.latencyCount[i] > 0 ? t.latencySumNs[i] / t.latencyCount[i] : 0,
        latencyMaxNs: t.latencyMaxNs[i],
      });
    }
    return {
      tasks,
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

function maxOf(a: ArrayLike<number>): number {
  let m = -1;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return m;
}

/** Mean of the finite samples of the last second. */
function meanOfRecent(timeMs: ArrayLike<number>, v: ArrayLike<number>, windowMs = 1000): number {
  const n = timeMs.length;
  let sum = 0;
  let k = 0;
  for (let i = n - 1; i >= 0 && timeMs[n - 1] - timeMs[i] <= windowMs; i--) {
    if (Number.isFinite(v[i])) {
      sum += v[i];
      k++;
    }
  }
  return k ? sum / k : 0;
}

function windowInfo(s: WindowSummary) {
  const r = dataRange(s);
  return {
    events: s.events,
    bytes: s.memory.liveBytes,
    spanNs: r ? r.endNs - r.startNs : 0,
    capacityBytes: s.memory.capBytes,
  };
}

function dataRange(s: WindowSummary): Viewport | null {
  let startNs = Infinity;
  let endNs = -Infinity;
  for (const c of s.cpus) {
    if (c.events <= 0 || !Number.isFinite(c.oldestNs) || !Number.isFinite(c.newestNs)) continue;
    startNs = Math.min(startNs, c.oldestNs);
    endNs = Math.max(endNs, c.newestNs);
  }
  return endNs >= startNs ? {startNs, endNs} : null;
}
