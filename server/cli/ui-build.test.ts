import {mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, expect, it} from 'vitest';
import {uiBuildReason} from './serve-command.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, {recursive: true, force: true})));

function repo(): string {
  const root = mkdtempSync(join(tmpdir(), 'ringside-ui-'));
  dirs.push(root);
  mkdirSync(join(root, 'app/components'), {recursive: true});
  writeFileSync(join(root, 'app/components/X.tsx'), 'x');
  return root;
}

function touch(path: string, secondsAgo: number): void {
  const t = Date.now() / 1000 - secondsAgo;
  utimesSync(path, t, t);
}

it('asks for a build when dist/ is missing, or older than any UI source', () => {
  const root = repo();
  const dist = join(root, 'dist');
  expect(uiBuildReason(dist, root)).toMatch(/missing/);
  mkdirSync(dist);
  writeFileSync(join(dist, 'index.html'), '<html></html>');
  touch(join(root, 'app/components/X.tsx'), 100);
  touch(join(dist, 'index.html'), 10);
  expect(uiBuildReason(dist, root)).toBeUndefined();
  writeFileSync(join(root, 'app/components/X.test.tsx'), 'a test is not built into the UI');
  expect(uiBuildReason(dist, root)).toBeUndefined();
  touch(join(root, 'app/components/X.tsx'), 1); // edited after the build (e.g. git pull)
  expect(uiBuildReason(dist, root)).toMatch(/older than the UI sources/);
});
