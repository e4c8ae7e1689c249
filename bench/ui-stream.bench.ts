/**
 * UI under a live stream: the real server on the mmap source, markgen writing N events/s into
 * its instance, and the dashboard open in headless Chromium. Measured in the page: animation
 * frame intervals and long tasks (> 50 ms main-thread blocks) while idle and while streaming,
 * and during a drag-pan in the middle of the stream. The idle phase is the reference run.
 *
 * The in-page code is passed as strings: bench/ compiles without the DOM library. Chromium is
 * driven over CDP without Playwright (lib/cdp-browser.ts says why).
 */
import {ensureBuilt, startServer} from '../app/e2e/harness.ts';
import {percentile} from '../app/e2e/browser.ts';
import {CdpBrowser} from './lib/cdp-browser.ts';
import {buildTools, runMarkgens} from './lib/tools.ts';

const INSTALL_PROBES = `(() => {
  const w = window;
  w.__frames = []; w.__long = [];
  let last = performance.now();
  const tick = (t) => { w.__frames.push(t - last); last = t; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  new PerformanceObserver((l) => l.getEntries().forEach((e) => w.__long.push(e.duration)))
    .observe({type: 'longtask'});
})()`;
const TAKE = `(() => { const w = window; const r = {frames: w.__frames, long: w.__long};
  w.__frames = []; w.__long = []; return r; })()`;

interface Phase {
  frames: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  longTasks: number;
  longTaskMs: number;
}

function summarise(r: {frames: number[]; long: number[]}): Phase {
  const f = r.frames.slice(1).sort((a, b) => a - b);
  return {
    frames: f.length,
    p50Ms: percentile(f, 50),
    p95Ms: percentile(f, 95),
    maxMs: f.at(-1) ?? NaN,
    longTasks: r.long.length,
    longTaskMs: r.long.reduce((a, b) => a + b, 0),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const uiStreamBench = {
  describe: 'dashboard frame times and long tasks while N events/s stream in (live mmap source)',
  async run(args: string[]) {
    const rate = Number(args[0] ?? 100_000);
    const secs = Number(args[1] ?? 6);
    ensureBuilt();
    const tools = buildTools();
    const server = await startServer(['--source', 'mmap', '--port', '0', '--no-open']);
    const browser = await CdpBrowser.launch();
    try {
      const page = await browser.newPage(1600, 1000);
      await page.goto(server.url);
      await page.waitFor(`document.querySelector('[data-testid=cpu-stats-0]')`);
      await page.evaluate(INSTALL_PROBES);
      await sleep(3000);
      const idle = summarise(await page.evaluate(TAKE));
      const instance = `ringside-${server.proc.pid}`;
      const writing = runMarkgens(tools, instance, [{cpu: 1, rate}], secs);
      await sleep(1500);
      await page.evaluate(TAKE); // drop the ramp-up
      await sleep((secs - 3) * 1000);
      const streaming = summarise(await page.evaluate(TAKE));
      const box = await page.box('[data-testid=timeline-cpu-1]');
      if (box) {
        // Drag-pan across the timeline while data keeps arriving.
        const y = box.y + box.height / 2;
        let x = box.x + box.width * 0.7;
        await page.mouse('mouseMoved', x, y);
        await page.mouse('mousePressed', x, y);
        for (let i = 0; i < 30; i++) {
          x = box.x + box.width * (0.7 - i * 0.01);
          await page.mouse('mouseMoved', x, y);
          await sleep(16);
        }
        await page.mouse('mouseReleased', x, y);
      }
      const panning = summarise(await page.evaluate(TAKE));
      const [written] = await writing;
      await sleep(1500);
      await page.screenshot('bench/build/ui-stream.png');
      const row = (name: string, p: Phase) =>
        console.log(
          `${name.padEnd(22)} frames ${String(p.frames).padStart(4)}  p50 ${p.p50Ms.toFixed(1)} ms  ` +
            `p95 ${p.p95Ms.toFixed(1)} ms  max ${p.maxMs.toFixed(1)} ms  long tasks ${p.longTasks} ` +
            `(${p.longTaskMs.toFixed(0)} ms)`,
        );
      console.log(
        `markgen wrote ${written.written} events at ${Math.round(written.rate)}/s on cpu1`,
      );
      row('idle (reference)', idle);
      row(`streaming ${rate}/s`, streaming);
      row('drag-pan while streaming', panning);
      console.log(
        `ratio frame p95 streaming / idle: ${(streaming.p95Ms / idle.p95Ms).toFixed(2)}x; ` +
          `pan / idle: ${(panning.p95Ms / idle.p95Ms).toFixed(2)}x`,
      );
      return {rate, secs, written, idle, streaming, panning};
    } finally {
      await browser.close();
      await server.stop();
    }
  },
};
