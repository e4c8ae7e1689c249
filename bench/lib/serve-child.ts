/**
 * The server side of the live benchmarks, as its own process: `ringside serve` exactly
 * (startServe: mmap source → fan-out → HTTP/WebSocket server) plus two things the CLI has no
 * flag for: `--bench-clock CLOCK` (trace clock of the own instance, 'mono' for latency),
 * `--bench-instance NAME` (name of the own instance, for tests) and a
 * stdin protocol so the bench can ask the process about itself:
 *   "stats\n" → one JSON line {cpuUserUs, cpuSystemUs, rssBytes, queues: the clients' queue
 *               counters (frames sent, gap slices, METAs deferred), and with
 *               RINGSIDE_BENCH_READ_TRACE=1 the read trace since the previous "stats"}
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
 * kernel buffer went unread (the loss mechanism when the reader is not CPU-bound), and count all
 * reads (`readsTotal`, cumulative).
 */
const readTrace = process.env.RINGSIDE_BENCH_READ_TRACE === '1';
const gapsMs: number[] = [];
/** Every source.read(), with data or not (the wait pacer's work shows here). */
let readsTotal = 0;
const bytesPerRead: number[] = [];
/** Slices the fan-out asked for in each read that returned data (its clients' room, ≤ 256). */
const wantPerRead: number[] = [];
/** Per data read: ms spent in source.wait() since the previous data read. */
const waitMsPerRead: number[] = [];
let waitMs = 0;
let lastDataMs = 0;

function traced(src: TraceSource): TraceSource {
  const read = src.read.bind(src);
  src.read = (max: number) => {
    const b = read(max);
    readsTotal++;
    if (b.slices.length) {
      const now = performance.now();
      if (lastDataMs) gapsMs.push(now - lastDataMs);
      lastDataMs = now;
      bytesPerRead.push(b.slices.reduce((n, x) => n + x.bytes.length, 0));
      wantPerRead.push(max);
      waitMsPerRead.push(waitMs);
      waitMs = 0;
    }
    return b;
  };
  const wait = src.wait.bind(src);
  src.wait = async (ms: number, signal?: AbortSignal) => {
    const t0 = performance.now();
    await wait(ms, signal);
    waitMs += performance.now() - t0;
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

/** Counters of the connected clients' queues (fan-out ids are 1, 2, …; gone ones are skipped). */
function clientQueues() {
  const out = [];
  for (let id = 1; id < 64; id++) {
    const q = handle.fanout.clientQueue(id);
    if (!q) continue;
    out.push({
      id,
      framesSent: q.framesSent,
      gapSlices: q.gapSlices,
      metasDeferred: q.metasDeferred,
      queuedFrames: q.queuedFrames,
    });
  }
  return out;
}

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
        queues: clientQueues(),
        ...(readTrace
          ? {
              readGapsMs: gapsMs.splice(0),
              bytesPerRead: bytesPerRead.splice(0),
              wantPerRead: wantPerRead.splice(0),
              waitMsPerRead: waitMsPerRead.splice(0),
              readsTotal,
            }
          : {}),
      }) + '\n',
    );
  } else if (line.trim() === 'stop') void stop();
});
rl.on('close', () => void stop());
