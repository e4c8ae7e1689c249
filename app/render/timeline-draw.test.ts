import {describe, expect, it} from 'vitest';
import {createRecordingContext} from '../testing/recording-context.ts';
import {buildTrack, syntheticTrack} from '../testing/track-builder.ts';
import {drawTimeline, hitTestTimeline, timelineLanes} from './timeline-draw.ts';
import {eventTypeColor, taskColor, THEME} from './colors.ts';

const scale = {widthPx: 1000, heightPx: 60, dpr: 1};
const lanes = timelineLanes(scale.heightPx);

function sliceRects(log: ReturnType<typeof createRecordingContext>) {
  return log
    .ops('fillRect')
    .filter((r) => r.y === lanes.sliceY && r.h === lanes.sliceH && r.fillStyle !== THEME.lane);
}

/** Pixel columns covered by the event lane's bars (neighbouring equal bars share one rect). */
function barColumns(log: ReturnType<typeof createRecordingContext>): number[] {
  const cols: number[] = [];
  for (const r of log.ops('fillRect')) {
    if (r.y + r.h !== lanes.eventY + lanes.eventH) continue;
    for (let c = r.x; c < r.x + r.w; c++) cols.push(c);
  }
  return cols;
}

describe('drawTimeline', () => {
  it('draws slices in view at their pixel positions and skips off-screen ones', () => {
    const track = buildTrack({
      slices: [
        [0, 50, 101], // before the viewport
        [100, 300, 102],
        [300, 600, 103],
        [2000, 2100, 104], // after
      ],
    });
    const rc = createRecordingContext();
    drawTimeline(rc.ctx, track, {startNs: 100, endNs: 1100}, scale);
    const rects = sliceRects(rc);
    expect(rects.map((r) => [r.x, r.w, r.fillStyle])).toEqual([
      [0, 200, taskColor(102)],
      [200, 300, taskColor(103)],
    ]);
  });

  it('clips a slice that starts before the viewport to x=0', () => {
    const track = buildTrack({slices: [[0, 600, 7]]});
    const rc = createRecordingContext();
    drawTimeline(rc.ctx, track, {startNs: 100, endNs: 1100}, scale);
    expect(sliceRects(rc).map((r) => [r.x, r.w])).toEqual([[0, 500]]);
  });

  it('does not draw idle (pid 0) slices over the lane background', () => {
    const track = buildTrack({
      slices: [
        [0, 500, 0],
        [500, 1000, 9],
      ],
    });
    const rc = createRecordingContext();
    drawTimeline(rc.ctx, track, {startNs: 0, endNs: 1000}, scale);
    expect(sliceRects(rc).map((r) => r.fillStyle)).toEqual([taskColor(9)]);
  });

  it('labels wide slices with comm:pid', () => {
    const track = buildTrack({slices: [[0, 500, 42]], comms: [[42, 'kworker/0:1']]});
    const rc = createRecordingContext();
    drawTimeline(rc.ctx, track, {startNs: 0, endNs: 1000}, scale);
    expect(rc.ops('fillText').map((t) => t.text)).toEqual(['kworker/0:1:42']);
  });

  it('paints at most two slice rects and one event bar per pixel column when dense', () => {
    const track = syntheticTrack(0, 400_000, 1e9, 3);
    const rc = createRecordingContext();
    drawTimeline(rc.ctx, track, {startNs: 0, endNs: 1e9}, scale);
    const perCol = new Map<number, number>();
    for (const r of sliceRects(rc)) {
      for (let c = Math.floor(r.x); c < Math.ceil(r.x + r.w); c++)
        perCol.set(c, (perCol.get(c) ?? 0) + 1);
    }
    expect(Math.max(...perCol.values())).toBeLessThanOrEqual(2);
    const bars = barColumns(rc);
    const cols = new Set(bars);
    expect(bars.length).toBe(cols.size);
    expect(bars.length).toBeLessThanOrEqual(scale.widthPx);
    expect(bars.length).toBeGreaterThan(scale.widthPx * 0.9);
    // Bounded by pixels, not by 400k events.
    expect(rc.log.length).toBeLessThan(6 * scale.widthPx);
  });

  it('paints exactly the columns a slow per-slice walk would paint (dense, with skipping)', () => {
    const track = syntheticTrack(1, 200_000, 1e9, 9);
    const vp = {startNs: 2e8, endNs: 7e8};
    const rc = createRecordingContext();
    drawTimeline(rc.ctx, track, vp, scale);
    const painted = new Set<number>();
    for (const r of sliceRects(rc))
      for (let c = Math.floor(r.x); c < Math.ceil(r.x + r.w); c++) painted.add(c);
    const want = new Set<number>();
    const k = scale.widthPx / (vp.endNs - vp.startNs);
    const s = track.slices;
    for (let i = 0; i < s.length; i++) {
      if (s.pid[i] === 0 || s.endNs[i] < vp.startNs || s.startNs[i] > vp.endNs) continue;
      const x0 = Math.max(0, (s.startNs[i] - vp.startNs) * k);
      const x1 = Math.min(scale.widthPx, (s.endNs[i] - vp.startNs) * k);
      if (x1 - x0 < 1) want.add(Math.floor(x0));
      else for (let c = Math.floor(x0); c < Math.ceil(x1); c++) want.add(c);
    }
    expect([...painted].sort((a, b) => a - b)).toEqual([...want].sort((a, b) => a - b));
  });

  it('dense event bars cover exactly the columns that hold events', () => {
    const track = syntheticTrack(0, 100_000, 1e8, 5);
    const vp = {startNs: 1e7, endNs: 3e7};
    const rc = createRecordingContext();
    drawTimeline(rc.ctx, track, vp, scale);
    const bars = barColumns(rc);
    const want = new Set<number>();
    const k = scale.widthPx / (vp.endNs - vp.startNs);
    for (let i = 0; i < track.events.length; i++) {
      const t = track.events.tsNs[i];
      if (t >= vp.startNs && t <= vp.endNs) want.add(Math.floor((t - vp.startNs) * k));
    }
    expect(bars.sort((a, b) => a - b)).toEqual([...want].sort((a, b) => a - b));
  });

  it('draws a steady dense load as a few wide rects, covering the same columns', () => {
    // One 1-px rect per column was ~3,200 draw ops per frame under 500k events/s.
    const events: [number, number, number][] = [];
    const swaps: [number, number, number][] = [];
    for (let i = 0; i < 100_000; i++) events.push([i * 10 + 3, 0, i]);
    for (let i = 0; i < 2000; i++) swaps.push([i * 500 + 7, i % 300, i === 1234 ? 2 : 0]);
    const track = buildTrack({events, swaps});
    const rc = createRecordingContext();
    drawTimeline(rc.ctx, track, {startNs: 0, endNs: 1e6}, scale);
    const eventRects = rc.ops('fillRect').filter((r) => r.y + r.h === lanes.eventY + lanes.eventH);
    expect(eventRects.length).toBeLessThanOrEqual(3);
    expect(new Set(barColumns(rc)).size).toBe(scale.widthPx);
    const swapRects = rc.ops('fillRect').filter((r) => r.y === lanes.swapY && r.h === lanes.swapH);
    expect(swapRects.length).toBeLessThanOrEqual(4);
    const swapCols = new Map<number, string>();
    for (const r of swapRects) for (let c = r.x; c < r.x + r.w; c++) swapCols.set(c, r.fillStyle);
    expect(swapCols.size).toBe(scale.widthPx);
    // The column with skipped sub-buffers stays red.
    expect(swapCols.get(Math.floor((1234 * 500 + 7) / 1000))).toBe(THEME.loss);
  });

  it('draws one tick per event when sparse, coloured by name where well known, else by type', () => {
    const track = buildTrack({
      events: [
        [100, 0, 1],
        [200, 1, 2],
        [300, 2, 3],
        [400, 7, 4], // a type index beyond typeNames (a format learnt after the answer)
        [5000, 0, 5], // off-screen
      ],
      typeNames: ['print', 'sched_switch', 'my_event'],
    });
    const rc = createRecordingContext();
    drawTimeline(rc.ctx, track, {startNs: 0, endNs: 1000}, scale);
    const ticks = rc.ops('fillRect').filter((r) => r.y === lanes.eventY);
    expect(ticks.map((t) => [t.x, t.fillStyle])).toEqual([
      [100, '#f0c000'],
      [200, '#6cb6ff'],
      [300, eventTypeColor('', 2)],
      [400, eventTypeColor('', 7)],
    ]);
    expect(eventTypeColor('my_event', 2)).toBe(eventTypeColor('', 2));
    expect(eventTypeColor('', 2)).not.toBe(eventTypeColor('', 3));
  });

  it("uses the worker's merged counts for bar heights", () => {
    const track = buildTrack({
      events: [
        [100, 0, 1],
        [200, 0, 2],
      ],
    });
    track.events.count = Uint32Array.from([1, 1000]);
    const rc = createRecordingContext();
    drawTimeline(rc.ctx, track, {startNs: 0, endNs: 1000}, scale);
    const bars = rc.ops('fillRect').filter((r) => r.y + r.h === lanes.eventY + lanes.eventH);
    expect(bars.map((b) => b.x)).toEqual([100, 200]);
    expect(bars[1].h).toBeGreaterThan(bars[0].h);
  });

  it('marks lost events full height in the loss colour, and swaps in the top lane', () => {
    const track = buildTrack({
      lost: [[500, 12]],
      swaps: [
        [250, 3, 0],
        [750, 5, 2],
      ],
    });
    const rc = createRecordingContext();
    drawTimeline(rc.ctx, track, {startNs: 0, endNs: 1000}, scale);
    const rects = rc.ops('fillRect');
    expect(rects).toContainEqual({
      op: 'fillRect',
      x: 500,
      y: 0,
      w: 1,
      h: 60,
      fillStyle: THEME.loss,
    });
    const swaps = rects.filter((r) => r.y === lanes.swapY && r.h === lanes.swapH);
    expect(swaps.map((s) => [s.x, s.fillStyle])).toEqual([
      [250, THEME.swap],
      [750, THEME.loss],
    ]);
  });

  it('draws the selection cursor and skips it when off-screen', () => {
    const track = buildTrack({});
    const rc = createRecordingContext();
    drawTimeline(rc.ctx, track, {startNs: 0, endNs: 1000}, scale, {selectedTsNs: 400});
    expect(rc.ops('fillRect').filter((r) => r.fillStyle === THEME.selection)).toHaveLength(1);
    const rc2 = createRecordingContext();
    drawTimeline(rc2.ctx, track, {startNs: 0, endNs: 1000}, scale, {selectedTsNs: 4000});
    expect(rc2.ops('fillRect').filter((r) => r.fillStyle === THEME.selection)).toHaveLength(0);
  });

  it('scales by device pixel ratio through the transform', () => {
    const rc = createRecordingContext();
    drawTimeline(rc.ctx, buildTrack({}), {startNs: 0, endNs: 1}, {...scale, dpr: 2});
    expect(rc.ops('setTransform')[0].args).toEqual([2, 0, 0, 2, 0, 0]);
  });
});

describe('hitTestTimeline', () => {
  const track = buildTrack({
    slices: [
      [0, 300, 11],
      [300, 310, 0],
      [310, 900, 12],
    ],
    events: [
      [100, 0, 7],
      [104, 1, 8],
      [600, 2, 9],
    ],
    lost: [[800, -1]],
    swaps: [[450, 4, 1]],
  });
  const vp = {startNs: 0, endNs: 1000};
  const ev = lanes.eventY + 2;
  const sl = lanes.sliceY + 2;

  it.each([
    [101, ev, {kind: 'event', id: 7}],
    [103, ev, {kind: 'event', id: 8}],
    [600, ev, {kind: 'event', id: 9}],
    [350, ev, null],
    [150, sl, {kind: 'slice', pid: 11}],
    [500, sl, {kind: 'slice', pid: 12}],
    [305, sl, null], // idle
    [950, sl, null],
    [801, sl, {kind: 'lost', count: -1}],
    [451, 1, {kind: 'swap', subbufId: 4, skipped: 1}],
    [10, 1, null],
  ])('at x=%d y=%d finds %o', (x, y, want) => {
    const hit = hitTestTimeline(track, vp, scale, x, y);
    if (want === null) expect(hit).toBeNull();
    else expect(hit).toMatchObject(want);
  });

  it('agrees with the drawing after a zoom', () => {
    const zoomed = {startNs: 550, endNs: 650}; // 10 px per ns
    const hit = hitTestTimeline(track, zoomed, scale, 500, ev);
    expect(hit).toMatchObject({kind: 'event', id: 9, tsNs: 600});
    expect(hitTestTimeline(track, zoomed, scale, 540, ev)).toBeNull();
  });
});
