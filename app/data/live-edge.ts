/**
 * Follow mode. With a backend that pushes 'edge' (the worker does, at most every 8 ms while
 * data flows: worker/notifier.ts), `push` slides the view at once, so a new event is asked for
 * as soon as the worker has it: no question, no poll interval. Slides are spaced at least
 * `currentPushMs` apart; that starts at 0 (the worker's throttle rules) and grows 1.5× up to
 * MAX_INTERVAL_MS while the frame after a slide comes late (dropped frames), shrinking back
 * while frames are on time. A push from a backend that was told the followed view carries its
 * columns at that edge, which go to the timeline cache right before the slide (`onTimelines`),
 * so the slide asks nothing; otherwise a slide costs one timeline query for all CPUs
 * (timeline-cache.ts). Either way at most one repaint per canvas (TimelineCanvas keeps its
 * last frame until the new columns arrive). Without pushes (a backend with only `edge()`), the
 * polling below is the fallback; with them it only asks once when follow is switched back on.
 *
 * Polling: follow mode at up to 20 frames a second. The worker pushes 'data' at most 4 times a second
 * and the stats poll runs twice a second; a view that slid only with the poll moved in 0.5 s
 * steps, so new events reached the screen 0.3–0.6 s after they were written (`npm run bench
 * painted`). While the timelines follow live data, this asks the worker for the newest data
 * range in an animation frame, every FOLLOW_INTERVAL_MS or slower when the page drops frames
 * (one question in flight), and slides the view to it; the timeline cache refetches because the
 * view's end moved past what its answer was asked for (timeline-cache.ts).
 *
 * After QUIET_ASKS answers in a row that bring nothing new it stops asking until the next 'data'
 * push (after a quiet 250 ms the worker sends that at once) or until follow is switched back
 * on, so an idle or paused page does no per-frame work.
 */
import type {Viewport} from '../model/types.ts';
import type {AppStore} from '../store.ts';
import type {PushedTimelines} from './backend.ts';

export type NextFrame = (cb: () => void) => unknown;

/**
 * Polling only: at most this often (ms) the view slides: every slide repaints every timeline. At 60/s that
 * took most of a core in headless Chromium without a GPU, and at 30/s the ui-stream bench's
 * frame p95 while streaming 100k/s went from 16.7 to 33–50 ms; at 20/s it stayed at 16.8 ms
 * (`npm run bench ui-stream`, 2026-11-22), with new events on screen ~45 ms after the write.
 */
export const FOLLOW_INTERVAL_MS = 50;
/**
 * When the page cannot keep up (the next question comes more than LATE_MS after it was due:
 * frames are being dropped, often by these very repaints), the interval grows 1.5× up to
 * MAX_INTERVAL_MS, and shrinks back 10 % per question while the page keeps up.
 */
export const MAX_INTERVAL_MS = 250;
const LATE_MS = 25;
/**
 * Unchanged answers in a row before it stops asking. Data reaches the worker in batches (the
 * server reads every few ms), so one frame without news is common mid-stream; stopping then
 * would leave the view waiting up to 250 ms for the worker's next 'data' push.
 */
export const QUIET_ASKS = 16;

const defaultNextFrame: NextFrame = (cb) =>
  typeof requestAnimationFrame === 'function' ? requestAnimationFrame(cb) : setTimeout(cb, 16);

/**
 * The frame after a slide arriving later than this (ms) means the page is dropping frames (a
 * slide mid-frame normally sees the next frame within 16.7 ms). Each late frame spaces slides
 * out 1.5× (from PUSH_BACKOFF_START_MS), each frame on time shrinks the spacing 10 % (to 0
 * below half a step). Holding a push back to one slide per frame, or backing off at 25 ms,
 * cost 10–20 ms of p50 in `bench painted` light without a clear gain in `bench ui-stream`.
 */
const LATE_FRAME_MS = 16.7 + LATE_MS;
/** First step of the push back-off (ms between slides) once frames come late. */
export const PUSH_BACKOFF_START_MS = 33;

export type Later = (cb: () => void, ms: number) => unknown;

export class LiveEdge {
  private armed = false;
  /** The backend pushes 'edge': the poll loop stays off (one question when follow resumes). */
  private pushMode = false;
  private pendingPush: {range: Viewport; timelines?: PushedTimelines} | undefined;
  private pushArmed = false;
  private lastSlideMs = -Infinity;
  private watchingFrame = false;
  /** Minimum ms between pushed slides (0 while the page keeps up). */
  currentPushMs = 0;
  private stopped = false;
  private lastEndNs = NaN;
  private lastAskMs = -Infinity;
  private quietAsks = 0;
  /** The previous question led straight to this one (no pause): its gap says how we keep up. */
  private streak = false;
  /** Current interval between questions (ms), between intervalMs and MAX_INTERVAL_MS. */
  currentIntervalMs: number;
  private unStore: (() => void) | undefined;
  /** Questions asked so far (tests and diagnostics). */
  asked = 0;
  /**
   * Where a push's timeline columns go (the timeline cache), right before the slide to its
   * edge, so the canvases find them there instead of asking. `redraw`: no slide follows (the
   * end did not move), so whoever draws them must be told.
   */
  onTimelines: ((t: PushedTimelines, redraw: boolean) => void) | undefined;
  /** Where a push's columns go when they are not used (the cache hands their memory back). */
  onDiscard: ((t: PushedTimelines) => void) | undefined;

  constructor(
    private readonly store: AppStore,
    private readonly edge: (() => Promise<Viewport | null>) | undefined,
    private readonly nextFrame: NextFrame = defaultNextFrame,
    private readonly intervalMs = FOLLOW_INTERVAL_MS,
    private readonly now: () => number = () => performance.now(),
    private readonly later: Later = (cb, ms) => setTimeout(cb, ms),
  ) {
    this.currentIntervalMs = intervalMs;
    this.unStore = store.subscribe((s, p) => {
      if (s.followLive && !p.followLive) this.wake(true);
    });
  }

  /**
   * The backend's newest data range (an 'edge' push), maybe with the followed view's columns
   * at that edge. Slides the followed view now, or when the back-off allows (the newest range
   * pending wins). Columns are always handed back (`done`), used or not.
   */
  push(range: Viewport, timelines?: PushedTimelines): void {
    this.pushMode = true;
    if (!this.owns) {
      if (timelines) this.discard(timelines); // not following: the stats poll keeps dataRange current
      return;
    }
    if (this.pendingPush?.timelines) this.discard(this.pendingPush.timelines);
    this.pendingPush = {range, timelines};
    if (this.pushArmed) return;
    const waitMs = this.lastSlideMs + this.currentPushMs - this.now();
    if (waitMs <= 0) {
      this.applyPush();
      return;
    }
    this.pushArmed = true;
    this.later(() => {
      this.pushArmed = false;
      this.applyPush();
    }, waitMs);
  }

  private applyPush(): void {
    const p = this.pendingPush;
    this.pendingPush = undefined;
    if (!p) return;
    const r = p.range;
    if (p.timelines && !this.owns) {
      this.discard(p.timelines);
      return;
    }
    if (this.owns && r.endNs !== this.lastEndNs) {
      this.lastEndNs = r.endNs;
      const t0 = this.now();
      this.lastSlideMs = t0;
      if (p.timelines) this.onTimelines?.(p.timelines, false);
      this.store.getState().setDataRange(r);
      this.watchFrame(t0);
    } else if (this.owns && p.timelines) {
      // The same end with new columns: data of a quieter CPU came in behind the newest. No
      // slide, but the canvases must redraw with them.
      this.onTimelines?.(p.timelines, true);
    }
    p.timelines?.done();
  }

  /** A push's columns that will not be shown: let the next go, and their memory be reused. */
  private discard(t: PushedTimelines): void {
    t.done();
    this.onDiscard?.(t);
  }

  /** How long after this slide the next frame comes: late frames widen the spacing. */
  private watchFrame(t0: number): void {
    if (this.watchingFrame) return;
    this.watchingFrame = true;
    this.nextFrame(() => {
      this.watchingFrame = false;
      const late = this.now() - t0 > LATE_FRAME_MS;
      this.currentPushMs = late
        ? Math.min(MAX_INTERVAL_MS, Math.max(PUSH_BACKOFF_START_MS, this.currentPushMs * 1.5))
        : this.currentPushMs * 0.9 < PUSH_BACKOFF_START_MS / 2
          ? 0
          : this.currentPushMs * 0.9;
    });
  }

  /** While following, the view's position is ours: the stats poll must not move it back. */
  get owns(): boolean {
    return !this.stopped && this.store.getState().followLive;
  }

  /**
   * New data may be there: look at the edge in the next frame (no-op when not following). With
   * pushes only `force` (follow switched back on) asks, once.
   */
  wake(force = false): void {
    if (!this.edge || (this.pushMode && !force)) return;
    this.quietAsks = 0;
    if (!this.armed) this.streak = false;
    this.arm();
  }

  private arm(): void {
    if (this.armed || !this.owns) return;
    this.armed = true;
    this.nextFrame(() => void this.tick());
  }

  private async tick(): Promise<void> {
    const now = this.now();
    const sinceMs = now - this.lastAskMs;
    if (sinceMs < this.currentIntervalMs - 4) {
      this.nextFrame(() => void this.tick()); // too soon: look again next frame
      return;
    }
    if (this.streak) {
      const late = sinceMs > this.currentIntervalMs + LATE_MS;
      this.currentIntervalMs = late
        ? Math.min(MAX_INTERVAL_MS, this.currentIntervalMs * 1.5)
        : Math.max(this.intervalMs, this.currentIntervalMs * 0.9);
    }
    this.lastAskMs = now;
    let again = false;
    try {
      if (this.owns && this.edge) {
        this.asked++;
        const range = await this.edge();
        if (range && range.endNs !== this.lastEndNs && this.owns) {
          this.lastEndNs = range.endNs;
          this.store.getState().setDataRange(range);
          this.quietAsks = 0;
        } else this.quietAsks++;
        again = !this.pushMode && this.quietAsks < QUIET_ASKS;
      }
    } catch (e) {
      console.warn('ringside: live edge query failed', e);
    } finally {
      this.armed = false;
    }
    this.streak = again;
    if (again) this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.unStore?.();
  }
}
