/**
 * Server controls from the page against the live kernel: `serve --source mmap --allow-control`
 * makes and removes its own instance (ringside-<server pid>…, read from the header), so Stop / Start only touch that
 * instance's tracing_on. The sim source runs no control actions (server/fanout/control-gate.ts).
 */
import {existsSync, readFileSync, rmdirSync} from 'node:fs';
import {join} from 'node:path';
import type {Browser, Page} from 'playwright-core';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {describeKernel, TRACEFS} from '../../server/testing/kernel-gate.ts';
import {launchChromium} from './browser.ts';
import {ensureArtifacts, ensureBuilt, startServer, type RunningServer} from './harness.ts';

const ART = ensureArtifacts();

describeKernel('controls e2e (live kernel, own instance, --allow-control)', () => {
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let dir = '';

  beforeAll(async () => {
    ensureBuilt();
    server = await startServer([
      '--source',
      'mmap',
      '--allow-control',
      '--port',
      '0',
      '--no-open',
      '--no-build',
    ]);
    browser = await launchChromium();
    const context = await browser.newContext({viewport: {width: 1440, height: 900}});
    page = await context.newPage();
    page.on('pageerror', (e) => console.error('[pageerror]', e.message));
    await page.goto(server.url);
    await page
      .locator('[data-testid=connection-state]', {hasText: 'live'})
      .waitFor({timeout: 20_000});
    // `mmap · ringside-<pid>`: bin/ringside.mjs may run the server in a child process.
    const kind = page.locator('[data-testid=source-kind]', {hasText: /ringside-\d+(-\d+)?/});
    await kind.waitFor({timeout: 10_000});
    dir = `${TRACEFS}/instances/${/ringside-\d+(-\d+)?/.exec(await kind.innerText())![0]}`;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    // The server removes its instance on exit; make sure, even if it did not.
    if (dir && existsSync(dir)) rmdirSync(dir);
  });

  it('Stop turns tracing off in the instance and the page says so; Start turns it back on', async () => {
    expect(existsSync(dir)).toBe(true);
    const state = page.locator('[data-testid=tracing-state]');
    await expect.poll(() => state.innerText(), {timeout: 10_000}).toBe('tracing on');
    await page.locator('[data-testid=controls] [data-action=tracing-off]').click();
    await expect.poll(() => state.innerText(), {timeout: 10_000}).toBe('tracing off');
    expect(readFileSync(join(dir, 'tracing_on'), 'utf8').trim()).toBe('0');
    const notice = page.locator('[data-testid=notice]');
    await expect.poll(() => notice.innerText(), {timeout: 10_000}).toMatch(/tracing/i);
    await page.screenshot({path: join(ART, 'controls-tracing-off.png'), fullPage: true});
    await page.locator('[data-testid=controls] [data-action=tracing-on]').click();
    await expect.poll(() => state.innerText(), {timeout: 10_000}).toBe('tracing on');
    expect(readFileSync(join(dir, 'tracing_on'), 'utf8').trim()).toBe('1');
  });

  it('a bad event name is refused with its reason in the notice area', async () => {
    const ev = page.locator('[data-testid=event-control]');
    await ev.locator('input').fill('nosuchsystem:nosuchevent');
    await ev.locator('button', {hasText: 'Enable'}).click();
    const notice = page.locator('[data-testid=notice]');
    await expect
      .poll(() => notice.getAttribute('data-kind'), {timeout: 10_000})
      .toMatch(/control-(failed|denied)/);
    expect(await notice.innerText()).toContain('enable-event');
  });
});
