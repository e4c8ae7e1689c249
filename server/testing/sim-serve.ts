/**
 * `ringside serve --source sim` started in-process on a free port (no browser, no UI build),
 * for tests that need a real server and WebSocket without the kernel. `extra`: more serve flags.
 */
import {parseServeArgs} from '../cli/args.ts';
import {startServe, type ServeHandle} from '../cli/serve-command.ts';
import type {SimSource} from '../sources/sim/sim-source.ts';

export async function startSimServe(
  extra: string[],
): Promise<{serve: ServeHandle; sim: SimSource}> {
  const args = parseServeArgs([
    '--source',
    'sim',
    '--port',
    '0',
    '--no-open',
    '--no-build',
    ...extra,
  ]);
  const serve = await startServe(args, () => {});
  return {serve, sim: serve.source as SimSource};
}
