/**
 * Pan/zoom frame times with 2 CPUs × 2M events in headless Chromium. Run by hand:
 *
 *   npx tsx app/e2e/timeline.perf.ts [eventsPerCpu] [--synthetic]
 *
 * Default: the real worker (perf-worker-harness), fed with captured sub-buffers replayed in laps,
 * answering level-of-detail queries through comlink. `--synthetic`: raw synthetic columns on the
 * main thread (perf-harness), the draw path's worst case (no worker LOD).
 *
 * Measured, after one unmeasured warm-up round:
 *  1. input-driven: real wheel, drag and A/D key events through CDP; per frame, the scheduler's
 *     `ringside:frame` measure (every dirty canvas redrawn in that frame);
 *  2. frame-driven: zoom and pan animations applied once per rAF inside the page; the rAF
 *     interval (smoothness as seen by the user) and the draw time per frame.
 */
import {readFileSync} from 'node:fs';
import {dirname, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import type {Page} from 'playwright-core';
import {createServer} from 'vite';
import {captureMetadata} from '../../worker/testing/capture-pages.ts';
import {launchChromium, percentile} from './browser.ts';

/** What the harness pages put on window (those files belong to the browser project). */
interface BenchWindow {
  __bench: {
    store: {
      getState(): {
        setViewport(vp: {startNs: number; endNs: number}): void;
        zoomAt(anchorNs: number, factor: number): void;
        panByFraction(f: number): void;
        dataRange: {startNs: number; endNs: number} | null;
      };
    };
    scheduler: {measure: boolean};
    cache: {get(cpu: number): unknown; fetches: number};
    buildMs?: number;
    load?(meta: unknown, raws: string[], n: number): Promise<{loadMs: number; events: number}>;
  };
}
declare const window: BenchWindow & Window;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const SYNTHETIC = args.includes('--synthetic');
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 2_000_000);

function summary(name: string, xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(2).padStart(7);
  return `${name.padEnd(34)} n=${String(s.length).padStart(4)}  p50 ${f(percentile(s, 50))} ms  p95 ${f(percentile(s, 95))} ms  max ${f(s[s.length - 1] ?? NaN)} ms`;
}

const nextFrame = (page: Page) =>
  page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => r())));
const takeMeasures = (page: Page) =>
  page.evaluate(() => {
    const d = performance.getEntriesByName('ringside:frame').map((e) => e.duration);
    performance.clearMeasures('ringside:frame');
    return d;
  });
const settle = async (page: Page) => {
  // Let outstanding worker answers land and repaint, then drop their frames from the record.
  await page.waitForTimeout(300);
  await nextFrame(page);
  await takeMeasures(page);
};
const full = (page: Page) =>
  page.evaluate(() => {
    const st = window.__bench.store.getState();
    const r = st.dataRange!;
    st.setViewport({startNs: r.startNs, endNs: r.endNs});
  });

interface Round {
  wheel: number[];
  drag: number[];
  keys: number[];
  zoom: {intervals: number[]; draws: number[]};
  pan: {intervals: number[]; draws: number[]};
  panFull: {intervals: number[]; draws: number[]};
}

async function round(page: Page): Promise<Round> {
  const box = (await page.locator('[data-testid=timeline-cpu-0]').boundingBox())!;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await full(page);
  await settle(page);
  await page.mouse.move(cx, cy);
  for (let i = 0; i < 40; i++) {
    await page.mouse.wheel(0, -120);
    await nextFrame(page);
  }
  for (let i = 0; i < 40; i++) {
    await page.mouse.wheel(0, 120);
    await nextFrame(page);
  }
  const wheel = await takeMeasures(page);
  await page.evaluate(() => {
    const st = window.__bench.store.getState();
    const r = st.dataRange!;
    const mid = (r.startNs + r.endNs) / 2;
    st.setViewport({startNs: mid, endNs: mid + (r.endNs - r.startNs) / 100});
  });
  await settle(page);
  for (let rep = 0; rep < 3; rep++) {
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    for (let i = 0; i < 30; i++) {
      await page.mouse.move(cx + (rep % 2 ? -1 : 1) * i * 15, cy);
      await nextFrame(page);
    }
    await page.mouse.up();
  }
  const drag = await takeMeasures(page);
  await full(page);
  await settle(page);
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press(i % 2 ? 'a' : 'd');
    await nextFrame(page);
  }
  const keys = await takeMeasures(page);
  const animate = (kind: 'zoom' | 'pan' | 'pan-full') =>
    page.evaluate(async (kind) => {
      const st = window.__bench.store;
      const r = st.getState().dataRange!;
      const span = r.endNs - r.startNs;
      if (kind === 'pan')
        st.getState().setViewport({
          startNs: r.startNs + span * 0.2,
          endNs: r.startNs + span * 0.25,
        });
      else st.getState().setViewport({startNs: r.startNs, endNs: r.endNs});
      await new Promise((res) => setTimeout(res, 300));
      await new Promise((res) => requestAnimationFrame(res));
      performance.clearMeasures('ringside:frame');
      const intervals: number[] = [];
      let last = performance.now();
      for (let f = 0; f < 120; f++) {
        const s = st.getState();
        if (kind === 'zoom') s.zoomAt(r.startNs + span / 2 + 1234, f < 60 ? 0.85 : 1 / 0.85);
        else s.panByFraction(f < 60 ? 0.02 : -0.02);
        await new Promise((res) => requestAnimationFrame(res));
        const now = performance.now();
        intervals.push(now - last);
        last = now;
      }
      const draws = performance.getEntriesByName('ringside:frame').map((e) => e.duration);
      performance.clearMeasures('ringside:frame');
      return {intervals, draws};
    }, kind);
  return {
    wheel,
    drag,
    keys,
    zoom: await animate('zoom'),
    pan: await animate('pan'),
    panFull: await animate('pan-full'),
  };
}

const server = await createServer({
  configFile: resolve(ROOT, 'vite.config.ts'),
  server: {port: 0, host: '127.0.0.1', hmr: false},
  // Pre-bundle everything up front: a dependency discovered late makes Vite reload the page
  // in the middle of a measurement.
  optimizeDeps: {
    include: [
      'react',
      'react-dom/client',
      'react/jsx-dev-runtime',
      'zustand',
      'zustand/vanilla',
      'comlink',
    ],
  },
  logLevel: 'warn',
});
await server.listen();
const base = server.resolvedUrls?.local[0] ?? '';
const browser = await launchChromium();
try {
  const page = await browser.newPage({viewport: {width: 1600, height: 1000}});
  page.on('console', (m) => m.type() === 'error' && console.error('[page]', m.text()));
  page.on('pageerror', (e) => console.error('[pageerror]', e.message));
  let what: string;
  if (SYNTHETIC) {
    await page.goto(`${base}e2e/perf-harness.html?n=${N}&cpus=2`, {timeout: 120_000});
    await page.waitForFunction(
      () => window.__bench?.cache.get(0) && window.__bench.cache.get(1),
      null,
      {timeout: 120_000},
    );
    what = `synthetic columns on the main thread (built in ${(await page.evaluate(() => window.__bench.buildMs ?? 0)).toFixed(0)} ms)`;
  } else {
    await page.goto(`${base}e2e/perf-worker-harness.html`, {timeout: 120_000});
    await page.waitForFunction(() => !!window.__bench?.load, null, {timeout: 60_000});
    const meta = captureMetadata([0, 1]);
    const raws = [0, 1].map((cpu) =>
      readFileSync(resolve(ROOT, `core/testing/fixtures/captures/mixed-cpu${cpu}.raw`)).toString(
        'base64',
      ),
    );
    const r = await page.evaluate(({meta, raws, n}) => window.__bench.load!(meta, raws, n), {
      meta,
      raws,
      n: N,
    });
    what = `real worker, ${r.events} events loaded in ${r.loadMs.toFixed(0)} ms (captured pages in laps)`;
    await page.waitForFunction(
      () => window.__bench.cache.get(0) && window.__bench.cache.get(1),
      null,
      {timeout: 60_000},
    );
  }
  await page.evaluate(() => (window.__bench.scheduler.measure = true));
  await round(page); // warm-up: JIT, caches, first worker answers
  const r = await round(page);
  await full(page);
  await page.waitForTimeout(500);
  await page.screenshot({
    path: resolve(
      ROOT,
      `test-artifacts/perf-2x${N / 1e6}M-${SYNTHETIC ? 'synthetic' : 'worker'}.png`,
    ),
  });
  const fetches = await page.evaluate(() => window.__bench.cache.fetches);
  console.log(`\n2 CPUs × ${N} events, 1600×1000 viewport, headless Chromium (--disable-gpu)`);
  console.log(`data: ${what}; timeline fetches during the run: ${fetches}`);
  console.log('draw time per frame (all dirty canvases), scheduler measure:');
  console.log(summary('  wheel zoom (80 real events)', r.wheel));
  console.log(summary('  drag pan at 1/100 span', r.drag));
  console.log(summary('  A/D pan at full span', r.keys));
  console.log(summary('  zoom animation (120 frames)', r.zoom.draws));
  console.log(summary('  pan animation, 1/20 span', r.pan.draws));
  console.log(summary('  pan animation, full span', r.panFull.draws));
  console.log('rAF interval during animations (16.7 ms = 60 fps):');
  console.log(summary('  zoom animation', r.zoom.intervals));
  console.log(summary('  pan animation, 1/20 span', r.pan.intervals));
  console.log(summary('  pan animation, full span', r.panFull.intervals));
} finally {
  await browser.close();
  await server.close();
}
