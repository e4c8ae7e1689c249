/**
 * `ringside serve`: pick a source, open it, put the fan-out and the HTTP/WebSocket server in front
 * of it, print the URL, open a browser, and on SIGINT/SIGTERM undo everything (the source removes
 * its own tracefs instance on close).
 *
 * Output: log lines (source choice and reason, …) first, then exactly one line with the URL
 * `http://HOST:PORT/?token=TOKEN`, which is what `ringside tail URL` and tests parse.
 */
import {spawn, spawnSync} from 'node:child_process';
import {readFileSync, readdirSync, statSync, type Dirent} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {Fanout} from '../fanout/fanout.ts';
import {newToken} from '../http/auth.ts';
import {startHttpServer, type RunningServer} from '../http/http-server.ts';
import {hasBuiltUi} from '../http/static-files.ts';
import {createSource, type CreatedSource} from '../sources/create-source.ts';
import type {TraceSource} from '../sources/source.ts';
import {SERVE_USAGE, UsageError, parseServeArgs, sourceOptions, type ServeArgs} from './args.ts';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST_DIR = join(REPO_ROOT, 'dist');

export function ringsideVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {version: string})
      .version;
  } catch {
    return '0.0.0';
  }
}

export interface ServeHandle {
  url: string;
  /** Which source and why. */
  reason: string;
  source: TraceSource;
  fanout: Fanout;
  server: RunningServer;
  /** Close clients, the server and the source. Idempotent. */
  stop(): Promise<void>;
}

/** Folders whose sources end up in the built UI. */
const UI_SOURCE_DIRS = ['app', 'worker', 'core', 'public'];

/**
 * Newest modification time of a UI source below `dir` (0 when it does not exist). Tests, test
 * fixtures and dotfiles are not built into the UI, so editing them asks for no rebuild.
 */
function newestMtimeMs(dir: string): number {
  let newest = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, {withFileTypes: true});
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name === 'fixtures' || e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtimeMs(path));
    else if (!e.name.includes('.test.') && !e.name.includes('.e2e.'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Why the UI needs building: missing, or older than its sources (after a `git pull`). */
export function uiBuildReason(distDir = DIST_DIR, root = REPO_ROOT): string | undefined {
  if (!hasBuiltUi(distDir)) return 'dist/index.html is missing';
  const built = statSync(join(distDir, 'index.html')).mtimeMs;
  const newest = Math.max(...UI_SOURCE_DIRS.map((d) => newestMtimeMs(join(root, d))));
  return newest > built ? 'dist/ is older than the UI sources' : undefined;
}

/** Build the UI if it is missing or stale; false when that did not work (the page says how). */
export function ensureUi(log: (line: string) => void): boolean {
  const why = uiBuildReason();
  if (!why) return true;
  log(`${why}: building the UI with \`npx vite build\` …`);
  const r = spawnSync('npx', ['vite', 'build'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 2, 2], // keep stdout for the URL line
    // Always React's production build: under a test runner NODE_ENV=test would give the
    // development build, several times slower per render, to every later user of dist/.
    env: {...process.env, NODE_ENV: 'production'},
    timeout: 300_000,
  });
  if (r.status === 0 && hasBuiltUi(DIST_DIR)) return true;
  if (hasBuiltUi(DIST_DIR)) {
    log('building the UI failed: serving the previous build (run `npm run build` to see why)');
    return true;
  }
  log('building the UI failed: the page will say to run `npm run build`');
  return false;
}

/** createSource or a stand-in (tests); `code` defaults to 'explicit' when a factory omits it. */
export type SourceFactory = (
  options: Parameters<typeof createSource>[0],
) => Promise<Omit<CreatedSource, 'code'> & Partial<Pick<CreatedSource, 'code'>>>;

/**
 * Everything `serve` does before waiting for a signal. `make` replaces createSource in tests
 * (e.g. an mmap source with a `ringside-test-…` instance name).
 */
export async function startServe(
  args: ServeArgs,
  log: (line: string) => void,
  make: SourceFactory = createSource,
): Promise<ServeHandle> {
  // createSource logs its choice and the reason ("source sim: …") through `log`.
  const {source, reason, code} = await make(sourceOptions(args, log));
  let server: RunningServer | undefined;
  let fanout: Fanout | undefined;
  try {
    const metadata = await source.open();
    fanout = new Fanout(source, metadata, {
      allowControl: args.allowControl,
      allowControlAttached: args.allowControlAttached,
      sourceReason: reason,
      sourceReasonCode: code ?? 'explicit',
      serverVersion: ringsideVersion(),
      log,
    });
    if (args.build) ensureUi(log);
    server = await startHttpServer({
      host: args.host,
      port: args.port,
      token: args.token ?? newToken(),
      fanout,
      distDir: DIST_DIR,
      log,
    });
    fanout.start();
  } catch (e) {
    await fanout?.close();
    await source.close();
    throw e;
  }
  let stopping: Promise<void> | undefined;
  const f = fanout;
  const s = server;
  return {
    url: s.url,
    reason,
    source,
    fanout: f,
    server: s,
    stop: () =>
      (stopping ??= (async () => {
        await f.close();
        await s.close();
        await source.close();
      })()),
  };
}

/** Best effort: never fails, never waits. */
export function openBrowser(url: string, log: (line: string) => void): void {
  const graphical =
    process.platform === 'darwin' ||
    process.platform === 'win32' ||
    !!process.env.DISPLAY ||
    !!process.env.WAYLAND_DISPLAY;
  if (!graphical) return;
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args as string[], {detached: true, stdio: 'ignore'});
    child.on('error', () => log(`could not open a browser (${cmd}); open the URL yourself`));
    child.unref();
  } catch {
    // no browser: the URL is printed anyway
  }
}

export async function serveCommand(argv: string[]): Promise<number> {
  let args: ServeArgs;
  try {
    args = parseServeArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`ringside serve: ${e.message}\n\n${SERVE_USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(SERVE_USAGE);
    return 0;
  }
  const log = (line: string) => console.log(line);
  const handle = await startServe(args, log);
  console.log(handle.url);
  if (args.open) openBrowser(handle.url, (l) => console.error(l));
  const signal = await new Promise<string>((resolve) => {
    const on = (sig: string) => () => resolve(sig);
    process.once('SIGINT', on('SIGINT'));
    process.once('SIGTERM', on('SIGTERM'));
  });
  console.error(`${signal}: shutting down`);
  await handle.stop();
  // A source or socket handle left behind must not keep a stopped server alive.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}
