/**
 * Headless Chromium driven over the DevTools protocol directly (`--remote-debugging-pipe`), for
 * the benches that time the dashboard under load (painted, ui-stream).
 *
 * Why not Playwright here (the e2e tests use it): Playwright enables the Network domain in every
 * page and worker it attaches to, and Chromium then copies the payload of every WebSocket frame
 * into a DevTools event (base64 for binary) and sends it through the browser process to the
 * driver. The dashboard's worker receives ~12 MB/s under the heavy load, so that instrumentation
 * alone took ~17 % of a core in the browser process and ~10 % in the bench process, plus the
 * copies in the page's worker (a Chromium trace: 460 ms of "Receive mojo message" in the worker
 * per 5 s), all of it competing with the page on 2 vCPUs. This driver enables only what the
 * benches read: Page (load events), Runtime (evaluate, exceptions), and on demand Profiler and
 * Tracing.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {mkdtempSync, openSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {Readable, Writable} from 'node:stream';
import {CHROMIUM_PATH} from '../../app/e2e/browser.ts';
import {trackChild} from './cleanup.ts';

type Params = Record<string, unknown>;
interface Message {
  id?: number;
  method?: string;
  params?: Params;
  result?: unknown;
  error?: {message: string};
  sessionId?: string;
}
type Listener = (params: Params, sessionId: string | undefined) => void;

export class CdpBrowser {
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    {ok: (r: unknown) => void; fail: (e: Error) => void}
  >();
  private readonly listeners = new Map<string, Set<Listener>>();
  private closed = false;

  /** The browser process (its renderer, GPU and network processes are its descendants). */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  private constructor(
    private readonly child: ChildProcess,
    private readonly input: Writable,
    output: Readable,
    private readonly profileDir: string,
  ) {
    let pending = '';
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => {
      pending += chunk;
      for (let end = pending.indexOf('\0'); end >= 0; end = pending.indexOf('\0')) {
        const text = pending.slice(0, end);
        pending = pending.slice(end + 1);
        this.dispatch(JSON.parse(text) as Message);
      }
    });
    child.once('exit', () => {
      this.closed = true;
      for (const w of this.waiting.values()) w.fail(new Error('chromium exited'));
      this.waiting.clear();
    });
  }

  /** Same switches as the e2e tests' launchChromium (app/e2e/browser.ts), plus the pipe. */
  static async launch(): Promise<CdpBrowser> {
    const profileDir = mkdtempSync(join(tmpdir(), 'ringside-cdp-'));
    const child = trackChild(
      spawn(
        CHROMIUM_PATH,
        [
          '--no-sandbox',
          '--headless',
          '--disable-gpu',
          '--disable-background-networking',
          '--remote-debugging-pipe',
          '--no-first-run',
          '--no-default-browser-check',
          `--user-data-dir=${profileDir}`,
          ...extraArgs(),
          'about:blank',
        ],
        {stdio: ['ignore', ...logFds(), 'pipe', 'pipe']},
      ),
    );
    const b = new CdpBrowser(
      child,
      child.stdio[3] as Writable,
      child.stdio[4] as Readable,
      profileDir,
    );
    await b.send('Browser.getVersion');
    return b;
  }

  private dispatch(m: Message): void {
    if (m.id !== undefined) {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error) w?.fail(new Error(m.error.message));
      else w?.ok(m.result);
      return;
    }
    if (m.method)
      for (const l of this.listeners.get(m.method) ?? []) l(m.params ?? {}, m.sessionId);
  }

  send<T = Params>(method: string, params: Params = {}, sessionId?: string): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`chromium is closed (${method})`));
    const id = this.nextId++;
    return new Promise<T>((ok, fail) => {
      this.waiting.set(id, {ok: ok as (r: unknown) => void, fail});
      this.input.write(JSON.stringify({id, method, params, sessionId}) + '\0');
    });
  }

  on(method: string, l: Listener): () => void {
    let set = this.listeners.get(method);
    if (!set) this.listeners.set(method, (set = new Set()));
    set.add(l);
    return () => set.delete(l);
  }

  /** A new tab of `width` × `height` CSS px; `initScript` runs before any of the page's scripts. */
  async newPage(width: number, height: number, initScript = ''): Promise<CdpPage> {
    const {targetId} = await this.send<{targetId: string}>('Target.createTarget', {
      url: 'about:blank',
    });
    const {sessionId} = await this.send<{sessionId: string}>('Target.attachToTarget', {
      targetId,
      flatten: true,
    });
    const page = new CdpPage(this, targetId, sessionId);
    await page.send('Page.enable');
    await page.send('Runtime.enable');
    await page.send('Emulation.setDeviceMetricsOverride', {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
    if (initScript) await page.send('Page.addScriptToEvaluateOnNewDocument', {source: initScript});
    return page;
  }

  /**
   * Record a Chromium trace of the whole browser (all processes) with these categories until
   * the returned function is called; it resolves to the trace events.
   */
  async startTracing(categories: string[]): Promise<() => Promise<unknown[]>> {
    const events: unknown[] = [];
    const offData = this.on('Tracing.dataCollected', (p) => events.push(...(p.value as unknown[])));
    await this.send('Tracing.start', {
      traceConfig: {includedCategories: categories, recordMode: 'recordAsMuchAsPossible'},
      transferMode: 'ReportEvents',
    });
    return async () => {
      const done = new Promise<void>((resolve) => {
        const off = this.on('Tracing.tracingComplete', () => {
          off();
          resolve();
        });
      });
      await this.send('Tracing.end');
      await done;
      offData();
      return events;
    };
  }

  async close(): Promise<void> {
    if (!this.closed) {
      const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
      const kill = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.send('Browser.close').catch(() => {});
      await exited;
      clearTimeout(kill);
    }
    rmSync(this.profileDir, {recursive: true, force: true});
  }
}

export class CdpPage {
  constructor(
    readonly browser: CdpBrowser,
    readonly targetId: string,
    readonly sessionId: string,
  ) {}

  send<T = Params>(method: string, params: Params = {}): Promise<T> {
    return this.browser.send<T>(method, params, this.sessionId);
  }

  /** Uncaught exceptions in the page (not in its workers). */
  onError(cb: (text: string) => void): () => void {
    return this.browser.on('Runtime.exceptionThrown', (p, s) => {
      if (s !== this.sessionId) return;
      const d = p.exceptionDetails as {text: string; exception?: {description?: string}};
      cb(d.exception?.description ?? d.text);
    });
  }

  async goto(url: string, timeoutMs = 20_000): Promise<void> {
    const loaded = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        off();
        reject(new Error(`${url}: no load event in ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.browser.on('Page.loadEventFired', (_, s) => {
        if (s !== this.sessionId) return;
        clearTimeout(t);
        off();
        resolve();
      });
    });
    const r = await this.send<{errorText?: string}>('Page.navigate', {url});
    if (r.errorText) throw new Error(`${url}: ${r.errorText}`);
    await loaded;
  }

  /** The value of a JavaScript expression in the page (promises awaited, result by value). */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const r = await this.send<{
      result: {value?: unknown};
      exceptionDetails?: {text: string; exception?: {description?: string}};
    }>('Runtime.evaluate', {expression, returnByValue: true, awaitPromise: true});
    if (r.exceptionDetails) {
      const d = r.exceptionDetails;
      throw new Error(`page: ${d.exception?.description ?? d.text}`);
    }
    return r.result.value as T;
  }

  /** Resolves once `expression` is truthy in the page (polled every 50 ms). */
  async waitFor(expression: string, timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(await this.evaluate<boolean>(`!!(${expression})`))) {
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms: ${expression}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Mouse event at CSS px (x, y): 'mouseMoved' | 'mousePressed' | 'mouseReleased'. */
  mouse(type: string, x: number, y: number): Promise<unknown> {
    const pressed = type === 'mouseMoved' ? {} : {button: 'left', clickCount: 1};
    return this.send('Input.dispatchMouseEvent', {type, x, y, ...pressed});
  }

  /** Bounding box of the first element matching `selector` (CSS px), or null. */
  box(selector: string): Promise<{x: number; y: number; width: number; height: number} | null> {
    return this.evaluate(`(() => { const e = document.querySelector(${JSON.stringify(selector)});
      if (!e) return null; const r = e.getBoundingClientRect();
      return {x: r.x, y: r.y, width: r.width, height: r.height}; })()`);
  }

  /** PNG of the whole page. */
  async screenshot(path: string): Promise<void> {
    const r = await this.send<{data: string}>('Page.captureScreenshot', {
      format: 'png',
      captureBeyondViewport: true,
    });
    writeFileSync(path, Buffer.from(r.data, 'base64'));
  }

  /** Sessions of the page's dedicated workers, attached as they exist (for Profiler etc.). */
  async attachWorkers(): Promise<string[]> {
    const found: string[] = [];
    const off = this.browser.on('Target.attachedToTarget', (p) => {
      const info = p.targetInfo as {type: string};
      if (info.type === 'worker') found.push(p.sessionId as string);
    });
    await this.send('Target.setAutoAttach', {
      autoAttach: true,
      waitForDebuggerOnStart: false,
      flatten: true,
    });
    for (let i = 0; i < 50 && found.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    off();
    return found;
  }

  close(): Promise<unknown> {
    return this.browser.send('Target.closeTarget', {targetId: this.targetId});
  }
}

/**
 * Debugging knobs: RINGSIDE_BENCH_CHROMIUM_ARGS adds switches (space-separated, e.g.
 * `--js-flags=--trace-deopt`), RINGSIDE_BENCH_CHROMIUM_LOG=FILE keeps Chromium's stdout and
 * stderr there (V8's --trace-* flags print to stdout).
 */
function extraArgs(): string[] {
  return (process.env.RINGSIDE_BENCH_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean);
}
function logFds(): ['ignore', 'ignore'] | [number, number] {
  const f = process.env.RINGSIDE_BENCH_CHROMIUM_LOG;
  if (!f) return ['ignore', 'ignore'];
  const fd = openSync(f, 'w');
  return [fd, fd];
}
