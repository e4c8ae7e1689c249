/**
 * The one animation-frame scheduler (Perfetto `RafScheduler`, speedscope `requestFrame`).
 * Canvases register a draw callback and mark themselves dirty; all dirty canvases repaint in
 * the same frame, each at most once, however many store updates arrived in between.
 *
 * Each frame is wrapped in `performance.mark/measure('ringside:frame')`, which the perf bench
 * (app/e2e/timeline.perf.ts) reads for p50/p95 frame times.
 */

export type DrawFn = (nowMs: number) => void;

export interface FrameClock {
  request(cb: (nowMs: number) => void): number;
  cancel(id: number): void;
}

const browserClock: FrameClock = {
  request: (cb) => requestAnimationFrame(cb),
  cancel: (id) => cancelAnimationFrame(id),
};

export const FRAME_MEASURE = 'ringside:frame';
/**
 * Continuous animations (the swap rings' fades) repaint at most this often (ms), 10/s: a 1.5 s
 * fade still reads as a fade, and without a GPU a ring repaint (hundreds of anti-aliased arc
 * cells) is rastered on the main thread that the followed timelines need. `npm run bench
 * painted --trace` heavy, 2026-12-05: `DoUpdateLayers` 6.3 ms per frame at 30/s, 2.8 ms at
 * 10/s (1.7 ms with the rings hidden), and 389 frames in 6 s instead of 238.
 */
export const ANIMATION_INTERVAL_MS = 100;

export class RafScheduler {
  private readonly dirty = new Set<DrawFn>();
  private readonly continuous = new Set<DrawFn>();
  private pending = 0;
  private lastAnimationMs = -Infinity;
  /** Frames painted so far (tests and the perf bench read it). */
  frames = 0;
  measure = false;

  constructor(private readonly clock: FrameClock = browserClock) {}

  /** Paint `fn` in the next frame (once, however often this is called before it). */
  request(fn: DrawFn): void {
    this.dirty.add(fn);
    this.arm();
  }

  /** Paint `fn` every frame until the returned function is called (swap animations). */
  animate(fn: DrawFn): () => void {
    this.continuous.add(fn);
    this.arm();
    return () => {
      this.continuous.delete(fn);
      this.dirty.delete(fn);
    };
  }

  /** Forget `fn` (unmounted canvas). */
  cancel(fn: DrawFn): void {
    this.dirty.delete(fn);
    this.continuous.delete(fn);
  }

  private arm(): void {
    if (this.pending) return;
    this.pending = this.clock.request((now) => this.run(now));
  }

  private run(nowMs: number): void {
    this.pending = 0;
    // 2 ms of slack: frames 16.7 ms apart make every sixth frame an animation frame.
    const animate =
      this.continuous.size > 0 && nowMs - this.lastAnimationMs >= ANIMATION_INTERVAL_MS - 2;
    if (animate) this.lastAnimationMs = nowMs;
    const fns = animate ? [...this.dirty, ...this.continuous] : [...this.dirty];
    this.dirty.clear();
    if (fns.length === 0) {
      if (this.continuous.size) this.arm();
      return;
    }
    const mark = this.measure && typeof performance.mark === 'function';
    if (mark) performance.mark('ringside:frame-start');
    const seen = new Set<DrawFn>();
    for (const fn of fns) {
      if (seen.has(fn)) continue;
      seen.add(fn);
      try {
        fn(nowMs);
      } catch (e) {
        console.error('ringside: draw failed', e);
      }
    }
    if (mark) performance.measure(FRAME_MEASURE, 'ringside:frame-start');
    this.frames++;
    if (this.continuous.size) this.arm();
  }
}

export const scheduler = new RafScheduler();
