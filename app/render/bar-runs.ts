/**
 * Neighbouring bars of one colour, top and height drawn as one rect. A dense timeline track has
 * about one 1-px bar per pixel column in its event lane and in its swap lane; without a GPU each
 * `fillRect` is a draw op rastered in software when the frame is produced, and under 500k
 * events/s those ~3,200 rects per frame made `LayerTreeHost::DoUpdateLayers` cost 5.1 ms per
 * frame on the main thread (`npm run bench painted --trace`). Steady load gives runs of
 * identical bars, so most of a dense lane becomes a handful of rects; the pixels are the same.
 */
export class BarRuns {
  private x0 = 0;
  private x1 = 0;
  private y = 0;
  private h = 0;
  private style = '';
  private setStyle = '';

  constructor(private readonly ctx: CanvasRenderingContext2D) {}

  /** A 1-px bar at column `x` (integer), from `y` for `h` px, in `style`. */
  add(x: number, y: number, h: number, style: string): void {
    if (
      x === this.x1 &&
      y === this.y &&
      h === this.h &&
      style === this.style &&
      this.x1 > this.x0
    ) {
      this.x1 = x + 1;
      return;
    }
    this.flush();
    this.x0 = x;
    this.x1 = x + 1;
    this.y = y;
    this.h = h;
    this.style = style;
  }

  /** Draw the open run (call before drawing anything else that could overlap it). */
  flush(): void {
    if (this.x1 <= this.x0) return;
    if (this.style !== this.setStyle) this.ctx.fillStyle = this.setStyle = this.style;
    this.ctx.fillRect(this.x0, this.y, this.x1 - this.x0, this.h);
    this.x0 = this.x1 = 0;
  }
}
