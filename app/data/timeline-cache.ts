/**
 * Per-CPU timeline columns fetched from the backend, kept outside the store (big typed arrays).
 *
 * A fetch covers three viewport spans (one either side) at 6× the canvas width (2 columns per visible pixel), so panning by
 * up to a span and zooming out up to 3× repaint from what is here while the next answer is on
 * its way. One request in flight per CPU; answers older than the newest stored one are dropped
 * (Firefox's position-keyed responses). Listeners (the canvases) are told when columns change.
 *
 * A followed view slides about once a frame, and every canvas asks for its CPU in the same store
 * update. A backend that can push a followed view's columns (`follow`) is told the view's shape
 * while the timelines follow, and its columns come with each 'edge' (`accept`, from
 * live-edge.ts), so a slide asks nothing. Otherwise, with a backend that answers several CPUs
 * at once (`timelines`), those asks are gathered until the end of the current task and sent as
 * one query per range: one message each way per slide instead of one per CPU (comlink's
 * postMessage was the page's largest self cost while following 100k events/s), and one
 * listener round per answer.
 *
 * Memory: a backend that can reuse an answer's buffers (`recycle`, the worker: its answers are
 * written into pooled buffers, worker/answer-buffers.ts) gets each one back once no stored
 * track views it: its track was replaced or dropped, or it was never kept (an older answer, a
 * push not shown). One answer's tracks (several CPUs) share a buffer, so buffers are counted
 * per track that views them, and handed back at the end of the task, when every track of the
 * answer has been kept or not. Canvases read tracks only through `get`, during a draw or a
 * pointer event, so no view of a handed-back buffer is read again.
 */
import type {TimelineTrack, Viewport} from '../model/types.ts';
import type {DashboardBackend, FollowView, PushedTimelines} from './backend.ts';

interface Entry {
  track: TimelineTrack;
  range: Viewport;
  /** ns per requested pixel column: the detail the answer was asked for. */
  nsPerCol: number;
  dataVersion: number;
  /** The view's end when this answer was asked for (while following: the newest data then). */
  askedEndNs: number;
  seq: number;
  fetchedAtMs: number;
}

/** While live data streams in, refetch a view at most this often. */
export const LIVE_REFRESH_MS = 200;
const OVERSCAN = 1;
const DETAIL = 6; // columns per pixel over the overscanned range: 2 per pixel of the view
/**
 * While following, the view only slides right and every new event means a refetch, so the
 * answer covers the view plus a tenth either side (at the same 2 columns per pixel) instead of
 * three spans: a third of the worker's work per frame.
 */
const FOLLOW_OVERSCAN = 0.1;

/** Columns asked for a followed view `widthPx` wide (same detail per pixel as any view). */
function followCols(widthPx: number): number {
  return Math.ceil(widthPx * (DETAIL / (1 + 2 * OVERSCAN)) * (1 + 2 * FOLLOW_OVERSCAN));
}

export class TimelineCache {
  private readonly entries = new Map<number, Entry>();
  private readonly inflight = new Map<number, {seq: number; key: string}>();
  private readonly listeners = new Set<() => void>();
  /** Per CPU: the newest view refused because a fetch was in flight. */
  private readonly wanted = new Map<
    number,
    {vp: Viewport; widthPx: number; dataVersion: number; following: boolean}
  >();
  private seq = 0;
  /** Asks gathered in this task (batching backends only), sent in one microtask. */
  private batch: {
    cpu: number;
    seq: number;
    range: Viewport;
    cols: number;
    vp: Viewport;
    dataVersion: number;
  }[] = [];
  /** Fetches issued so far (tests and diagnostics). */
  fetches = 0;
  /** Pushed answers kept so far (tests and diagnostics). */
  accepted = 0;
  /** The followed view: the CPUs that asked while following, the view wanted, the one told. */
  private readonly followCpus = new Set<number>();
  private followWant: FollowView | null = null;
  private followSent: FollowView | null = null;
  private followQueued = false;
  /** A look again at answers kept only for their age (see recheckWhenStale). */
  private recheck: unknown;
  /** Per answer buffer, how many stored tracks view it. */
  private readonly holders = new Map<ArrayBuffer, number>();
  /** Buffers that may have lost their last holder in this task (handed back in a microtask). */
  private released = new Set<ArrayBuffer>();
  /** Buffers handed back so far (tests and diagnostics). */
  recycled = 0;

  constructor(
    private readonly backend: Pick<
      DashboardBackend,
      'timeline' | 'timelines' | 'follow' | 'recycle'
    >,
    private readonly now: () => number = () => performance.now(),
    private readonly later: (cb: () => void, ms: number) => unknown = (cb, ms) =>
      setTimeout(cb, ms),
  ) {}

  get(cpu: number): TimelineTrack | undefined {
    return this.entries.get(cpu)?.track;
  }

  /** Is an answer for `cpu` on its way? */
  pending(cpu: number): boolean {
    return this.inflight.has(cpu);
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  clear(): void {
    this.followCpus.clear();
    this.followWant = null;
    if (this.followSent) this.backend.follow?.((this.followSent = null));
    for (const e of this.entries.values()) this.release(e.track);
    this.entries.clear();
    this.inflight.clear();
    this.wanted.clear();
    for (const fn of this.listeners) fn();
  }

  /**
   * Does the stored answer serve `vp` at `widthPx` for `dataVersion`? `following`: the view's
   * end is the newest data (live-edge.ts), so an end past the one the answer was asked for
   * means it lacks events now on screen: refetch without waiting for LIVE_REFRESH_MS.
   */
  covers(
    cpu: number,
    vp: Viewport,
    widthPx: number,
    dataVersion: number,
    following = false,
  ): boolean {
    const e = this.entries.get(cpu);
    if (!e) return false;
    if (following && vp.endNs > e.askedEndNs) return false;
    const nsPerPx = (vp.endNs - vp.startNs) / Math.max(1, widthPx);
    const inRange = e.range.startNs <= vp.startNs && e.range.endNs >= vp.endNs;
    // Zoomed in more than 2× past what we asked for: detail may be missing.
    const detailed = e.nsPerCol <= nsPerPx * 2;
    const fresh = e.dataVersion === dataVersion || this.now() - e.fetchedAtMs < LIVE_REFRESH_MS;
    return inRange && detailed && fresh;
  }

  /** Fetch if the stored answer does not serve this view; returns whether a fetch started. */
  ensure(
    cpu: number,
    vp: Viewport,
    widthPx: number,
    dataVersion: number,
    following = false,
  ): boolean {
    if (widthPx <= 0 || !(vp.endNs > vp.startNs)) return false;
    this.tellFollow(cpu, vp, widthPx, following);
    if (this.covers(cpu, vp, widthPx, dataVersion, following)) {
      // A followed view needs no look again: the worker pushes it columns for any new data.
      if (!following) this.recheckWhenStale(cpu, dataVersion);
      return false;
    }
    if (this.inflight.has(cpu)) {
      // Asked again while an answer is on its way (the followed view slid on): ask for this
      // view as soon as that answer is here, not at the next draw (up to a frame later).
      this.wanted.set(cpu, {vp, widthPx, dataVersion, following});
      return false;
    }
    this.wanted.delete(cpu);
    const span = vp.endNs - vp.startNs;
    const over = following ? FOLLOW_OVERSCAN : OVERSCAN;
    const range = {startNs: vp.startNs - span * over, endNs: vp.endNs + span * over};
    const cols = following
      ? followCols(widthPx)
      : Math.ceil(widthPx * (DETAIL / (1 + 2 * OVERSCAN)) * (1 + 2 * over));
    const seq = ++this.seq;
    this.inflight.set(cpu, {seq, key: ''});
    this.fetches++;
    const ask = {cpu, seq, range, cols, vp, dataVersion};
    if (this.backend.timelines) {
      if (this.batch.push(ask) === 1) queueMicrotask(() => this.sendBatch());
      return true;
    }
    this.backend.timeline(cpu, range, cols).then(
      (track) => {
        if (!this.store(ask, track)) this.release(track);
        // Even for a dropped answer: a canvas may be waiting for it (TimelineCanvas).
        this.changed();
        this.askWanted([cpu]);
      },
      (err: unknown) => this.failed([ask], err),
    );
    return true;
  }

  /**
   * An answer for older data serves a view only while it is younger than LIVE_REFRESH_MS. When
   * that is why it served, listeners are told again once it is older, so they ask again: new
   * data that came in during those last milliseconds has no later 'data' push to bring it to
   * the screen (a view left still over the end of a burst kept missing its last events). Not
   * for a followed view: the look again cost a question each 200 ms under heavy load, and the
   * worker pushes a follower new columns for any new data (notifier.ts).
   */
  private recheckWhenStale(cpu: number, dataVersion: number): void {
    const e = this.entries.get(cpu);
    if (!e || e.dataVersion === dataVersion || this.recheck !== undefined) return;
    const waitMs = Math.max(0, e.fetchedAtMs + LIVE_REFRESH_MS - this.now()) + 1;
    this.recheck = this.later(() => {
      this.recheck = undefined;
      this.changed();
    }, waitMs);
  }

  /**
   * Keep the backend's idea of the followed view current: the range and detail `ensure` would
   * ask for at a following slide, relative to the view's end, for every CPU that asked.
   */
  private tellFollow(cpu: number, vp: Viewport, widthPx: number, following: boolean): void {
    if (!this.backend.follow) return;
    if (!following) {
      this.followCpus.clear();
      this.followWant = null;
    } else {
      const span = vp.endNs - vp.startNs;
      const cols = followCols(widthPx);
      const was = this.followWant;
      // The span as the store computes it (end − start) wobbles in its last bits: not a change.
      const same =
        was !== null &&
        was.cols === cols &&
        this.followCpus.has(cpu) &&
        Math.abs(was.afterNs - span * FOLLOW_OVERSCAN) <= span * 1e-9;
      if (same) return;
      this.followCpus.add(cpu);
      this.followWant = {
        cpus: [...this.followCpus].sort((a, b) => a - b),
        beforeNs: span + span * FOLLOW_OVERSCAN,
        afterNs: span * FOLLOW_OVERSCAN,
        cols,
      };
    }
    // Every canvas asks in the same store update: tell the backend once, at the end of the task.
    if (this.followWant === this.followSent || this.followQueued) return;
    this.followQueued = true;
    queueMicrotask(() => {
      this.followQueued = false;
      if (this.followWant === this.followSent) return;
      this.followSent = this.followWant;
      this.backend.follow?.(this.followSent);
    });
  }

  /**
   * Columns the backend pushed with an 'edge' for the followed view: kept like answers to a
   * question asked at that edge (newer than any question in flight), so the slide to that edge
   * finds them here. `notify`: tell the listeners (no slide will make the canvases redraw).
   */
  accept(p: PushedTimelines, notify = false): void {
    p.cpus.forEach((cpu, i) => {
      const vp = {startNs: p.edgeNs, endNs: p.edgeNs};
      const ask = {
        cpu,
        seq: ++this.seq,
        range: p.range,
        cols: p.cols,
        vp,
        dataVersion: p.dataVersion,
      };
      if (p.tracks[i] && this.store(ask, p.tracks[i])) this.accepted++;
      else if (p.tracks[i]) this.release(p.tracks[i]);
    });
    if (notify) this.changed();
  }

  /** Columns pushed for a view that will not be shown: their memory may be reused. */
  discard(p: PushedTimelines): void {
    for (const t of p.tracks) if (t) this.release(t);
  }

  /** Ask now for the views refused while these CPUs' answers were on their way. */
  private askWanted(cpus: number[]): void {
    for (const cpu of cpus) {
      const w = this.wanted.get(cpu);
      if (!w || this.inflight.has(cpu)) continue;
      this.wanted.delete(cpu);
      this.ensure(cpu, w.vp, w.widthPx, w.dataVersion, w.following);
    }
  }

  /** One query per distinct range and detail among the gathered asks. */
  private sendBatch(): void {
    const asks = this.batch;
    this.batch = [];
    const groups = new Map<string, typeof asks>();
    for (const a of asks) {
      const key = `${a.range.startNs}:${a.range.endNs}:${a.cols}`;
      const g = groups.get(key);
      if (g) g.push(a);
      else groups.set(key, [a]);
    }
    for (const g of groups.values()) {
      const cpus = g.map((a) => a.cpu);
      this.backend.timelines!(cpus, g[0].range, g[0].cols).then(
        (tracks) => {
          g.forEach((a, i) => {
            if (tracks[i]) {
              if (!this.store(a, tracks[i])) this.release(tracks[i]);
            } else if (this.inflight.get(a.cpu)?.seq === a.seq) this.inflight.delete(a.cpu);
          });
          this.changed(); // even for dropped answers: a canvas may be waiting (TimelineCanvas)
          this.askWanted(cpus);
        },
        (err: unknown) => this.failed(g, err),
      );
    }
  }

  /** Keep an answer unless a newer one is here; returns whether it was kept. */
  private store(
    a: {cpu: number; seq: number; range: Viewport; cols: number; vp: Viewport; dataVersion: number},
    track: TimelineTrack,
  ): boolean {
    if (this.inflight.get(a.cpu)?.seq === a.seq) this.inflight.delete(a.cpu);
    const old = this.entries.get(a.cpu);
    if (old && old.seq > a.seq) return false; // a newer answer is already here
    this.hold(track);
    if (old) this.release(old.track);
    this.entries.set(a.cpu, {
      track,
      range: a.range,
      nsPerCol: (a.range.endNs - a.range.startNs) / a.cols,
      dataVersion: a.dataVersion,
      askedEndNs: a.vp.endNs,
      seq: a.seq,
      fetchedAtMs: this.now(),
    });
    return true;
  }

  private hold(t: TimelineTrack): void {
    if (!this.backend.recycle) return; // nothing to hand back: keep no references either
    for (const b of buffersOf(t)) this.holders.set(b, (this.holders.get(b) ?? 0) + 1);
  }

  /** `t` is no longer stored (or never was): its buffers go back once nothing holds them. */
  private release(t: TimelineTrack): void {
    if (!this.backend.recycle) return;
    for (const b of buffersOf(t)) {
      const n = (this.holders.get(b) ?? 0) - 1;
      if (n > 0) this.holders.set(b, n);
      else this.holders.delete(b);
      if (n <= 0) this.released.add(b);
    }
    if (this.released.size > 0) queueMicrotask(() => this.handBack());
  }

  /** At the end of the task: the released buffers that no stored track took up again. */
  private handBack(): void {
    if (this.released.size === 0) return;
    const out: ArrayBuffer[] = [];
    for (const b of this.released) if (!this.holders.has(b) && b.byteLength > 0) out.push(b);
    this.released = new Set();
    if (out.length === 0) return;
    this.recycled += out.length;
    this.backend.recycle?.(out);
  }

  private failed(asks: {cpu: number; seq: number}[], err: unknown): void {
    for (const a of asks) if (this.inflight.get(a.cpu)?.seq === a.seq) this.inflight.delete(a.cpu);
    this.changed(); // a canvas waiting for these columns paints what it has
    console.warn(
      `ringside: timeline query for cpu ${asks.map((a) => a.cpu).join(',')} failed`,
      err,
    );
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }
}

/** The buffers a track's columns view (one per answer from a pooling backend). */
function buffersOf(t: TimelineTrack): Set<ArrayBuffer> {
  const out = new Set<ArrayBuffer>();
  for (const group of [t.slices, t.events, t.lost, t.swaps]) {
    for (const v of Object.values(group))
      if (ArrayBuffer.isView(v)) out.add(v.buffer as ArrayBuffer);
  }
  return out;
}
