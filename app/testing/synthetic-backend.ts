/**
 * A DashboardBackend over synthetic in-memory columns (track-builder's `syntheticTrack`), for
 * the perf bench: it isolates the main-thread cost of pan/zoom (store → scheduler → draw) from
 * the network and the worker. Not used by the shipped page or by any correctness test.
 */
import type {
  DashboardBackend,
  EventPage,
  EventRow,
  StatsSnapshot,
  TaskSummary,
} from '../data/backend.ts';
import type {TimelineTrack, Viewport} from '../model/types.ts';
import type {CpuStatsView} from '../store/stats-slice.ts';
import {lowerBound} from '../render/time-scale.ts';
import {syntheticTrack} from './track-builder.ts';

function sliceTrack(t: TimelineTrack, r: Viewport): TimelineTrack {
  const e0 = lowerBound(t.events.tsNs, t.events.length, r.startNs);
  const e1 = lowerBound(t.events.tsNs, t.events.length, r.endNs);
  const s0 = lowerBound(t.slices.endNs, t.slices.length, r.startNs);
  const s1 = lowerBound(t.slices.startNs, t.slices.length, r.endNs);
  return {
    ...t,
    events: {
      length: e1 - e0,
      tsNs: t.events.tsNs.subarray(e0, e1),
      type: t.events.type.subarray(e0, e1),
      id: t.events.id.subarray(e0, e1),
    },
    slices: {
      length: Math.max(0, s1 - s0),
      startNs: t.slices.startNs.subarray(s0, s1),
      endNs: t.slices.endNs.subarray(s0, s1),
      pid: t.slices.pid.subarray(s0, s1),
    },
  };
}

/** Statistics of a CPU with nothing lost and nothing unread; `over` sets the rest. */
export function quietCpuStats(cpu: number, over: Partial<CpuStatsView> = {}): CpuStatsView {
  return {
    cpu,
    entries: 10,
    overrun: 0,
    read: 10,
    unread: 0,
    readerId: 1,
    readerRead: 0,
    subbufSize: 4096,
    nrSubbufs: 8,
    fill: 0,
    eventsPerSec: 0,
    swapsPerSec: 0,
    eventsPerSecHistory: [],
    swapsPerSecHistory: [],
    kernelLostEvents: 0,
    derivedLostSubbufs: 0,
    deliveryGaps: 0,
    evicted: 0,
    ring: {nrSubbufs: 8, readerId: 1, readerFill: 0, recentSwaps: [], lostIds: []},
    ...over,
  };
}

export function createSyntheticBackend(
  nCpus: number,
  eventsPerCpu: number,
  spanNs: number,
): DashboardBackend & {tracks: TimelineTrack[]} {
  const tracks = Array.from({length: nCpus}, (_, cpu) =>
    syntheticTrack(cpu, eventsPerCpu, spanNs, 42),
  );
  const cpuStats = (): CpuStatsView[] =>
    tracks.map((t) => quietCpuStats(t.cpu, {entries: t.events.length, read: t.events.length}));
  const row = (t: TimelineTrack, i: number): EventRow => ({
    id: t.events.id[i],
    cpu: t.cpu,
    tsNs: t.events.tsNs[i],
    name: t.typeNames[t.events.type[i]],
    pid: 1000,
    comm: 'synthetic',
    info: '',
  });
  return {
    tracks,
    async connect() {},
    async subscribe(on) {
      on({
        kind: 'open',
        source: {
          kind: 'sim',
          cpus: tracks.map((t) => t.cpu),
          subbufSize: 4096,
          nrSubbufs: 8,
          traceClock: 'local',
          controlAllowed: false,
        },
      });
      on({kind: 'data', dataVersion: 1});
      return () => {};
    },
    async stats(): Promise<StatsSnapshot> {
      return {
        dataVersion: 1,
        cpuStats: cpuStats(),
        window: {events: nCpus * eventsPerCpu, bytes: 0, spanNs, capacityBytes: 0},
        dataRange: {startNs: 0, endNs: spanNs},
      };
    },
    async timeline(cpu, range) {
      return sliceTrack(tracks[cpu], range);
    },
    async events(q): Promise<EventPage> {
      const t = tracks[0];
      const n = t.events.length;
      const off = q.offset < 0 ? Math.max(0, n + q.offset) : q.offset;
      const rows: EventRow[] = [];
      for (let i = off; i < Math.min(n, off + q.limit); i++) rows.push(row(t, i));
      return {dataVersion: 1, total: n, offset: off, rows};
    },
    async eventIndexAt(_f, tsNs) {
      return lowerBound(tracks[0].events.tsNs, tracks[0].events.length, tsNs);
    },
    async eventDetail() {
      return null;
    },
    async tasks(): Promise<TaskSummary> {
      return {tasks: [], histograms: [], bucketLowNs: []};
    },
    async eventNames() {
      return tracks[0].typeNames.slice();
    },
  };
}
