/**
 * Level of detail for the timeline: for (startNs, endNs, widthPx), per CPU, the slices, event
 * marks, loss markers and swaps to draw, at most a few items per pixel column whatever the
 * number of events in range. Cost is pixels × log(events), never events:
 *
 *   px column:   |   0   |   1   |   2   |   3   |
 *   slices:      [==A===][B|C|D|E][====F========]      A, F ≥ 1 px: kept as they are
 *                        └ merged ┘                    B..E < 1 px: one item, count 4
 *   events:      ▏▏ ▏▏▏▏▏▏▏▏▏▏▏▏▏▏▏▏ ▏▏▏▏ ▏▏          > 4 × widthPx in range: one mark per
 *                                                      column (first event, count)
 *
 * Each column boundary is found by binary search (uPlot `closestIdx`), so a 2 M-event CPU
 * answers in pixel-proportional time. Merged slices take the pid of their first member.
 */
import {sliceColumns, type ColumnOut} from './answer-buffers.ts';
import type {CommTable} from './comm-table.ts';
import type {CpuTable} from './cpu-table.ts';
import {eventRef} from './event-ref.ts';
import type {EventStore} from './event-store.ts';
import type {SchedView} from './sched-view.ts';
import type {SliceTable} from './slice-table.ts';
import type {TypeTable} from './type-table.ts';

/** uPlot's rule: more events than this × widthPx in range → one mark per pixel column. */
export const DENSE_EVENTS_PER_PX = 4;

export interface TimelineQuery {
  startNs: number;
  endNs: number;
  widthPx: number;
  /** CPUs to answer for (default: all). */
  cpus?: number[];
}

export interface TrackLod {
  cpu: number;
  /** What the window holds on this CPU (oldest/newest event), for "window starts here". */
  windowStartNs: number;
  windowEndNs: number;
  slices: {
    length: number;
    startNs: Float64Array;
    endNs: Float64Array;
    pid: Int32Array;
    /** Real slices merged into this item (1 = a real slice). */
    merged: Uint32Array;
    /** prev_state at switch-out, -1 still running or merged. */
    endState: Int32Array;
    /** Runnable time before the slice (wakeup latency or preempted wait), -1 unknown. */
    waitNs: Float64Array;
  };
  events: {
    length: number;
    tsNs: Float64Array;
    type: Int32Array;
    id: Float64Array;
    count: Uint32Array;
  };
  lost: {length: number; tsNs: Float64Array; count: Float64Array};
  swaps: {length: number; tsNs: Float64Array; subbufId: Int32Array; skipped: Int32Array};
}

export interface TimelineLod {
  startNs: number;
  endNs: number;
  widthPx: number;
  typeNames: string[];
  tracks: TrackLod[];
  /** pid → comm for every pid in the answer's slices. */
  comms: Map<number, string>;
}

/** Every buffer of an answer, for comlink `transfer`. */
export function lodTransferables(lod: TimelineLod): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const t of lod.tracks) {
    for (const group of [t.slices, t.events, t.lost, t.swaps]) {
      for (const v of Object.values(group))
        if (ArrayBuffer.isView(v)) out.push(v.buffer as ArrayBuffer);
    }
  }
  return out;
}

export function queryTimeline(
  q: TimelineQuery,
  store: EventStore,
  sched: SchedView,
  types: TypeTable,
  comms: CommTable,
  /** Where the answer's columns go (answer-buffers.ts); fresh arrays by default. */
  out: ColumnOut = sliceColumns,
): TimelineLod {
  const widthPx = Math.max(1, Math.floor(q.widthPx));
  const cpus = q.cpus ?? [...new Set([...store.cpus(), ...sched.cpus()])].sort((a, b) => a - b);
  const pids = new Set<number>();
  const tracks = cpus.map((cpu) => {
    const t = store.table(cpu);
    const track: TrackLod = {
      cpu,
      windowStartNs: store.oldestTsNs(cpu),
      windowEndNs: store.newestTsNs(cpu),
      slices: sliceLod(sched, cpu, q.startNs, q.endNs, widthPx, out),
      events: t ? eventLod(t, q.startNs, q.endNs, widthPx, types, out) : emptyEvents(),
      ...(t ? pageMarks(t, q.startNs, q.endNs, widthPx, out) : emptyMarks()),
    };
    for (let i = 0; i < track.slices.length; i++) pids.add(track.slices.pid[i]);
    return track;
  });
  const commMap = new Map<number, string>();
  for (const pid of pids) {
    const c = comms.get(pid);
    if (c !== undefined) commMap.set(pid, c);
  }
  return {
    startNs: q.startNs,
    endNs: q.endNs,
    widthPx,
    typeNames: types.allNames(),
    tracks,
    comms: commMap,
  };
}

/**
 * Scratch columns reused across queries: an answer is built here and copied out once (`out`:
 * into a pooled buffer the page hands back, or fresh arrays), and the copy is what gets
 * transferred.
 */
let scratchCols = makeScratch(4096);
function makeScratch(n: number) {
  return {
    f64a: new Float64Array(n),
    f64b: new Float64Array(n),
    f64c: new Float64Array(n),
    i32a: new Int32Array(n),
    i32b: new Int32Array(n),
    u32: new Uint32Array(n),
  };
}
function scratch(n: number): ReturnType<typeof makeScratch> {
  if (scratchCols.f64a.length < n)
    scratchCols = makeScratch(Math.max(n, scratchCols.f64a.length * 2));
  return scratchCols;
}

function emptyMarks(): Pick<TrackLod, 'lost' | 'swaps'> {
  return {
    lost: {length: 0, tsNs: new Float64Array(0), count: new Float64Array(0)},
    swaps: {
      length: 0,
      tsNs: new Float64Array(0),
      subbufId: new Int32Array(0),
      skipped: new Int32Array(0),
    },
  };
}

function emptyEvents(): TrackLod['events'] {
  return {
    length: 0,
    tsNs: new Float64Array(0),
    type: new Int32Array(0),
    id: new Float64Array(0),
    count: new Uint32Array(0),
  };
}

/** First position in [lo, hi) with a[pos] > x (a sorted ascending). */
function upperBoundIn(a: Float64Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function lowerBoundIn(a: Float64Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * lowerBound/upperBound by galloping from `lo`: the next pixel column's boundary is usually
 * close, and probing 1, 2, 4, … ahead stays in cache where a plain binary search over a 16 MB
 * column misses on nearly every step (measured: ~3x faster on 2 M events).
 */
function gallop(a: Float64Array, lo: number, hi: number, x: number, upper: boolean): number {
  let step = 1;
  let prev = lo;
  let probe = lo;
  while (probe < hi && (upper ? a[probe] <= x : a[probe] < x)) {
    prev = probe + 1;
    probe = lo + step;
    step *= 2;
  }
  return upper
    ? upperBoundIn(a, prev, Math.min(probe, hi), x)
    : lowerBoundIn(a, prev, Math.min(probe, hi), x);
}

function sliceLod(
  sched: SchedView,
  cpu: number,
  startNs: number,
  endNs: number,
  widthPx: number,
  out: ColumnOut,
): TrackLod['slices'] {
  const s = sched.slicesOf(cpu);
  const cap = 2 * widthPx + 4;
  const k = scratch(cap);
  const startA = k.f64a;
  const endA = k.f64b;
  const pidA = k.i32a;
  const mergedA = k.u32;
  const stateA = k.i32b;
  const waitA = k.f64c;
  let n = 0;
  const nsPerPx = (endNs - startNs) / widthPx;
  if (s && nsPerPx > 0) {
    const t: SliceTable = s.table;
    const st = t.startNs.array;
    const en = t.endNs.array;
    const hi = t.rows.length;
    // Slices do not overlap, so ends are sorted too: first slice ending after startNs.
    let i = upperBoundIn(en, t.rows.head, hi, startNs);
    while (i < hi && st[i] < endNs && n < cap - 1) {
      if (en[i] - st[i] >= nsPerPx) {
        startA[n] = st[i];
        endA[n] = en[i];
        pidA[n] = t.pid.array[i];
        mergedA[n] = 1;
        stateA[n] = t.endState.array[i];
        waitA[n] = t.waitNs.array[i];
        n++;
        i++;
        continue;
      }
      // Sub-pixel: take every slice that ends inside this pixel column in one item.
      const col = Math.floor((st[i] - startNs) / nsPerPx);
      const colEnd = startNs + (col + 1) * nsPerPx;
      let j = Math.max(i + 1, gallop(en, i, hi, colEnd, true));
      // A sub-pixel slice straddling the column's right edge joins this item too.
      if (j < hi && st[j] < colEnd && en[j] - st[j] < nsPerPx) j++;
      startA[n] = st[i];
      endA[n] = en[j - 1];
      pidA[n] = t.pid.array[i];
      mergedA[n] = j - i;
      stateA[n] = j - i === 1 ? t.endState.array[i] : -1;
      waitA[n] = j - i === 1 ? t.waitNs.array[i] : -1;
      n++;
      i = j;
    }
    const o = s.open;
    if (o && o.endNs > startNs && o.startNs < endNs && n < cap) {
      startA[n] = o.startNs;
      endA[n] = o.endNs;
      pidA[n] = o.pid;
      mergedA[n] = 1;
      stateA[n] = -1;
      waitA[n] = o.waitNs;
      n++;
    }
  }
  return {
    length: n,
    startNs: out.f64(startA, n),
    endNs: out.f64(endA, n),
    pid: out.i32(pidA, n),
    merged: out.u32(mergedA, n),
    endState: out.i32(stateA, n),
    waitNs: out.f64(waitA, n),
  };
}

/**
 * The finished pixel columns of a table's last dense answer, by grid column (see eventLod).
 * A column is kept only when events after its end were already in the table (no later append
 * can land in it) and is used again only if it still starts at the same event (eviction).
 */
interface ColumnCache {
  gridNs: number;
  col0: number;
  /** Columns in use (the arrays may be longer: they are reused). */
  length: number;
  firstAbs: Float64Array;
  count: Float64Array;
  tsNs: Float64Array;
  type: Float64Array;
}
/**
 * Per table, the last dense answer's columns and a spare set the next answer is built in (the
 * two swap): a following view asks ~50 times a second, and four fresh arrays per table per
 * answer were ~100 KB of short-lived ArrayBuffers each time. Reused, a following query at 3,100
 * columns runs 10–15 % faster on average and 30 % at p90 (Node; docs/benchmarks.md, session 11).
 */
const columnCaches = new WeakMap<CpuTable, {last?: ColumnCache; spare?: ColumnCache}>();

/** `spare` emptied for `n` columns at `gridNs` from `col0`, or new arrays when it is too short. */
function emptyColumnCache(
  spare: ColumnCache | undefined,
  gridNs: number,
  col0: number,
  n: number,
): ColumnCache {
  if (!spare || spare.firstAbs.length < n) {
    return {
      gridNs,
      col0,
      length: n,
      firstAbs: new Float64Array(n).fill(-1),
      count: new Float64Array(n),
      tsNs: new Float64Array(n),
      type: new Float64Array(n),
    };
  }
  spare.gridNs = gridNs;
  spare.col0 = col0;
  spare.length = n;
  spare.firstAbs.fill(-1, 0, n); // the only field read before it is written (`hit` check)
  return spare;
}

/** Pixel columns searched for (not taken from the cache) since start: diagnostics and tests. */
export const lodCounters = {columnSearches: 0};

/** Column width: ns per pixel to 4 significant digits, so a view that keeps its span keeps it. */
export function gridOf(nsPerPx: number): number {
  return Number(nsPerPx.toPrecision(4));
}

function eventLod(
  t: CpuTable,
  startNs: number,
  endNs: number,
  widthPx: number,
  types: TypeTable,
  out: ColumnOut,
): TrackLod['events'] {
  const ts = t.tsNs;
  const i0 = lowerBoundIn(ts, t.head, t.tail, startNs);
  const i1 = lowerBoundIn(ts, i0, t.tail, endNs);
  const inRange = i1 - i0;
  const dense = inRange > DENSE_EVENTS_PER_PX * widthPx;
  const grid = gridOf((endNs - startNs) / widthPx);
  const g0 = Math.floor(startNs / grid);
  const g1 = Math.ceil(endNs / grid);
  const cap = dense ? g1 - g0 + 1 : inRange;
  const k = scratch(cap);
  const tsA = k.f64a;
  const typeA = k.i32a;
  const idA = k.f64b;
  const countA = k.u32;
  const absOf = (pos: number) => t.firstAbs + (pos - t.head);
  let n = 0;
  if (!dense) {
    for (let i = i0; i < i1; i++, n++) {
      tsA[n] = ts[i];
      typeA[n] = types.indexOf(t.type[i]);
      idA[n] = eventRef(t.cpu, absOf(i));
      countA[n] = 1;
    }
  } else {
    // Columns sit on a grid of whole multiples of `grid` ns, not on startNs: a timeline that
    // follows live data slides by a few columns per frame and finds every finished column in
    // the cache, searching (a gallop through a multi-MB column, mostly cache misses) only the
    // new ones. Searches were ~20 % of the page worker's time at 500k events/s.
    let caches = columnCaches.get(t);
    if (!caches) columnCaches.set(t, (caches = {}));
    const old = caches.last;
    const hit = old && old.gridNs === grid ? old : undefined;
    const next = emptyColumnCache(caches.spare, grid, g0, g1 - g0);
    let i = i0;
    for (let c = g0; c < g1 && i < i1; c++) {
      const colStart = c * grid;
      const colEnd = Math.min((c + 1) * grid, endNs);
      const whole = colStart >= startNs && (c + 1) * grid <= endNs;
      const abs = absOf(i);
      const h = hit ? c - hit.col0 : -1;
      let j: number;
      let first: number;
      let type: number;
      if (whole && hit && h >= 0 && h < hit.length && hit.firstAbs[h] === abs) {
        j = i + hit.count[h];
        first = hit.tsNs[h];
        type = hit.type[h];
      } else {
        first = ts[i];
        lodCounters.columnSearches++;
        j = first >= colEnd ? i : gallop(ts, i, i1, colEnd, false);
        type = t.type[i];
      }
      if (whole && j < t.tail) {
        const x = c - g0;
        next.firstAbs[x] = abs;
        next.count[x] = j - i;
        next.tsNs[x] = first;
        next.type[x] = type;
      }
      if (j === i) continue;
      tsA[n] = first;
      typeA[n] = types.indexOf(type);
      idA[n] = eventRef(t.cpu, abs);
      countA[n] = j - i;
      n++;
      i = j;
    }
    caches.spare = old;
    caches.last = next;
  }
  return {
    length: n,
    tsNs: out.f64(tsA, n),
    type: out.i32(typeA, n),
    id: out.f64(idA, n),
    count: out.u32(countA, n),
  };
}

/**
 * Loss markers (pages that follow lost events) and swaps, at most one of each per column. Built
 * in the scratch columns and copied out once, like the other answers: growing plain arrays by
 * `push` per page (a following view at 500k events/s passes ~7,000 pages per query) made this
 * the page worker's biggest source of fresh memory (perf page-fault samples, issue #6).
 */
function pageMarks(
  t: CpuTable,
  startNs: number,
  endNs: number,
  widthPx: number,
  out: ColumnOut,
): Pick<TrackLod, 'lost' | 'swaps'> {
  // Marks start pages with firstTsNs in [startNs, endNs): columns 0..widthPx (rounding). Pages
  // out of time order could start a column twice: past `cap` they join the last mark.
  const cap = widthPx + 2;
  const k = scratch(cap);
  const lostTs = k.f64a;
  const lostCount = k.f64b;
  const swapTs = k.f64c;
  const swapId = k.i32a;
  const swapSkipped = k.i32b;
  let nLost = 0;
  let nSwap = 0;
  const nsPerPx = (endNs - startNs) / widthPx;
  const pages = t.pages;
  let lo = t.pageHead;
  let hi = pages.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pages[mid].lastTsNs < startNs) lo = mid + 1;
    else hi = mid;
  }
  let lostCol = -1;
  let swapCol = -1;
  for (let i = lo; i < pages.length; i++) {
    const p = pages[i];
    if (p.firstTsNs >= endNs) break;
    if (p.firstTsNs < startNs) continue;
    const col = Math.floor((p.firstTsNs - startNs) / nsPerPx);
    if (p.lostBefore !== 0) {
      if (col === lostCol || nLost === cap) {
        const m = nLost - 1;
        lostCount[m] = lostCount[m] < 0 || p.lostBefore < 0 ? -1 : lostCount[m] + p.lostBefore;
      } else {
        lostTs[nLost] = p.firstTsNs;
        lostCount[nLost] = p.lostBefore;
        nLost++;
        lostCol = col;
      }
    }
    if (p.swap) {
      if (col === swapCol || nSwap === cap) {
        swapId[nSwap - 1] = p.subbufId;
        swapSkipped[nSwap - 1] += p.skippedBefore;
      } else {
        swapTs[nSwap] = p.firstTsNs;
        swapId[nSwap] = p.subbufId;
        swapSkipped[nSwap] = p.skippedBefore;
        nSwap++;
        swapCol = col;
      }
    }
  }
  return {
    lost: {
      length: nLost,
      tsNs: out.f64(lostTs, nLost),
      count: out.f64(lostCount, nLost),
    },
    swaps: {
      length: nSwap,
      tsNs: out.f64(swapTs, nSwap),
      subbufId: out.i32(swapId, nSwap),
      skipped: out.i32(swapSkipped, nSwap),
    },
  };
}
