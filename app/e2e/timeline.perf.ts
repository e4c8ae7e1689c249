/**
 * Pan/zoom frame times with 2 CPUs × 2M events in headless Chromium. Run by hand:
 *
 *   npx tsx app/e2e/timeline.perf.ts [eventsPerCpu]
 *
 * Starts Vite's dev server on the perf harness (real App + canvases over synthetic columns),
 * then measures two things:
 *  1. input-driven: real wheel and drag events through CDP; per frame, the scheduler's
 *     `ringside:frame` measure (all canvases redrawn in that frame);
 *  2. frame-driven: a zoom and a pan animation applied once per rAF inside the page; the rAF
 *     interval (what the user sees as smoothness) and the draw time per frame.
 */
import {dirname, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {createServer} from 'vite';
import {launchChromium, percentile} from './browser.ts';

/** What perf-harness.tsx puts on window (that file belongs to the browser project). */
interface BenchWindow {
  __bench: {
    store: {
      getState(): {
        setViewport(vp: {startNs: number; endNs: number}): void;
        zoomAt(anchorNs: number, factor: number): void;
        panByFraction(f: number): void;
      };
    };
    scheduler: {measure: boolean};
    cache: {get(cpu: number): unknown};
    buildMs: number;
  };
}
declare const window: BenchWindow & Window;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const N = Number(process.argv[2] ?? 2_000_000);

function summary(name: string, xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(2).padStart(7);
  return `${name.padEnd(34)} n=${String(s.length).padStart(4)}  p50 ${f(percentile(s, 50))} ms  p95 ${f(percentile(s, 95))} ms  max ${f(s[s.length - 1] ?? NaN)} ms`;
}

const server = await createServer({
  configFile: resolve(ROOT, 'vite.config.ts'),
  server: {port: 0, host: '127.0.0.1'},
  logLevel: 'warn',
});
await server.listen();
const base = server.resolvedUrls?.local[0] ?? '';
const browser = await launchChromium();
try {
  const page = await browser.newPage({viewport: {width: 1600, height: 1000}});
  page.on('console', (m) => m.type() === 'error' && console.error('[page]', m.text()));
  await page.goto(`${base}e2e/perf-harness.html?n=${N}&cpus=2`, {timeout: 120_000});
  await page.waitForFunction(
    () => window.__bench?.cache.get(0) && window.__bench.cache.get(1),
    null,
    {timeout: 120_000},
  );
  const buildMs = await page.evaluate(() => window.__bench.buildMs);
  console.log(`synthetic columns: 2 × ${N} events built in ${buildMs.toFixed(0)} ms`);

  const box = (await page.locator('[data-testid=timeline-cpu-0]').boundingBox())!;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const nextFrame = () =>
    page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => r())));
  const takeMeasures = () =>
    page.evaluate(() => {
      const d = performance.getEntriesByName('ringside:frame').map((e) => e.duration);
      performance.clearMeasures('ringside:frame');
      return d;
    });
  await page.evaluate(() => {
    window.__bench.store.getState().setViewport({startNs: 0, endNs: 10e9});
    window.__bench.scheduler.measure = true;
    performance.clearMeasures();
  });
  await nextFrame();
  await nextFrame();
  await takeMeasures();

  // 1. Input-driven.
  await page.mouse.move(cx, cy);
  for (let i = 0; i < 40; i++) {
    await page.mouse.wheel(0, -120);
    await nextFrame();
  }
  for (let i = 0; i < 40; i++) {
    await page.mouse.wheel(0, 120);
    await nextFrame();
  }
  const wheel = await takeMeasures();
  await page.evaluate(() =>
    window.__bench.store.getState().setViewport({startNs: 4e9, endNs: 4.1e9}),
  );
  await nextFrame();
  await takeMeasures();
  for (let rep = 0; rep < 3; rep++) {
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    for (let i = 0; i < 30; i++) {
      await page.mouse.move(cx + (rep % 2 ? -1 : 1) * i * 15, cy);
      await nextFrame();
    }
    await page.mouse.up();
  }
  const drag = await takeMeasures();
  await page.evaluate(() => window.__bench.store.getState().setViewport({startNs: 0, endNs: 10e9}));
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press(i % 2 ? 'a' : 'd');
    await nextFrame();
  }
  const keysFull = await takeMeasures();

  // 2. Frame-driven animations inside the page.
  const animate = (kind: 'zoom' | 'pan' | 'pan-full') =>
    page.evaluate(async (kind) => {
      const st = window.__bench.store;
      if (kind === 'pan-full') st.getState().setViewport({startNs: 0, endNs: 10e9});
      if (kind === 'pan') st.getState().setViewport({startNs: 2e9, endNs: 2.5e9});
      if (kind === 'zoom') st.getState().setViewport({startNs: 0, endNs: 10e9});
      await new Promise((r) => requestAnimationFrame(r));
      performance.clearMeasures('ringside:frame');
      const intervals: number[] = [];
      let last = performance.now();
      for (let f = 0; f < 120; f++) {
        const s = st.getState();
        if (kind === 'zoom') s.zoomAt(5e9 + 1234, f < 60 ? 0.85 : 1 / 0.85);
        else s.panByFraction(f < 60 ? 0.02 : -0.02);
        await new Promise((r) => requestAnimationFrame(r));
        const now = performance.now();
        intervals.push(now - last);
        last = now;
      }
      const draws = performance.getEntriesByName('ringside:frame').map((e) => e.duration);
      performance.clearMeasures('ringside:frame');
      return {intervals, draws};
    }, kind);
  const zoomAnim = await animate('zoom');
  const panAnim = await animate('pan');
  const panFull = await animate('pan-full');

  await page.screenshot({path: resolve(ROOT, 'test-artifacts/perf-2x2M.png')});
  console.log(`\n2 CPUs × ${N} events, 1600×1000 viewport, headless Chromium (software raster)`);
  console.log('draw time per frame (all canvases), scheduler measure:');
  console.log(summary('  wheel zoom (80 real events)', wheel));
  console.log(summary('  drag pan at 100 ms span', drag));
  console.log(summary('  A/D pan at full 10 s span', keysFull));
  console.log(summary('  zoom animation (120 frames)', zoomAnim.draws));
  console.log(summary('  pan animation, 500 ms span', panAnim.draws));
  console.log(summary('  pan animation, full span', panFull.draws));
  console.log('rAF interval during animation (16.7 = 60 fps):');
  console.log(summary('  zoom animation', zoomAnim.intervals));
  console.log(summary('  pan animation, 500 ms span', panAnim.intervals));
  console.log(summary('  pan animation, full span', panFull.intervals));
} finally {
  await browser.close();
  await server.close();
}
