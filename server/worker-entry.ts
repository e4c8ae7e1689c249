/**
 * Where a worker thread of the server starts. The CLI runs either from its esbuild bundle
 * (dist-cli/, see server/cli/build-cli.mjs) or from the TypeScript sources through tsx; a
 * worker must start the same way, or it would load the other copy of the code (or none).
 */

/** Set (to true) by server/cli/build-cli.mjs in the precompiled CLI bundle. */
declare const RINGSIDE_CLI_BUNDLE: boolean | undefined;

/** This process runs the precompiled bundle. */
export const BUNDLED = typeof RINGSIDE_CLI_BUNDLE !== 'undefined' && RINGSIDE_CLI_BUNDLE;

/**
 * The entry of a worker that runs `moduleUrl` (the caller's import.meta.url): the bundle's copy,
 * `dist-cli/<bundleName>.mjs` (an entry point in build-cli.mjs; the build rewrites
 * import.meta.url to the source file's URL, so this path holds there too), else the module
 * itself compiled by tsx, registered in the new thread first.
 */
export function workerEntry(moduleUrl: string, bundleName: string): URL {
  if (BUNDLED) return new URL(`../dist-cli/${bundleName}.mjs`, import.meta.url);
  const api = import.meta.resolve('tsx/esm/api');
  const code =
    `import {register} from ${JSON.stringify(api)}; register();` +
    `await import(${JSON.stringify(moduleUrl)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
