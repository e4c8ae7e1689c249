/**
 * Builds `TimelineTrack` columns from short literal lists (tests) or from a seeded generator
 * (dense tests and the perf bench), in the spirit of Firefox's `getProfileFromTextSamples`.
 */
import {emptyTrack, type TimelineTrack} from '../model/types.ts';
import {seededRandom} from '../../core/seeded-random.ts';

export interface TrackSpec {
  cpu?: number;
  /** [startNs, endNs, pid] */
  slices?: [number, number, number][];
  /** [tsNs, typeIndex, id] */
  events?: [number, number, number][];
  /** [tsNs, count] */
  lost?: [number, number][];
  /** [tsNs, subbufId, skipped] */
  swaps?: [number, number, number][];
  typeNames?: string[];
  comms?: [number, string][];
}

export function buildTrack(spec: TrackSpec): TimelineTrack {
  const sl = spec.slices ?? [];
  const ev = spec.events ?? [];
  const lo = spec.lost ?? [];
  const sw = spec.swaps ?? [];
  return {
    cpu: spec.cpu ?? 0,
    slices: {
      length: sl.length,
      startNs: Float64Array.from(sl, (s) => s[0]),
      endNs: Float64Array.from(sl, (s) => s[1]),
      pid: Int32Array.from(sl, (s) => s[2]),
    },
    events: {
      length: ev.length,
      tsNs: Float64Array.from(ev, (e) => e[0]),
      type: Int32Array.from(ev, (e) => e[1]),
      id: Float64Array.from(ev, (e) => e[2]),
    },
    lost: {
      length: lo.length,
      tsNs: Float64Array.from(lo, (l) => l[0]),
      count: Float64Array.from(lo, (l) => l[1]),
    },
    swaps: {
      length: sw.length,
      tsNs: Float64Array.from(sw, (s) => s[0]),
      subbufId: Int32Array.from(sw, (s) => s[1]),
      skipped: Int32Array.from(sw, (s) => s[2]),
    },
    typeNames: spec.typeNames ?? ['sched_switch', 'sched_wakeup', 'irq_handler_entry', 'print'],
    comms: new Map(spec.comms ?? []),
  };
}

/**
 * `nEvents` events over `spanNs`, with a sched_switch every ~8 events cutting task slices:
 * the shape of a busy CPU. Deterministic for a given seed.
 */
export function syntheticTrack(
  cpu: number,
  nEvents: number,
  spanNs: number,
  seed = 1,
): TimelineTrack {
  const rnd = seededRandom(seed + cpu * 7919);
  const tsNs = new Float64Array(nEvents);
  const type = new Int32Array(nEvents);
  const id = new Float64Array(nEvents);
  const step = spanNs / nEvents;
  const nSlices = Math.ceil(nEvents / 8) + 1;
  const startNs = new Float64Array(nSlices);
  const endNs = new Float64Array(nSlices);
  const pid = new Int32Array(nSlices);
  let s = 0;
  let t = 0;
  startNs[0] = 0;
  pid[0] = 1000 + Math.floor(rnd() * 40);
  for (let i = 0; i < nEvents; i++) {
    t += step * (0.5 + rnd());
    tsNs[i] = t;
    id[i] = cpu * 1e9 + i;
    const r = rnd();
    if (r < 0.125) {
      type[i] = 0; // sched_switch ends the running slice
      endNs[s] = t;
      s++;
      startNs[s] = t;
      pid[s] = rnd() < 0.2 ? 0 : 1000 + Math.floor(rnd() * 40);
    } else {
      type[i] = r < 0.5 ? 1 : r < 0.8 ? 2 : 3;
    }
  }
  endNs[s] = t;
  const n = s + 1;
  return {
    ...emptyTrack(cpu), // no loss or swap marks, no comms
    slices: {length: n, startNs, endNs, pid},
    events: {length: nEvents, tsNs, type, id},
    typeNames: ['sched_switch', 'sched_wakeup', 'irq_handler_entry', 'sys_enter'],
  };
}
