#!/usr/bin/env node
// Entry point for the `ringside` command. The sources are TypeScript. `npm run build:cli`
// (server/cli/build-cli.mjs) bundles them into dist-cli/, which starts several times faster;
// that bundle runs while it is at least as new as every source file it was built from. Without
// it (a fresh checkout, or sources edited since), tsx compiles the sources on load (cached).
import {readFileSync, statSync} from 'node:fs';

const root = new URL('../', import.meta.url);

function bundleIsFresh() {
  try {
    const built = statSync(new URL('dist-cli/ringside.mjs', root)).mtimeMs;
    const {inputs} = JSON.parse(readFileSync(new URL('dist-cli/inputs.json', root), 'utf8'));
    for (const path of inputs) if (statSync(new URL(path, root)).mtimeMs > built) return false;
    return inputs.length > 0;
  } catch {
    return false;
  }
}

let main;
if (process.env.RINGSIDE_NO_BUNDLE !== '1' && bundleIsFresh()) {
  ({main} = await import('../dist-cli/ringside.mjs'));
} else {
  const {register} = await import('tsx/esm/api');
  register();
  ({main} = await import('../server/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
