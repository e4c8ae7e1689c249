/**
 * E2E plumbing: build the UI when dist/ is missing or older than its sources, start
 * `ringside serve` as a child process and read the one URL line it prints, stop it.
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {mkdirSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {uiBuildReason} from '../../server/cli/serve-command.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = join(ROOT, 'test-artifacts');

/** `npx vite build` when dist/ is missing or older than the UI sources (serve's own check). */
export function ensureBuilt(): void {
  if (!uiBuildReason(join(ROOT, 'dist'), ROOT)) return;
  execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], {
    cwd: ROOT,
    stdio: 'inherit',
    // vitest sets NODE_ENV=test, which would leave React's development build in dist/ for
    // `npm start` and the benches: build what users get.
    env: {...process.env, NODE_ENV: 'production'},
    timeout: 180_000,
  });
}

export function ensureArtifacts(): string {
  mkdirSync(ARTIFACTS, {recursive: true});
  return ARTIFACTS;
}

export interface RunningServer {
  url: string;
  origin: string;
  token: string;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

const URL_RE = /http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+/;

/** Start `node bin/ringside.mjs serve ARGS` and wait for its URL line. */
export function startServer(args: string[], timeoutMs = 60_000): Promise<RunningServer> {
  const proc = spawn(process.execPath, ['bin/ringside.mjs', 'serve', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, NO_COLOR: '1'},
  });
  let out = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGTERM');
      reject(new Error(`serve printed no URL within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = URL_RE.exec(out);
      if (!m) return;
      clearTimeout(timer);
      const u = new URL(m[0]);
      const server: RunningServer = {
        url: m[0],
        origin: u.origin,
        token: u.searchParams.get('token') ?? '',
        proc,
        output: () => out,
        stop: () =>
          new Promise<void>((done) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return done();
            const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
            proc.once('exit', () => {
              clearTimeout(kill);
              done();
            });
            proc.kill('SIGTERM');
          }),
      };
      resolvePromise(server);
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code ?? sig}) before printing a URL:\n${out}`));
    });
  });
}
