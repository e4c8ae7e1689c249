/**
 * The benches' own Chromium driver (no Playwright): a page with an init script, evaluate,
 * waitFor, mouse input, worker attach and a trace, against Debian's Chromium.
 */
import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {CdpBrowser} from './cdp-browser.ts';

const PAGE = `<!doctype html><body><canvas id=c width=100 height=50></canvas><script>
  window.clicks = 0;
  document.getElementById('c').addEventListener('pointerdown', () => window.clicks++);
  window.worker = new Worker('/worker.js');
  setTimeout(() => document.body.insertAdjacentHTML('beforeend', '<p id=late>late</p>'), 300);
</script>`;

describe('CDP driver for the benches', () => {
  let server: Server;
  let url = '';
  let browser: CdpBrowser;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const js = req.url === '/worker.js';
      res.writeHead(200, {'content-type': js ? 'text/javascript' : 'text/html'});
      res.end(js ? 'setInterval(() => {}, 1000);' : PAGE);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await CdpBrowser.launch();
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it('runs the init script first, evaluates, waits, clicks, attaches to the worker', async () => {
    const page = await browser.newPage(800, 600, 'window.before = typeof window.clicks;');
    const errors: string[] = [];
    page.onError((e) => errors.push(e));
    await page.goto(url);
    expect(await page.evaluate('window.before')).toBe('undefined');
    expect(await page.evaluate('innerWidth + "x" + innerHeight')).toBe('800x600');
    expect(await page.evaluate('Promise.resolve(6 * 7)')).toBe(42);
    await page.waitFor(`document.getElementById('late')`, 5000);
    await expect(page.waitFor('false', 200)).rejects.toThrow(/timed out/);
    await expect(page.evaluate('nope.nope')).rejects.toThrow(/nope is not defined/);
    const box = await page.box('#c');
    expect(box).toMatchObject({width: 100, height: 50});
    await page.mouse('mousePressed', box!.x + 10, box!.y + 10);
    await page.mouse('mouseReleased', box!.x + 10, box!.y + 10);
    expect(await page.evaluate('window.clicks')).toBe(1);
    const workers = await page.attachWorkers();
    expect(workers).toHaveLength(1);
    const r = await browser.send<{result: {value: string}}>(
      'Runtime.evaluate',
      {expression: 'typeof importScripts', returnByValue: true},
      workers[0],
    );
    expect(r.result.value).toBe('function');
    await page.evaluate('setTimeout(() => { throw new Error("boom") }, 0)');
    await new Promise((res) => setTimeout(res, 200));
    expect(errors.join()).toMatch(/boom/);
    await page.close();
  });

  it('records a trace of the browser', async () => {
    const page = await browser.newPage(400, 300);
    const stop = await browser.startTracing(['devtools.timeline']);
    await page.goto(url);
    await page.evaluate(
      'new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))',
    );
    const events = (await stop()) as {name: string}[];
    expect(events.some((e) => e.name === 'thread_name')).toBe(true);
    expect(events.length).toBeGreaterThan(10);
    await page.close();
  });
});
