/**
 * The dashboard in a real browser against a real server: `ringside serve --source sim`, then
 * (where the kernel allows) `--source mmap` with trace_marker writes. Screenshots go to
 * test-artifacts/ (gitignored).
 */
import {appendFileSync, existsSync, mkdirSync, rmdirSync} from 'node:fs';
import {join} from 'node:path';
import type {Browser, Page} from 'playwright-core';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {describeKernel, TRACEFS} from '../../server/testing/kernel-gate.ts';
import {launchChromium} from './browser.ts';
import {ensureArtifacts, ensureBuilt, startServer, type RunningServer} from './harness.ts';
import {canvasInk, nextFrame, statValue, visibleRange} from './page-probes.ts';

const ART = ensureArtifacts();
/** Event lane of a 60 px timeline (render/timeline-draw.ts timelineLanes(60)): y 39..59. */
const EVENT_BAND = {y0: 50, y1: 59};

async function openDashboard(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext({viewport: {width: 1440, height: 1100}});
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[pageerror]', e.message));
  await page.goto(url);
  await page
    .locator('[data-testid=connection-state]', {hasText: 'live'})
    .waitFor({timeout: 20_000});
  await page.locator('[data-testid=timeline-cpu-0]').waitFor({timeout: 20_000});
  return page;
}

describe('dashboard e2e (sim source)', () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ensureBuilt();
    server = await startServer(['--source', 'sim', '--port', '0', '--no-open']);
    browser = await launchChromium();
    page = await openDashboard(browser, server.url);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('shows the source and a live connection', async () => {
    await expect.poll(() => page.locator('[data-testid=source-kind]').innerText()).toContain('sim');
    expect(await page.locator('[data-testid=connection-state]').innerText()).toContain('live');
  });

  it('per-CPU statistics rise over time', async () => {
    await page.locator('[data-testid=cpu-stats-0]').waitFor();
    await expect
      .poll(() => statValue(page, 0, 'stat-entries'), {timeout: 10_000})
      .toBeGreaterThan(0);
    const before = await statValue(page, 0, 'stat-entries');
    const readBefore = await statValue(page, 0, 'stat-read');
    await expect
      .poll(() => statValue(page, 0, 'stat-entries'), {timeout: 10_000})
      .toBeGreaterThan(before);
    await expect
      .poll(() => statValue(page, 0, 'stat-read'), {timeout: 10_000})
      .toBeGreaterThan(readBefore);
    expect(await statValue(page, 0, 'stat-reader-id')).toBeGreaterThanOrEqual(0);
    expect(
      await page.locator('[data-testid=cpu-stats-0] [data-testid=stat-subbufs-lost]').count(),
    ).toBe(1);
    expect(await page.locator('[data-testid=cpu-stats-0]').innerText()).toContain('derived');
  });

  it('the following event list shows its newest rows in view, and keeps rows in view without follow', async () => {
    /** The rows that overlap the list's scroll box: time (s) and where they sit against its bottom. */
    const inView = () =>
      page.evaluate(() => {
        const box = document.querySelector('[data-testid=event-list]')!.getBoundingClientRect();
        return [...document.querySelectorAll<HTMLElement>('[data-testid=event-row]')]
          .map((r) => ({
            ts: Number(r.children[1].textContent),
            rect: r.getBoundingClientRect(),
          }))
          .filter(({rect}) => rect.bottom > box.top + 1 && rect.top < box.bottom - 1)
          .map(({ts, rect}) => ({ts, belowEnd: rect.bottom - box.bottom}));
      });
    const toggle = page.locator('[data-testid=list-follow-toggle]');
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    // Following: a full box of rows, ascending, the newest ending at the box's bottom edge.
    await expect.poll(async () => (await inView()).length, {timeout: 10_000}).toBeGreaterThan(12);
    // Every frame for 2 s while new rows stream in: never a box without rows (a list whose rows
    // wait for its own scroll event to be placed shows them once where they landed, off view).
    const fewestPerFrame = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const box = document.querySelector('[data-testid=event-list]')!;
          let fewest = Infinity;
          const t0 = performance.now();
          const frame = () => {
            const b = box.getBoundingClientRect();
            const n = [...document.querySelectorAll('[data-testid=event-row]')].filter((r) => {
              const rect = r.getBoundingClientRect();
              return rect.bottom > b.top + 1 && rect.top < b.bottom - 1;
            }).length;
            fewest = Math.min(fewest, n);
            if (performance.now() - t0 < 2000) requestAnimationFrame(frame);
            else resolve(fewest);
          };
          requestAnimationFrame(frame);
        }),
    );
    expect(fewestPerFrame).toBeGreaterThan(12);
    const following = await inView();
    const ts = following.map((r) => r.ts);
    expect(ts.every((t) => Number.isFinite(t))).toBe(true);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
    expect(Math.abs(following[following.length - 1].belowEnd)).toBeLessThan(2);
    // Follow off (the toggle, no scroll): the rows stay in view, now placed by the scroll position.
    await toggle.click();
    await expect.poll(() => toggle.getAttribute('aria-pressed')).toBe('false');
    await nextFrame(page);
    expect((await inView()).length).toBeGreaterThan(12);
    // Scrolled to the top: the oldest rows, in view.
    await page.locator('[data-testid=event-list]').evaluate((el) => (el.scrollTop = 0));
    await expect.poll(async () => (await inView()).length, {timeout: 5_000}).toBeGreaterThan(12);
    const top = (await inView()).map((r) => r.ts);
    expect(Math.max(...top)).toBeLessThan(Math.min(...ts));
    // Follow on again: back to the newest rows at the bottom.
    await toggle.click();
    await expect
      .poll(async () => {
        const rows = await inView();
        return rows.length > 12 && Math.abs(rows[rows.length - 1].belowEnd) < 2;
      })
      .toBe(true);
  });

  it('timelines paint non-empty pixels', async () => {
    await expect
      .poll(async () => (await canvasInk(page, 'timeline-cpu-0')).ink, {timeout: 10_000})
      .toBeGreaterThan(200);
    const ring = await canvasInk(page, 'swap-ring-0');
    expect(ring.ink).toBeGreaterThan(50);
    await page.screenshot({path: join(ART, 'dashboard-sim.png'), fullPage: true});
  });

  it("while following, the timelines' columns come with the worker's pushes, not questions", async () => {
    const el = page.locator('[data-testid=timelines]');
    const counts = async () => ({
      pushed: Number(await el.getAttribute('data-pushed-columns')),
      asked: Number(await el.getAttribute('data-asked-columns')),
    });
    const c0 = await counts();
    // Two CPUs' columns per push, about one push per frame while the sim source streams.
    await expect
      .poll(async () => (await counts()).pushed, {timeout: 10_000})
      .toBeGreaterThan(c0.pushed + 40);
    const c1 = await counts();
    expect(c1.asked - c0.asked).toBeLessThan((c1.pushed - c0.pushed) / 10);
  });

  it('a wheel zoom changes the visible span and pauses follow', async () => {
    const canvas = page.locator('[data-testid=timeline-cpu-0]');
    const box = (await canvas.boundingBox())!;
    const before = await visibleRange(page);
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2);
    for (let i = 0; i < 5; i++) await page.mouse.wheel(0, -200);
    await nextFrame(page);
    const after = await visibleRange(page);
    expect(after.endNs - after.startNs).toBeLessThan((before.endNs - before.startNs) * 0.5);
    expect(await page.locator('[data-testid=follow-toggle]').getAttribute('aria-pressed')).toBe(
      'false',
    );
    // Zooming back out widens it again.
    await page.mouse.wheel(0, 300);
    await nextFrame(page);
    const out = await visibleRange(page);
    expect(out.endNs - out.startNs).toBeGreaterThan(after.endNs - after.startNs);
    await page.screenshot({path: join(ART, 'dashboard-zoomed.png')});
  });

  it('drag and A/D pan, W/S zoom, hover shows a tooltip, Follow resumes live', async () => {
    const canvas = page.locator('[data-testid=timeline-cpu-1]');
    const box = (await canvas.boundingBox())!;
    const y = box.y + box.height / 2;
    const r0 = await visibleRange(page);
    const span0 = r0.endNs - r0.startNs;
    await page.mouse.move(box.x + box.width / 2, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 200, y, {steps: 5});
    await page.mouse.up();
    await nextFrame(page);
    const r1 = await visibleRange(page);
    // Dragging right by 200 px shows earlier time by 200 px worth of span.
    expect((r0.startNs - r1.startNs) / span0).toBeCloseTo(200 / box.width, 1);
    expect(r1.endNs - r1.startNs).toBeCloseTo(span0, -3);
    await page.keyboard.press('d');
    await nextFrame(page);
    expect((await visibleRange(page)).startNs).toBeGreaterThan(r1.startNs);
    await page.keyboard.press('w');
    await nextFrame(page);
    const r2 = await visibleRange(page);
    expect(r2.endNs - r2.startNs).toBeLessThan(span0);
    await page.keyboard.press('s');
    await nextFrame(page);
    const r3 = await visibleRange(page);
    expect(r3.endNs - r3.startNs).toBeGreaterThan(r2.endNs - r2.startNs);
    // Hover over the slice lane until something is under the pointer.
    const tip = page.locator('.tooltip');
    for (let x = 10; x < box.width && !(await tip.isVisible()); x += 15) {
      await page.mouse.move(box.x + x, box.y + 20);
    }
    expect(await tip.isVisible()).toBe(true);
    expect(await tip.innerText()).toMatch(/ran|sched|swap|lost|\+/);
    await page.locator('[data-testid=follow-toggle]').click();
    expect(await page.locator('[data-testid=follow-toggle]').getAttribute('aria-pressed')).toBe(
      'true',
    );
    // Following again: the view slides to the newest data, past where we were.
    await expect
      .poll(async () => (await visibleRange(page)).endNs, {timeout: 5_000})
      .toBeGreaterThan(r3.endNs);
    await page.locator('[data-testid=follow-toggle]').click();
  });

  it('a click on an event mark selects it and shows its fields', async () => {
    const canvas = page.locator('[data-testid=timeline-cpu-0]');
    const box = (await canvas.boundingBox())!;
    // Wait until the (paused) view has event marks, then click one.
    let cols: number[] = [];
    await expect
      .poll(
        async () =>
          (cols = (await canvasInk(page, 'timeline-cpu-0', EVENT_BAND)).inkColumns).length,
        {
          timeout: 10_000,
        },
      )
      .toBeGreaterThan(0);
    const x = cols[Math.floor(cols.length / 2)];
    await page.mouse.click(box.x + x + 0.5, box.y + 57);
    const detail = page.locator('[data-testid=event-detail]');
    await detail.waitFor({timeout: 5_000});
    await expect
      .poll(() => page.locator('[data-testid=event-line]').innerText(), {timeout: 5_000})
      .not.toBe('');
    expect(Number(await detail.getAttribute('data-event-id'))).toBeGreaterThanOrEqual(0);
    await page.screenshot({path: join(ART, 'dashboard-selected.png'), fullPage: true});
  });

  it('a click on an event row selects it and moves the timeline to it', async () => {
    await page.locator('[data-testid=event-row]').first().waitFor({timeout: 10_000});
    const row = page.locator('[data-testid=event-row]').nth(2);
    const id = await row.getAttribute('data-event-id');
    await row.click();
    await expect
      .poll(() => page.locator('[data-testid=event-detail]').getAttribute('data-event-id'))
      .toBe(id);
    expect(await row.getAttribute('class')).toContain('selected');
  });

  it('filters the event list by CPU', async () => {
    await page.locator('[data-testid=filter-cpu-1]').click();
    await expect
      .poll(
        async () => {
          const cpus = await page
            .locator('[data-testid=event-row] > span:first-child')
            .allInnerTexts();
          return cpus.length > 0 && cpus.every((c) => c.trim() === '1');
        },
        {timeout: 10_000},
      )
      .toBe(true);
    await page.locator('[data-testid=filter-cpu-1]').click();
  });

  it('a click on a task shows its own wakeup latency histogram', async () => {
    const row = page.locator('[data-testid=task-row]').first();
    await row.waitFor({timeout: 10_000});
    await row.click();
    await page.locator('[data-testid=latency-histogram-task]').waitFor({timeout: 5_000});
    await page.screenshot({path: 'test-artifacts/task-histogram.png', fullPage: true});
  });

  it('a wrong token gets a clear error (HTTP 401 and in the page)', async () => {
    const res = await fetch(`${server.origin}/?token=wrong-token`);
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/token/i);
    // A page already loaded (cookie set) whose token no longer matches, as after a server
    // restart: serve it the real page, and let its WebSocket meet the server's refusal.
    const p2 = await page.context().newPage(); // same context: it has the page's cookie
    const html = await (await fetch(server.url)).text();
    await p2.route(/\/\?token=stale-token$/, (route) =>
      route.fulfill({status: 200, contentType: 'text/html', body: html}),
    );
    await p2.goto(`${server.origin}/?token=stale-token`);
    const empty = p2.locator('[data-testid=empty-state]');
    await empty.waitFor({timeout: 15_000});
    expect(await empty.getAttribute('data-problem')).toBe('unauthorized');
    expect(await empty.innerText()).toMatch(/token/i);
    await p2.screenshot({path: join(ART, 'wrong-token.png')});
    await p2.close();
  });

  it('says so when the server goes away, and keeps the window browsable', async () => {
    await server.stop();
    await page.locator('[data-testid=server-gone-banner]').waitFor({timeout: 15_000});
    expect(await page.locator('[data-testid=connection-state]').innerText()).toContain(
      'disconnected',
    );
    expect(await page.locator('[data-testid=timeline-cpu-0]').count()).toBe(1);
    await page.screenshot({path: join(ART, 'server-gone.png')});
  });
});

describeKernel('dashboard e2e (live kernel, mmap source)', () => {
  // Our own instance (rules: instances/ringside-test-<what>-<pid>, removed even on failure).
  // The server attaches to it with --instance and changes nothing; trace_marker writes land in
  // its buffer as ftrace:print events without enabling any event.
  const instance = `ringside-test-app-e2e-${process.pid}`;
  const dir = `${TRACEFS}/instances/${instance}`;
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    ensureBuilt();
    mkdirSync(dir);
    server = await startServer([
      '--source',
      'mmap',
      '--instance',
      instance,
      '--port',
      '0',
      '--no-open',
    ]);
    // Something in the buffer before the page connects (the kernel keeps it until read).
    appendFileSync(`${dir}/trace_marker`, 'ringside-e2e warm-up\n');
    browser = await launchChromium();
    page = await openDashboard(browser, server.url);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (existsSync(dir)) rmdirSync(dir);
  });

  it('markers written to the instance trace_marker appear in the event list', async () => {
    const marker = `ringside-e2e-${process.pid}-${Date.now()}`;
    for (let i = 0; i < 5; i++) appendFileSync(`${dir}/trace_marker`, `${marker} #${i}\n`);
    await page.locator('[data-testid=filter-text]').fill(marker);
    let rows: string[] = [];
    await expect
      .poll(
        async () => {
          rows = await page.locator('[data-testid=event-row]').allInnerTexts();
          return rows.length >= 5 && rows.every((r) => r.includes(marker));
        },
        {timeout: 20_000},
      )
      .toBe(true);
    expect(rows.join('\n')).toContain(`${marker} #4`);
    await expect
      .poll(() => page.locator('[data-testid=source-kind]').innerText())
      .toContain('mmap');
    await page.screenshot({path: join(ART, 'dashboard-mmap-markers.png'), fullPage: true});
  });
});
