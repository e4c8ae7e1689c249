/**
 * Write → painted latency: how long after markgen's write() an event is on screen in the
 * dashboard. The real server (lib/serve-child.ts: `ringside serve` on the mmap source, own
 * instance with trace clock 'mono', so an event's timestamp is its CLOCK_MONOTONIC write time)
 * and the dashboard in headless Chromium, following live data (the default). The page runs with
 * the paint probe on (app/render/paint-probe.ts): each timeline draw logs its wall time and the
 * newest event timestamp it drew. An event counts as painted at the first draw of its CPU's
 * timeline whose newest drawn timestamp is ≥ its own; latency = that draw's time (converted to
 * CLOCK_MONOTONIC) − the event's timestamp. "Painted" is the end of the canvas draw in the
 * animation frame; the compositor shows it at the next vsync (≤ one frame later).
 *
 * Clocks: the bench measures wall − monotonic in its own process (Date.now() at its millisecond
 * edges vs process.hrtime, tightest of several) and, as a cross-check, the page's clock against
 * process.hrtime directly (a round trip to the page, tightest of 15). The page's wall time is
 * converted with the first; both offsets and their difference are printed.
 *
 * Reference in the same run: a headless Node consumer (worker/connection.ts + reader-loop.ts,
 * as in `bench latency`) connected to the same server gives write → decoded latency and the
 * events' timestamps. Then `bench latency`'s own run gives trace-cmd stream at the same loads.
 *
 * Loads: light = a 1k/s probe on cpu1; heavy = probe + 500k/s on cpu0 (--heavy-rate N: N/s; a
 * list runs heavy once per rate, a sweep). Percentiles of the probe.
 *
 * npm run bench painted [--secs S] [--no-stream] [--loads light,heavy] [--heavy-rate N]
 *   [--repeat N] [--page-nice N] [--profile | --trace | --sched]
 * (--repeat N: every load N times, in turn, then each figure's median and range over the runs
 * and how many met the aim, lib/over-runs.ts: one run's p99 under heavy load is a draw from a
 * 3–5× range on this VM)
 * (--profile: CPU profiles of the page's worker and main thread per load, top self times printed;
 * --trace: a Chromium trace per load, self time by trace event per thread, lib/chrome-trace.ts;
 * --sched: every thread's time running and waiting in the run queue over the load's middle,
 * lib/sched-split.ts; --page-nice N: the browser's threads at nice N while the writers run, a
 * diagnostic of how much of the tail is waiting behind the rest of the machine, lib/page-nice.ts)
 */
import {execFileSync} from 'node:child_process';
import {readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {loadavg} from 'node:os';
import {CdpBrowser, type CdpPage} from './lib/cdp-browser.ts';
import {ensureBuilt} from '../app/e2e/harness.ts';
import {startChromeTrace} from './lib/chrome-trace.ts';
import {installCleanup} from './lib/cleanup.ts';
import {formatPace, machinePace} from './lib/machine-pace.ts';
import {formatOverRuns, overRuns, repeatArg} from './lib/over-runs.ts';
import {cpuWindow, type CpuShare} from './lib/page-cpu.ts';
import {holdNice, type NiceHold} from './lib/page-nice.ts';
import {schedDuringLoad} from './lib/sched-split.ts';
import {LiveConsumer, startServer} from './lib/live.ts';
import {
  BUILD,
  HEAVY_RATE,
  buildTools,
  runMarkgens,
  type MarkgenResult,
  type Tools,
  type Writer,
} from './lib/tools.ts';
import {percentiles, wallMinusMonoNs} from './lib/util.ts';

const PS = [50, 95, 99, 100];
const PROBE_CPU = 1;
const BG_CPU = 0;
type Load = 'light' | 'heavy';

/** Before the app loads: the paint log (turns the probe on) and a long-task log (> 50 ms). */
const INIT_PAGE = `window.__ringsidePaintProbe = []; window.__ringsideEdgeProbe = [];
  window.__longTasks = [];
  new PerformanceObserver((l) => l.getEntries().forEach((e) =>
    window.__longTasks.push(performance.timeOrigin + e.startTime, e.duration)))
    .observe({type: 'longtask'});`;

const DIST_ASSETS = new URL('../dist/assets/', import.meta.url);

/**
 * The UI bundle must be a production build: `npm run test:e2e` runs vite under NODE_ENV=test,
 * which leaves React's development build in dist/ (ensureBuilt only rebuilds a stale bundle),
 * and that costs the page several times more per render. Rebuild in production mode if so.
 */
function ensureProductionBuild(): void {
  const js = readdirSync(DIST_ASSETS).filter((f) => f.endsWith('.js'));
  if (!js.some((f) => readFileSync(new URL(f, DIST_ASSETS), 'utf8').includes('jsxDEV'))) return;
  console.log('dist/ holds a development build (React jsxDEV): rebuilding in production mode');
  execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], {
    cwd: new URL('..', import.meta.url),
    stdio: 'inherit',
    env: {...process.env, NODE_ENV: 'production'},
    timeout: 180_000,
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 'light', 'heavy' at the default rate, 'heavy@50k' at another. */
const loadLabel = (r: {load: Load; bgRate: number}): string =>
  r.load === 'heavy' && r.bgRate !== HEAVY_RATE ? `heavy@${r.bgRate / 1000}k` : r.load;

function writersFor(load: Load, heavyRate: number): Writer[] {
  const probe = {cpu: PROBE_CPU, rate: 1000};
  return load === 'light' ? [probe] : [{cpu: BG_CPU, rate: heavyRate}, probe];
}

interface ProfileNode {
  id: number;
  callFrame: {functionName: string; url: string; lineNumber: number};
}

/**
 * `--profile`: V8 CPU profiles of the page's worker (where the events are decoded, kept and
 * queried) and of its main thread over the measured run. Minified names: map them with
 * dist/assets/*.map.
 */
async function startWorkerProfile(
  page: CdpPage,
): Promise<() => Promise<{worker: unknown; main: unknown}>> {
  const [worker] = await page.attachWorkers();
  if (!worker) throw new Error('no worker target to profile');
  const both = async (method: string, params: object = {}) => {
    await page.browser.send(method, params as Record<string, unknown>, worker);
    await page.send(method, params as Record<string, unknown>);
  };
  await both('Profiler.enable');
  await both('Profiler.setSamplingInterval', {interval: 200});
  await both('Profiler.start');
  return async () => {
    const w = await page.browser.send<{profile: unknown}>('Profiler.stop', {}, worker);
    const m = await page.send<{profile: unknown}>('Profiler.stop');
    return {worker: w.profile, main: m.profile};
  };
}

/** Self time by function (ms), the top `n`, and the total sampled. */
function profileTop(profile: unknown, n: number): string {
  const p = profile as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const selfUs = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i]);
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (!node) continue;
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
    if (f.functionName !== '(idle)' && f.functionName !== '(program)') total += dt;
  }
  const top = [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, n);
  return (
    `worker busy (samples outside idle/program) ${(total / 1000).toFixed(0)} ms; self time:\n` +
    top.map(([k, us]) => `    ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`).join('\n')
  );
}

/** Page clock (performance.timeOrigin + now, ms) − CLOCK_MONOTONIC, by round trips to the page. */
async function pageMinusMonoNs(page: CdpPage): Promise<{offsetNs: number; rttNs: number}> {
  let best = {offsetNs: NaN, rttNs: Infinity};
  for (let i = 0; i < 15; i++) {
    const t0 = process.hrtime.bigint();
    const pageMs = await page.evaluate('performance.timeOrigin + performance.now()');
    const t1 = process.hrtime.bigint();
    const rttNs = Number(t1 - t0);
    if (rttNs < best.rttNs) {
      best = {offsetNs: (pageMs as number) * 1e6 - (Number(t0) + rttNs / 2), rttNs};
    }
  }
  return best;
}

/** Numbers per draw in the page's log (app/render/paint-probe.ts). */
const PER_DRAW = 6;

interface PaintFrame {
  monoNs: number;
  newestNs: number;
  vpStartNs: number;
  vpEndNs: number;
  marks: number;
}

/** The probe CPU's draws from the page's log, wall ms converted to monotonic ns. */
function framesOf(log: number[], cpu: number, wallMinusMono: number): PaintFrame[] {
  const out: PaintFrame[] = [];
  const offsetMs = wallMinusMono / 1e6;
  for (let i = 0; i + PER_DRAW <= log.length; i += PER_DRAW) {
    if (log[i + 1] !== cpu) continue;
    out.push({
      monoNs: (log[i] - offsetMs) * 1e6,
      newestNs: log[i + 2],
      vpStartNs: log[i + 3],
      vpEndNs: log[i + 4],
      marks: log[i + 5],
    });
  }
  return out.sort((a, b) => a.monoNs - b.monoNs);
}

/** Per event (sorted timestamps): first draw whose newest drawn ts ≥ the event's, minus it. */
export function paintedLatencies(
  eventTsNs: number[],
  frames: PaintFrame[],
): {latencyNs: number[]; tsNs: number[]; unpainted: number} {
  const ts = Float64Array.from(eventTsNs).sort();
  const latencyNs: number[] = [];
  const tsNs: number[] = [];
  let f = 0;
  let unpainted = 0;
  for (const t of ts) {
    while (f < frames.length && frames[f].newestNs < t) f++;
    if (f === frames.length) {
      unpainted++;
      continue;
    }
    latencyNs.push(frames[f].monoNs - t);
    tsNs.push(t);
  }
  return {latencyNs, tsNs, unpainted};
}

/**
 * Painted p50/p99 (ms) per second of the run, by the event's own time: separates the first
 * seconds (the page's window still filling: new memory, column growth) from the steady state.
 */
export function perSecondMs(p: {latencyNs: number[]; tsNs: number[]}): [number, number][] {
  if (p.tsNs.length === 0) return [];
  const t0 = p.tsNs[0];
  const bins: number[][] = [];
  p.tsNs.forEach((t, i) => (bins[Math.floor((t - t0) / 1e9)] ??= []).push(p.latencyNs[i]));
  return [...bins].map((b) => {
    const [p50, p99] = b ? percentiles(b, [50, 99]) : [NaN, NaN];
    return [p50 / 1e6, p99 / 1e6];
  });
}

/** How the timeline moved during the run: draws, viewport moves and new-data draws per second. */
function paintRates(frames: PaintFrame[]) {
  // Draws of the probe CPU with no event mark at all (an empty track), and with marks but no
  // readable newest timestamp (NaN): both should stay 0 while the probe writes.
  const emptyDraws = frames.filter((f) => f.newestNs === -Infinity).length;
  const spans = frames.map((f) => (f.vpEndNs - f.vpStartNs) / 1e6);
  const [spanMinMs, spanP50Ms] = percentiles(spans, [0, 50]);
  const nanDraws = frames.filter((f) => Number.isNaN(f.newestNs)).length;
  if (frames.length < 2)
    return {
      drawsPerS: 0,
      viewportMovesPerS: 0,
      newDataDrawsPerS: 0,
      emptyDraws,
      nanDraws,
      draws: frames.length,
      spanMinMs,
      spanP50Ms,
    };
  const s = (frames.at(-1)!.monoNs - frames[0].monoNs) / 1e9;
  let moves = 0;
  let fresh = 0;
  for (let i = 1; i < frames.length; i++) {
    if (frames[i].vpEndNs !== frames[i - 1].vpEndNs) moves++;
    if (frames[i].newestNs > frames[i - 1].newestNs) fresh++;
  }
  return {
    drawsPerS: frames.length / s,
    viewportMovesPerS: moves / s,
    newDataDrawsPerS: fresh / s,
    emptyDraws,
    nanDraws,
    draws: frames.length,
    spanMinMs,
    spanP50Ms,
  };
}

/** Write → painted aim, p99 (issue #6). */
const PAINTED_AIM_MS = 50;

interface LoadResult {
  load: Load;
  /** Which run of the load this is (1-based; `--repeat`). */
  round: number;
  /** The background writer's rate (0 for light). */
  bgRate: number;
  probeWritten: number;
  probeDecoded: number;
  unpainted: number;
  /**
   * Where the probe's unpainted events went, when there are any: the newest probe event, the
   * newest one the page drew and the newest one an 'edge' push reached the page with (ns on the
   * trace clock), and the page's own loss counters for the probe CPU (its stats panel: delivery
   * gaps are slices the server dropped because the page fell behind).
   */
  unpaintedWhy?: {
    lastEventNs: number;
    lastDrawnNs: number;
    lastEdgeNs: number;
    pageLoss: Record<string, string>;
  };
  /** p50, p95, p99, max in ms. */
  paintedMs: number[];
  paintedPerSecondMs: [number, number][];
  decodedMs: number[];
  /** Write → the page main thread handled an 'edge' push covering the event. */
  edgeMs: number[];
  /** Write → the worker sent that push (its wall clock; the rest is the main thread's queue). */
  edgeSentMs: number[];
  rates: ReturnType<typeof paintRates>;
  /** Main-thread tasks > 50 ms in the page during the run. */
  longTasks: {count: number; totalMs: number};
  clock: {wallMinusMonoNs: number; errNs: number; pageMinusMonoNs: number; pageRttNs: number};
  loadAvg: number[];
  startUtc: string;
  follow: string | null;
  /** What the background writer (heavy) reached: events written and its achieved rate per s. */
  bgWritten?: {written: number; rate: number};
  /**
   * The browser's CPU while the writers ran (every process of it, lib/page-cpu.ts), % of one
   * core, and its busiest thread.
   */
  pageCpu: CpuShare;
  /** The server's CPU over the same window (`ringside serve`, with its reader thread). */
  serverCpu: CpuShare;
  /** `--page-nice N`: the browser's threads held at nice N during the load, and how many. */
  pageNice?: {nice: number; threads: number; refused: number};
}

/**
 * The background writer's count and achieved rate: a page given the CPU first (`--page-nice`)
 * can leave markgen short of its rate, and a lighter load is not the same load.
 */
function bgWritten(mg: MarkgenResult[]): Pick<LoadResult, 'bgWritten'> {
  const bg = mg.find((m) => m.cpu === BG_CPU);
  return bg ? {bgWritten: {written: bg.written, rate: bg.rate}} : {};
}

async function runLoad(
  t: Tools,
  load: Load,
  secs: number,
  browser: CdpBrowser,
  profile: 'profile' | 'trace' | 'sched' | undefined,
  heavyRate: number,
  round: number,
  pageNice: number | undefined,
): Promise<LoadResult> {
  const label = loadLabel({load, bgRate: heavyRate});
  const startUtc = new Date().toISOString();
  const loadAvg = loadavg();
  const server = await startServer({clock: 'mono'});
  const page = await browser.newPage(1600, 1000, INIT_PAGE);
  page.onError((e) => console.error(`  page error: ${e}`));
  let consumer: LiveConsumer | undefined;
  let nice: NiceHold | undefined;
  try {
    await page.goto(server.url);
    await page.waitFor(`document.querySelector('[data-testid=cpu-stats-0]')`);
    // Warm-up: a few events so the timeline has data and follow mode has snapped to it.
    await runMarkgens(t, server.instance, [{cpu: PROBE_CPU, rate: 1000}], 0.5);
    await sleep(1500);
    const follow = await page.evaluate<string | null>(
      `document.querySelector('[data-testid=follow-toggle]')?.getAttribute('aria-pressed') ?? null`,
    );
    consumer = new LiveConsumer(server.url, {
      latency: true,
      latencyCpu: PROBE_CPU,
      onlyCpu: process.env.RINGSIDE_BENCH_FULL_CONSUMER ? undefined : PROBE_CPU,
    });
    await consumer.start();
    await sleep(300);
    consumer.latencyNs.length = 0;
    consumer.latencyTsNs.length = 0;
    const wm = wallMinusMonoNs();
    const pm = await pageMinusMonoNs(page);
    await page.evaluate(
      'window.__ringsidePaintProbe.length = 0; window.__ringsideEdgeProbe.length = 0; ' +
        'window.__longTasks.length = 0',
    );
    const stopProfile = profile === 'profile' ? await startWorkerProfile(page) : undefined;
    const traceFile = `${BUILD}painted-${load}.trace.json`;
    const stopTrace = profile === 'trace' ? await startChromeTrace(browser, traceFile) : undefined;
    const sched = profile === 'sched' ? schedDuringLoad(secs, `${label}: `, server.pid) : undefined;
    nice = pageNice === undefined ? undefined : holdNice(browser.pid, pageNice);
    const cpu = cpuWindow(browser.pid);
    const serverCpuWindow = cpuWindow(server.pid);
    const mg = await runMarkgens(t, server.instance, writersFor(load, heavyRate), secs);
    const pageCpu = cpu.stop();
    const serverCpu = serverCpuWindow.stop();
    const niced = nice?.stop();
    if (niced?.firstError)
      console.error(`  --page-nice: ${niced.refused} threads refused (${niced.firstError})`);
    if (sched) console.log(await sched);
    await consumer.settle();
    if (stopTrace)
      console.log(`${label}: Chromium trace (${traceFile}), per thread\n${await stopTrace()}`);
    if (stopProfile) {
      const prof = await stopProfile();
      for (const [name, p] of Object.entries(prof)) {
        const file = `${BUILD}painted-${load}-${name}.cpuprofile`;
        writeFileSync(file, JSON.stringify(p));
        console.log(`${label}: page ${name} thread profile (${file})`);
        console.log(profileTop(p, 15));
      }
    }
    await sleep(3000); // let the page draw the last events
    const log = (await page.evaluate('window.__ringsidePaintProbe.splice(0)')) as number[];
    const long = (await page.evaluate('window.__longTasks.splice(0)')) as number[];
    const edgeLog = (await page.evaluate('window.__ringsideEdgeProbe.splice(0)')) as number[];
    const longTaskMs = long.filter((_, i) => i % 2 === 1);
    const frames = framesOf(log, PROBE_CPU, wm.offsetNs);
    const painted = paintedLatencies(consumer.latencyTsNs, frames);
    // The same rule against the 'edge' pushes: when the page's main thread heard of the event.
    // And against the worker's own send time of each push (paint-probe.ts: wall, newest, sent).
    const edgeAt = (col: 0 | 2): PaintFrame[] => {
      const out: PaintFrame[] = [];
      for (let i = 0; i + 2 < edgeLog.length; i += 3) {
        const wallMs = edgeLog[i + col];
        if (Number.isFinite(wallMs))
          out.push({
            monoNs: (wallMs - wm.offsetNs / 1e6) * 1e6,
            newestNs: edgeLog[i + 1],
            vpStartNs: 0,
            vpEndNs: 0,
            marks: 0,
          });
      }
      return out;
    };
    const heardFrames = edgeAt(0);
    const heard = paintedLatencies(consumer.latencyTsNs, heardFrames);
    const unpaintedWhy =
      painted.unpainted > 0
        ? {
            lastEventNs: consumer.latencyTsNs.reduce((a, b) => Math.max(a, b), -Infinity),
            lastDrawnNs: frames.reduce((a, f) => Math.max(a, f.newestNs), -Infinity),
            lastEdgeNs: heardFrames.reduce((a, f) => Math.max(a, f.newestNs), -Infinity),
            pageLoss: (await page.evaluate(
              `Object.fromEntries([...document.querySelectorAll('[data-testid=cpu-stats-${PROBE_CPU}] [data-testid]')]` +
                `.filter((e) => /lost|gaps/.test(e.dataset.testid)).map((e) => [e.dataset.testid, e.textContent]))`,
            )) as Record<string, string>,
          }
        : undefined;
    const sent = paintedLatencies(consumer.latencyTsNs, edgeAt(2));
    // Raw series for a closer look (bench/build/ is not committed).
    writeFileSync(
      `${BUILD}painted-${load}.json`,
      JSON.stringify({eventTsNs: consumer.latencyTsNs, decodedNs: consumer.latencyNs, frames}),
    );
    const ms = (ns: number[]) => percentiles(ns, PS).map((x) => x / 1e6);
    return {
      load,
      round,
      bgRate: load === 'light' ? 0 : heavyRate,
      probeWritten: mg.find((m) => m.cpu === PROBE_CPU)?.written ?? 0,
      probeDecoded: consumer.latencyTsNs.length,
      ...bgWritten(mg),
      unpainted: painted.unpainted,
      unpaintedWhy,
      paintedMs: ms(painted.latencyNs),
      decodedMs: ms(consumer.latencyNs),
      edgeMs: ms(heard.latencyNs),
      edgeSentMs: ms(sent.latencyNs),
      paintedPerSecondMs: perSecondMs(painted),
      rates: paintRates(frames),
      longTasks: {count: longTaskMs.length, totalMs: longTaskMs.reduce((a, b) => a + b, 0)},
      pageCpu,
      serverCpu,
      clock: {
        wallMinusMonoNs: wm.offsetNs,
        errNs: wm.errNs,
        pageMinusMonoNs: pm.offsetNs,
        pageRttNs: pm.rttNs,
      },
      loadAvg,
      startUtc,
      follow,
      ...(niced && pageNice !== undefined
        ? {pageNice: {nice: pageNice, threads: niced.threads, refused: niced.refused}}
        : {}),
    };
  } finally {
    nice?.stop();
    consumer?.stop();
    await page.close();
    await server.stop();
  }
}

const f1 = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

/** Per load: painted p50 / p99 and decoded p99 over the `--repeat` runs, printed and returned. */
function summariseRounds(results: LoadResult[]) {
  const labels = [...new Set(results.map(loadLabel))];
  console.log(`\nover ${Math.max(...results.map((r) => r.round))} runs of each load:`);
  return labels.map((label) => {
    const rs = results.filter((r) => loadLabel(r) === label);
    const row = {
      load: label,
      paintedP50: overRuns(rs.map((r) => r.paintedMs[0])),
      paintedP99: overRuns(
        rs.map((r) => r.paintedMs[2]),
        PAINTED_AIM_MS,
      ),
      decodedP99: overRuns(rs.map((r) => r.decodedMs[2])),
      pageCpuPct: overRuns(rs.map((r) => r.pageCpu.pctOfCore)),
      serverCpuPct: overRuns(rs.map((r) => r.serverCpu.pctOfCore)),
    };
    console.log(`${label}: painted p99 ${formatOverRuns(row.paintedP99)}`);
    console.log(`${' '.repeat(label.length)}  painted p50 ${formatOverRuns(row.paintedP50)}`);
    console.log(
      `${' '.repeat(label.length)}  decoded p99 ${formatOverRuns(row.decodedP99)} (same runs)`,
    );
    console.log(
      `${' '.repeat(label.length)}  browser CPU ${formatOverRuns(row.pageCpuPct, '%')} (of one core)`,
    );
    console.log(
      `${' '.repeat(label.length)}  server CPU ${formatOverRuns(row.serverCpuPct, '%')} (of one core)`,
    );
    return row;
  });
}

export const paintedBench = {
  describe:
    'write-to-painted latency in the dashboard (headless Chromium, live mmap, clock mono) vs write-to-decoded and trace-cmd stream',
  async run(args: string[]) {
    installCleanup();
    const opt = (k: string) => {
      const i = args.indexOf(k);
      return i >= 0 ? args[i + 1] : undefined;
    };
    const secs = Number(opt('--secs') ?? 5);
    const loads = (opt('--loads') ?? 'light,heavy').split(',') as Load[];
    const heavyRates = (opt('--heavy-rate') ?? String(HEAVY_RATE)).split(',').map(Number);
    if (!heavyRates.every((r) => Number.isInteger(r) && r >= 1)) {
      throw new Error(`--heavy-rate needs whole numbers of events per second ≥ 1 (N[,M…])`);
    }
    const repeat = repeatArg(args);
    const pageNice = opt('--page-nice') === undefined ? undefined : Number(opt('--page-nice'));
    if (
      pageNice !== undefined &&
      !(Number.isInteger(pageNice) && pageNice >= -20 && pageNice <= 19)
    ) {
      throw new Error('--page-nice needs a nice value, a whole number from -20 to 19');
    }
    const runLabel = (r: LoadResult) => loadLabel(r) + (repeat > 1 ? ` #${r.round}` : '');
    ensureBuilt();
    ensureProductionBuild();
    const t = buildTools();
    const profile = args.includes('--profile')
      ? 'profile'
      : args.includes('--trace')
        ? 'trace'
        : args.includes('--sched')
          ? 'sched'
          : undefined;
    const results: LoadResult[] = [];
    // Before Chromium starts and after it is gone: the machine's own pace, not the bench's.
    const paceBefore = machinePace();
    const browser = await CdpBrowser.launch();
    try {
      for (let round = 1; round <= repeat; round++)
        for (const load of loads)
          for (const heavyRate of load === 'heavy' ? heavyRates : [0])
            results.push(
              await runLoad(t, load, secs, browser, profile, heavyRate, round, pageNice),
            );
    } finally {
      await browser.close();
    }
    const pace = {before: paceBefore, after: machinePace()};
    console.log(`before the runs, ${formatPace(pace.before)}`);
    console.log(`after the runs, ${formatPace(pace.after)}`);
    console.log(
      `probe 1k/s on cpu${PROBE_CPU}; heavy adds ${heavyRates.map((r) => `${r / 1000}k/s`).join(', ')} on cpu${BG_CPU}; ${secs} s per load; ` +
        `a headless Node consumer on the same server (decoding cpu${PROBE_CPU} only) is the decoded reference`,
    );
    console.log(
      'load        start UTC  loadavg  probe (decoded/painted)  latency  p50 ms  p95 ms  p99 ms  max ms',
    );
    for (const r of results) {
      const head = `${runLabel(r).padEnd(11)} ${r.startUtc.slice(11, 19)}  ${r.loadAvg[0].toFixed(2).padStart(5)}   ${String(r.probeDecoded).padStart(5)}/${String(r.probeDecoded - r.unpainted).padEnd(5)} of ${String(r.probeWritten).padEnd(5)}`;
      console.log(`${head}  painted ${r.paintedMs.map((x) => f1(x).padStart(7)).join(' ')}`);
      console.log(
        `${' '.repeat(head.length)}  decoded ${r.decodedMs.map((x) => f1(x).padStart(7)).join(' ')}`,
      );
      console.log(
        `${' '.repeat(head.length)}  worker sent ${r.edgeSentMs.map((x) => f1(x).padStart(4)).join(' ')}` +
          ` (the page's worker pushed 'edge' for it)`,
      );
      console.log(
        `${' '.repeat(head.length)}  page heard ${r.edgeMs.map((x) => f1(x).padStart(4)).join(' ')}` +
          ` (the 'edge' push reached the page's main thread)`,
      );
      const why = r.unpaintedWhy;
      if (why) {
        const rel = (ns: number) => {
          const ms = (why.lastEventNs - ns) / 1e6;
          return ms >= 0 ? `${ms.toFixed(1)} ms before` : `${(-ms).toFixed(1)} ms after`;
        };
        console.log(
          `${' '.repeat(head.length)}  ${r.unpainted} probe events never drawn: the newest drawn ` +
            `was ${rel(why.lastDrawnNs)} the last probe event, the newest 'edge' ` +
            `${rel(why.lastEdgeNs)} it; page's cpu${PROBE_CPU} loss: ` +
            Object.entries(why.pageLoss)
              .map(([k, v]) => `${k.replace(/^stat-/, '')} ${v}`)
              .join(', '),
        );
      }
      console.log(
        `${' '.repeat(head.length)}  painted p50/p99 per second: ` +
          r.paintedPerSecondMs.map(([a, b]) => `${a.toFixed(0)}/${b.toFixed(0)}`).join(' '),
      );
      console.log(
        `${' '.repeat(head.length)}  follow ${r.follow}; cpu${PROBE_CPU} timeline: ${r.rates.drawsPerS.toFixed(1)} draws/s, ` +
          `viewport moved ${r.rates.viewportMovesPerS.toFixed(1)}/s, new data drawn ${r.rates.newDataDrawsPerS.toFixed(1)}/s; ` +
          `view span p50 ${f1(r.rates.spanP50Ms)} ms (min ${f1(r.rates.spanMinMs)}); ` +
          `long tasks ${r.longTasks.count} (${r.longTasks.totalMs.toFixed(0)} ms); ` +
          `draws with an empty cpu${PROBE_CPU} track ${r.rates.emptyDraws}${r.rates.nanDraws ? ` (+${r.rates.nanDraws} NaN)` : ''} of ${r.rates.draws}; ` +
          `clocks: page − (wall−mono) = ${((r.clock.pageMinusMonoNs - r.clock.wallMinusMonoNs) / 1e6).toFixed(2)} ms ` +
          `(±${(r.clock.errNs / 1e3).toFixed(1)} µs, page rtt ${(r.clock.pageRttNs / 1e6).toFixed(2)} ms)`,
      );
      console.log(
        `${' '.repeat(head.length)}  browser CPU while writing: ${r.pageCpu.pctOfCore.toFixed(0)} % of a core ` +
          `(busiest thread ${r.pageCpu.busiest.name} ${r.pageCpu.busiest.pctOfCore.toFixed(0)} %); ` +
          `server ${r.serverCpu.pctOfCore.toFixed(0)} %`,
      );
      if (r.bgWritten)
        console.log(
          `${' '.repeat(head.length)}  background writer on cpu${BG_CPU}: ${r.bgWritten.written} events, ` +
            `reached ${(r.bgWritten.rate / 1000).toFixed(0)}k/s of ${r.bgRate / 1000}k/s`,
        );
      if (r.pageNice)
        console.log(
          `${' '.repeat(head.length)}  --page-nice: ${r.pageNice.threads} browser threads held at nice ${r.pageNice.nice}` +
            (r.pageNice.refused ? ` (${r.pageNice.refused} refused)` : ''),
        );
    }
    let stream: unknown;
    if (!args.includes('--no-stream')) {
      console.log(
        '\nreference: bench latency (ringside decoded, trace-cmd stream) at the same loads',
      );
      const {latencyBench} = await import('./latency.bench.ts');
      const lat = (await latencyBench.run(['--secs', '3'])) as {
        results: {tool: string; load: string; us: number[]}[];
      };
      stream = lat.results;
      for (const r of results) {
        for (const ref of ['stream', 'stream-bp0']) {
          const s = lat.results.find((x) => x.tool === ref && x.load === r.load);
          // bench latency's heavy load is HEAVY_RATE: other rates have no reference there.
          if (!s || !(s.us[0] > 0) || (r.load === 'heavy' && r.bgRate !== HEAVY_RATE)) continue;
          const ratio = s.us.map((x, j) => x / 1000 / r.paintedMs[j]);
          console.log(
            `${runLabel(r)}: trace-cmd ${ref} (printed) / ringside painted: p50 ${ratio[0].toFixed(1)}x, ` +
              `p99 ${ratio[2].toFixed(1)}x`,
          );
        }
      }
    }
    for (const r of results) {
      console.log(
        `${runLabel(r)}: painted / decoded (same run): p50 ${(r.paintedMs[0] / r.decodedMs[0]).toFixed(0)}x, ` +
          `p99 ${(r.paintedMs[2] / r.decodedMs[2]).toFixed(1)}x; aim p99 < ${PAINTED_AIM_MS} ms: ${r.paintedMs[2] < PAINTED_AIM_MS ? 'met' : 'not met'}`,
      );
    }
    const overRounds = repeat > 1 ? summariseRounds(results) : undefined;
    return {
      secs,
      repeat,
      overRounds,
      pace,
      heavyRates,
      probeCpu: PROBE_CPU,
      bgCpu: BG_CPU,
      percentiles: PS,
      results,
      stream,
    };
  },
};
