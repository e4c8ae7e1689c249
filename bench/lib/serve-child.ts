/**
 * The server side of the live benchmarks, as its own process: `ringside serve` exactly
 * (startServe: mmap source → fan-out → HTTP/WebSocket server) plus two things the CLI has no
 * flag for: `--bench-clock CLOCK` (trace clock of the own instance, 'mono' for latency),
 * `--bench-instance NAME` (name of the own instance, for tests) and a
 * stdin protocol so the bench can ask the process about itself:
 *   "stats\n" → one JSON line {cpuUserUs, cpuSystemUs, rssBytes}
 *   stdin closed or SIGTERM → stop (the source removes its instance) and exit.
 * First stdout line: JSON {url, instance, pid}.
 *
 * Run: node --import tsx bench/lib/serve-child.ts [serve options] [--bench-clock mono]
 */
import {createInterface} from 'node:readline';
import {parseServeArgs} from '../../server/cli/args.ts';
import {startServe} from '../../server/cli/serve-command.ts';
import {createSource} from '../../server/sources/create-source.ts';
import {MmapSource} from '../../server/sources/mmap/mmap-source.ts';
import type {TraceSource} from '../../server/sources/source.ts';

const argv = process.argv.slice(2);
function takeOption(name: string): string | undefined {
  const k = argv.indexOf(name);
  if (k < 0) return undefined;
  const v = argv[k + 1];
  argv.splice(k, 2);
  return v;
}
const clock = takeOption('--bench-clock');
/** Own instance name (tests use `ringside-test-…`); default `ringside-<pid>` as serve does. */
const instanceName = takeOption('--bench-instance');
const args = parseServeArgs(argv);

/**
 * RINGSIDE_BENCH_READ_TRACE=1: time every source.read() that returned data, to see how long the
 * kernel buffer went unread (the loss mechanism when the reader is not CPU-bound).
 */
const readTrace = process.env.RINGSIDE_BENCH_READ_TRACE === '1';
const gapsMs: number[] = [];
const bytesPerRead: number[] = [];
let lastDataMs = 0;

/**
 * RINGSIDE_BENCH_PACE_FIX=1 (experiment, not the shipped behaviour): after a read that returned
 * slices, the next read returns nothing without touching the kernel, so the fan-out goes through
 * source.wait() and the wait pacer's batching gap is honoured. Today the fan-out reads again at
 * once (setImmediate), that read is usually empty, and its noteRead(0) cancels the gap.
 */
const paceFix = process.env.RINGSIDE_BENCH_PACE_FIX === '1';
function pacedAfterData(src: TraceSource): void {
  const read = src.read.bind(src);
  let justHadData = false;
  src.read = (max: number) => {
    const budgetHit = (src as unknown as {moreQueued?: boolean}).moreQueued === true;
    if (justHadData && !budgetHit) {
      justHadData = false;
      return {slices: [], metas: [], notices: []};
    }
    const b = read(max);
    justHadData = b.slices.length > 0;
    return b;
  };
}
function traced(src: TraceSource): TraceSource {
  const read = src.read.bind(src);
  src.read = (max: number) => {
    const b = read(max);
    if (b.slices.length) {
      const now = performance.now();
      if (lastDataMs) gapsMs.push(now - lastDataMs);
      lastDataMs = now;
      bytesPerRead.push(b.slices.reduce((n, x) => n + x.bytes.length, 0));
    }
    return b;
  };
  return src;
}
const logs: string[] = [];
const handle = await startServe(
  args,
  (l) => logs.push(l),
  async (o) => {
    const c = instanceName
      ? {
          source: new MmapSource(o, {ownInstanceName: instanceName, ...(clock ? {clock} : {})}),
          reason: `mmap: own instance ${instanceName}`,
        }
      : await createSource(clock ? {...o, traceClock: clock} : o);
    if (paceFix) pacedAfterData(c.source);
    if (readTrace) traced(c.source);
    return c;
  },
);
const instanceDir = (handle.source as {instanceDir?: string}).instanceDir ?? '';
process.stdout.write(
  JSON.stringify({
    url: handle.url,
    instance: instanceDir.split('/').pop() ?? '',
    pid: process.pid,
    reason: handle.reason,
  }) + '\n',
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await handle.stop();
  process.exit(0);
}
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
const rl = createInterface({input: process.stdin});
rl.on('line', (line) => {
  if (line.trim() === 'stats') {
    const u = process.cpuUsage();
    process.stdout.write(
      JSON.stringify({
        cpuUserUs: u.user,
        cpuSystemUs: u.system,
        rssBytes: process.memoryUsage().rss,
        ...(readTrace ? {readGapsMs: gapsMs.splice(0), bytesPerRead: bytesPerRead.splice(0)} : {}),
      }) + '\n',
    );
  } else if (line.trim() === 'stop') void stop();
});
rl.on('close', () => void stop());
