/**
 * Per-CPU statistics as last polled from the worker (small: a few numbers and two short
 * histories per CPU), the window summary, loss totals and the data version that tells canvases
 * their columns changed. Big columns never enter the store.
 */
import type {StateCreator} from 'zustand';
import type {RingState} from '../model/types.ts';
import type {AppState} from '../store.ts';

export interface CpuStatsView {
  cpu: number;
  /** Meta page counters (cumulative since reset); null where the source has no meta page. */
  entries: number | null;
  overrun: number | null;
  /** Overrun already there when the session attached (history, not counted as loss); -1/undefined = unknown. */
  overrunBeforeSession?: number;
  read: number | null;
  /** entries − overrun − read (kernel-abi.md §2.4). */
  unread: number | null;
  readerId: number | null;
  readerRead: number | null;
  subbufSize: number;
  nrSubbufs: number;
  /** Reader sub-buffer fill 0..1. */
  fill: number;
  eventsPerSec: number;
  swapsPerSec: number;
  /** Oldest first; one sample per stats tick. */
  eventsPerSecHistory: number[];
  swapsPerSecHistory: number[];
  /** Kernel loss: events overwritten (Δoverrun and MISSED counts). */
  kernelLostEvents: number;
  /** Sub-buffers skipped, from the ring model: derived, not a kernel counter. */
  derivedLostSubbufs: number;
  /** Delivery gaps: events (or frames) the server dropped for this client. */
  deliveryGaps: number;
  /** Events aged out of the rolling window (not loss). */
  evicted: number;
  ring: RingState;
}

export interface WindowInfo {
  events: number;
  bytes: number;
  spanNs: number;
  /** Configured window bound in bytes, 0 = unknown. */
  capacityBytes: number;
}

export interface LossTotals {
  kernelEvents: number;
  derivedSubbufs: number;
  deliveryGaps: number;
  evicted: number;
}

export interface StatsSlice {
  /** Bumped whenever the worker reports new or evicted data; canvases re-query on change. */
  dataVersion: number;
  /** Per CPU, in CPU order. */
  cpuStats: CpuStatsView[];
  window: WindowInfo;
  loss: LossTotals;
  /** Loss totals when the user last dismissed the banner; the banner shows any increase. */
  lossAcknowledged: LossTotals;
  /** Wall-clock ms of the last stats update (header clock). */
  statsAtMs: number;
  setDataVersion: (v: number) => void;
  setStats: (cpuStats: CpuStatsView[], window: WindowInfo, atMs: number) => void;
  acknowledgeLoss: () => void;
}

export const ZERO_LOSS: LossTotals = {
  kernelEvents: 0,
  derivedSubbufs: 0,
  deliveryGaps: 0,
  evicted: 0,
};

export function sumLoss(stats: readonly CpuStatsView[]): LossTotals {
  const t = {...ZERO_LOSS};
  for (const s of stats) {
    t.kernelEvents += s.kernelLostEvents;
    t.derivedSubbufs += s.derivedLostSubbufs;
    t.deliveryGaps += s.deliveryGaps;
    t.evicted += s.evicted;
  }
  return t;
}

/** True when kernel loss or delivery gaps grew since the last acknowledgement (eviction is not loss). */
export function hasNewLoss(loss: LossTotals, ack: LossTotals): boolean {
  return (
    loss.kernelEvents > ack.kernelEvents ||
    loss.derivedSubbufs > ack.derivedSubbufs ||
    loss.deliveryGaps > ack.deliveryGaps
  );
}

export const createStatsSlice: StateCreator<AppState, [], [], StatsSlice> = (set) => ({
  dataVersion: 0,
  cpuStats: [],
  window: {events: 0, bytes: 0, spanNs: 0, capacityBytes: 0},
  loss: ZERO_LOSS,
  lossAcknowledged: ZERO_LOSS,
  statsAtMs: 0,
  setDataVersion: (dataVersion) => set({dataVersion}),
  setStats: (cpuStats, window, statsAtMs) =>
    set((s) => {
      const loss = sumLoss(cpuStats);
      // Counters going down means a buffer reset: re-base the acknowledgement.
      const reset =
        loss.kernelEvents < s.loss.kernelEvents || loss.deliveryGaps < s.loss.deliveryGaps;
      return {
        cpuStats,
        window,
        statsAtMs,
        loss,
        lossAcknowledged: reset ? loss : s.lossAcknowledged,
      };
    }),
  acknowledgeLoss: () => set((s) => ({lossAcknowledged: s.loss})),
});
