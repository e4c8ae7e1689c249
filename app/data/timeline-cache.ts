/**
 * Per-CPU timeline columns fetched from the backend, kept outside the store (big typed arrays).
 *
 * A fetch covers three viewport spans (one either side) at 6× the canvas width (2 columns per visible pixel), so panning by
 * up to a span and zooming out up to 3× repaint from what is here while the next answer is on
 * its way. One request in flight per CPU; answers older than the newest stored one are dropped
 * (Firefox's position-keyed responses). Listeners (the canvases) are told when columns change.
 */
import type {TimelineTrack, Viewport} from '../model/types.ts';
import type {DashboardBackend} from './backend.ts';

interface Entry {
  track: TimelineTrack;
  range: Viewport;
  /** ns per requested pixel column: the detail the answer was asked for. */
  nsPerCol: number;
  dataVersion: number;
  seq: number;
  fetchedAtMs: number;
}

/** While live data streams in, refetch a view at most this often. */
export const LIVE_REFRESH_MS = 200;
const OVERSCAN = 1;
const DETAIL = 6; // columns per pixel over the overscanned range: 2 per pixel of the view

export class TimelineCache {
  private readonly entries = new Map<number, Entry>();
  private readonly inflight = new Map<number, {seq: number; key: string}>();
  private readonly listeners = new Set<() => void>();
  private seq = 0;
  /** Fetches issued so far (tests and diagnostics). */
  fetches = 0;

  constructor(
    private readonly backend: Pick<DashboardBackend, 'timeline'>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(cpu: number): TimelineTrack | undefined {
    return this.entries.get(cpu)?.track;
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  clear(): void {
    this.entries.clear();
    this.inflight.clear();
    for (const fn of this.listeners) fn();
  }

  /** Does the stored answer serve `vp` at `widthPx` for `dataVersion`? */
  covers(cpu: number, vp: Viewport, widthPx: number, dataVersion: number): boolean {
    const e = this.entries.get(cpu);
    if (!e) return false;
    const nsPerPx = (vp.endNs - vp.startNs) / Math.max(1, widthPx);
    const inRange = e.range.startNs <= vp.startNs && e.range.endNs >= vp.endNs;
    // Zoomed in more than 2× past what we asked for: detail may be missing.
    const detailed = e.nsPerCol <= nsPerPx * 2;
    const fresh = e.dataVersion === dataVersion || this.now() - e.fetchedAtMs < LIVE_REFRESH_MS;
    return inRange && detailed && fresh;
  }

  /** Fetch if the stored answer does not serve this view; returns whether a fetch started. */
  ensure(cpu: number, vp: Viewport, widthPx: number, dataVersion: number): boolean {
    if (widthPx <= 0 || !(vp.endNs > vp.startNs)) return false;
    if (this.covers(cpu, vp, widthPx, dataVersion)) return false;
    if (this.inflight.has(cpu)) return false;
    const span = vp.endNs - vp.startNs;
    const range = {startNs: vp.startNs - span * OVERSCAN, endNs: vp.endNs + span * OVERSCAN};
    const cols = Math.ceil(widthPx * DETAIL);
    const seq = ++this.seq;
    this.inflight.set(cpu, {seq, key: ''});
    this.fetches++;
    this.backend.timeline(cpu, range, cols).then(
      (track) => {
        if (this.inflight.get(cpu)?.seq === seq) this.inflight.delete(cpu);
        const old = this.entries.get(cpu);
        if (old && old.seq > seq) return; // a newer answer is already here
        this.entries.set(cpu, {
          track,
          range,
          nsPerCol: (range.endNs - range.startNs) / cols,
          dataVersion,
          seq,
          fetchedAtMs: this.now(),
        });
        for (const fn of this.listeners) fn();
      },
      (err: unknown) => {
        if (this.inflight.get(cpu)?.seq === seq) this.inflight.delete(cpu);
        console.warn(`ringside: timeline query for cpu ${cpu} failed`, err);
      },
    );
    return true;
  }
}
