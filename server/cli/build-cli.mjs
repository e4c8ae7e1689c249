#!/usr/bin/env node
/**
 * Build the precompiled CLI: server/cli/main.ts and everything it imports, bundled by esbuild
 * into dist-cli/ (ringside.mjs, the worker entries report-helper.mjs and mmap-reader.mjs, and
 * shared chunks), so that `ringside` starts without tsx compiling TypeScript on every run.
 * bin/ringside.mjs uses the bundle while it is at least as new as every source file it was
 * built from (dist-cli/inputs.json), else tsx.
 *
 * Plain JavaScript so that it runs before anything is built: `node server/cli/build-cli.mjs`.
 *
 * Two source patterns need help to keep working from dist-cli/:
 * - `import.meta.url` (and .dirname/.filename) is rewritten to the source file's own location,
 *   so paths computed from it (the repo root, data files next to a module) stay the same.
 * - `import(variable)` whose value is one of the file's own `= './x.ts'` constants is turned
 *   into a choice between literal imports, which esbuild can bundle.
 */
import {mkdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync} from 'node:fs';
import {dirname, join, relative} from 'node:path';
import {fileURLToPath} from 'node:url';
import {build} from 'esbuild';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = join(REPO, 'dist-cli');
/** Packages loaded from node_modules at run time (koffi has native binaries). */
const EXTERNAL = ['koffi', 'ws', 'fzstd', 'fflate', 'esbuild', 'tsx', 'tsx/*'];

/** The expression that gives a source file's URL from inside a bundle in dist-cli/. */
function sourceUrlExpr(path) {
  const rel = relative(OUT, path).split('\\').join('/');
  return `new URL(${JSON.stringify(rel)}, import.meta.url)`;
}

export function rewriteImportMeta(code, path) {
  const url = sourceUrlExpr(path);
  const filename = `decodeURIComponent(${url}.pathname)`;
  const dirname = `decodeURIComponent(new URL(".", ${url}).pathname).slice(0, -1)`;
  return code
    .replace(/\bimport\.meta\.url\b/g, `${url}.href`)
    .replace(/\bimport\.meta\.filename\b/g, filename)
    .replace(/\bimport\.meta\.dirname\b/g, dirname);
}

function rewriteVariableImports(code) {
  if (!/\bimport\(\s*[A-Za-z_$]/.test(code)) return code;
  const specs = [...new Set([...code.matchAll(/=\s*'(\.\.?\/[^'\n]+\.ts)'/g)].map((m) => m[1]))];
  if (specs.length === 0) return code;
  const choose =
    specs.map((s) => `__s === ${JSON.stringify(s)} ? import(${JSON.stringify(s)}) : `).join('') +
    'import(__s)';
  return code.replace(
    /\bimport\(\s*([A-Za-z_$][\w$]*)\s*\)/g,
    (_m, v) => `((__s) => ${choose})(${v})`,
  );
}

const sourcePlugin = {
  name: 'ringside-sources',
  setup(b) {
    b.onLoad({filter: /\.ts$/}, (args) => {
      if (args.path.includes('node_modules')) return undefined;
      let code = readFileSync(args.path, 'utf8');
      code = rewriteVariableImports(rewriteImportMeta(code, args.path));
      return {contents: code, loader: 'ts'};
    });
  },
};

export async function buildCli({quiet = false} = {}) {
  const t0 = performance.now();
  // Built next to dist-cli/ and swapped in at the end, so that a `ringside` starting meanwhile
  // finds either the old bundle or the new one.
  const tmp = `${OUT}.tmp-${process.pid}`;
  rmSync(tmp, {recursive: true, force: true});
  mkdirSync(tmp, {recursive: true});
  // The bundle is dated when the build started: a source saved while esbuild ran is newer.
  const startedS = Date.now() / 1000;
  let inputs;
  try {
    const result = await build({
      absWorkingDir: REPO,
      entryPoints: [
        {in: 'server/cli/main.ts', out: 'ringside'},
        {in: 'server/cli/report-threads.ts', out: 'report-helper'},
        {in: 'server/sources/mmap/reader-thread.ts', out: 'mmap-reader'},
      ],
      outdir: tmp,
      outExtension: {'.js': '.mjs'},
      chunkNames: 'chunk-[hash]',
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      external: EXTERNAL,
      define: {RINGSIDE_CLI_BUNDLE: 'true'},
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'warning',
      plugins: [sourcePlugin],
    });
    // Repo-relative paths of the sources in the bundle, which bin/ringside.mjs compares by mtime.
    inputs = Object.keys(result.metafile.inputs)
      .filter((p) => !p.includes('node_modules'))
      .concat('server/cli/build-cli.mjs');
    writeFileSync(join(tmp, 'inputs.json'), JSON.stringify({inputs}) + '\n');
    utimesSync(join(tmp, 'ringside.mjs'), startedS, startedS);
    const old = `${OUT}.old-${process.pid}`;
    try {
      renameSync(OUT, old);
    } catch {
      // no earlier build
    }
    renameSync(tmp, OUT);
    rmSync(old, {recursive: true, force: true});
  } finally {
    rmSync(tmp, {recursive: true, force: true});
  }
  if (!quiet) {
    const ms = (performance.now() - t0).toFixed(0);
    console.log(`dist-cli/: ${inputs.length} source files bundled in ${ms} ms`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildCli();
