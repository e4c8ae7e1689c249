/**
 * Write-to-decoded latency. The instance uses trace clock 'mono' (CLOCK_MONOTONIC), so an event's
 * own timestamp, taken by the kernel when markgen writes it, is comparable with this process's
 * process.hrtime (also CLOCK_MONOTONIC). Latency of an event = the time its batch was decoded by
 * the headless consumer (worker/reader-loop) minus its timestamp; for trace-cmd stream, the time
 * its printed line was read from the pipe (stdbuf -oL, so stdio buffering does not count) minus
 * the printed timestamp (µs resolution). trace-cmd stream runs twice: as it comes (the instance it
 * makes has the kernel's buffer_percent 50) and in an instance made with buffer_percent 0.
 *
 * Loads: light = a 1k/s probe writer on cpu1 alone; heavy = the same probe plus a 500k/s
 * background writer on cpu0. Percentiles are of the probe's events (cpu1).
 *
 * npm run bench latency [--secs S] [--repeat N] [--sched]
 * (--repeat N: every run N times, in turn, then Ringside's p99 and the ratios as median and range
 * over the rounds, lib/over-runs.ts)
 * (--sched: every thread's time running and waiting in the run queue during Ringside's runs,
 * lib/sched-split.ts)
 */
import {spawn} from 'node:child_process';
import {cpus} from 'node:os';
import {mkdirSync, writeFileSync} from 'node:fs';
import {
  TRACEFS,
  installCleanup,
  removeInstance,
  onEnded,
  signalChild,
  trackChild,
  trackInstance,
} from './lib/cleanup.ts';
import {formatPace, machinePace} from './lib/machine-pace.ts';
import {formatOverRuns, overRuns, repeatArg} from './lib/over-runs.ts';
import {LiveConsumer, startServer} from './lib/live.ts';
import {schedDuringLoad} from './lib/sched-split.ts';
import {
  HEAVY_RATE,
  buildTools,
  markgenScript,
  runMarkgens,
  type Tools,
  type Writer,
} from './lib/tools.ts';
import {percentiles} from './lib/util.ts';

const PS = [50, 95, 99, 100];

type Tool = 'ringside' | 'stream' | 'stream-bp0';

/** Write → decoded aim, p99 (issue #6). */
const DECODED_AIM_MS = 20;

interface LatencyResult {
  /** Which round of `--repeat` (1-based). */
  round?: number;
  tool: Tool;
  load: 'light' | 'heavy';
  samples: number;
  /** p50, p95, p99, max in µs. */
  us: number[];
  /** Heavy, Ringside's run: the rate the background writer reached (markgen's own count). */
  bgReached?: number;
}

function summarize(
  tool: LatencyResult['tool'],
  load: LatencyResult['load'],
  ns: number[],
): LatencyResult {
  return {tool, load, samples: ns.length, us: percentiles(ns, PS).map((x) => x / 1000)};
}

function writersFor(load: 'light' | 'heavy', probeCpu: number, bgCpu: number): Writer[] {
  const probe = {cpu: probeCpu, rate: 1000};
  return load === 'light' ? [probe] : [{cpu: bgCpu, rate: HEAVY_RATE}, probe];
}

async function ringside(
  t: Tools,
  load: 'light' | 'heavy',
  secs: number,
  probeCpu: number,
  bgCpu: number,
  sched = false,
) {
  const server = await startServer({clock: 'mono'});
  const consumer = new LiveConsumer(server.url, {latency: true, latencyCpu: probeCpu});
  try {
    await consumer.start();
    const split = sched ? schedDuringLoad(secs, `ringside ${load}: `, server.pid) : undefined;
    const mg = await runMarkgens(t, server.instance, writersFor(load, probeCpu, bgCpu), secs);
    if (split) console.log(await split);
    await consumer.settle();
    const r = summarize('ringside', load, consumer.latencyNs);
    const bg = load === 'heavy' ? mg.find((m) => m.cpu === bgCpu) : undefined;
    if (bg) r.bgReached = bg.rate;
    const probe = mg.find((m) => m.cpu === probeCpu)!;
    if (consumer.ids.get(probeCpu)?.received !== probe.written) {
      console.error(
        `  ringside ${load}: probe ids ${consumer.ids.get(probeCpu)?.received} of ${probe.written}`,
      );
    }
    return r;
  } finally {
    consumer.stop();
    await server.stop();
  }
}

let serial = 0;
async function stream(
  t: Tools,
  load: 'light' | 'heavy',
  secs: number,
  probeCpu: number,
  bgCpu: number,
  bp0: boolean,
) {
  const instance = `ringside-bench-lat-${process.pid}-${serial++}`;
  trackInstance(instance, t.shim);
  if (bp0) {
    mkdirSync(`${TRACEFS}/instances/${instance}`);
    writeFileSync(`${TRACEFS}/instances/${instance}/buffer_percent`, '0');
  }
  const script = markgenScript(
    t,
    instance,
    writersFor(load, probeCpu, bgCpu),
    secs,
    `/tmp/${instance}-mg`,
  );
  const args = [
    '-oL',
    'trace-cmd',
    'stream',
    '-B',
    instance,
    '-C',
    'mono',
    '-e',
    'sched:sched_process_exec',
  ];
  args.push('sh', '-c', script);
  const ns: number[] = [];
  const tag = `[${String(probeCpu).padStart(3, '0')}]`;
  let stderrTail = '';
  let how = '';
  let watchdog = false;
  await new Promise<void>((resolve) => {
    const c = trackChild(
      spawn('stdbuf', args, {
        env: {...process.env, LD_PRELOAD: t.shim},
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // own process group: the timeout stops trace-cmd and its recorders
      }),
      true,
    );
    let rest = '';
    c.stderr!.setEncoding('latin1');
    c.stderr!.on('data', (chunk: string) => (stderrTail = (stderrTail + chunk).slice(-400)));
    c.stdout!.setEncoding('latin1');
    c.stdout!.on('data', (chunk: string) => {
      const now = Number(process.hrtime.bigint());
      const text = rest + chunk;
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        const line = text.slice(start, nl);
        start = nl + 1;
        if (!line.includes('raw_data:') || !line.includes(tag)) continue;
        const m = /\] +(\d+)\.(\d{6}): raw_data/.exec(line);
        if (m) ns.push(now - (Number(m[1]) * 1e9 + Number(m[2]) * 1e3));
      }
      rest = text.slice(start);
    });
    const soft = setTimeout(
      () => {
        watchdog = true;
        signalChild(c, 'SIGINT');
      },
      (secs + 8) * 1000,
    );
    const hard = setTimeout(() => signalChild(c, 'SIGKILL'), (secs + 13) * 1000);
    onEnded(c, (code, signal) => {
      how = signal ? `signal ${signal}` : `exit ${code}`;
      clearTimeout(soft);
      clearTimeout(hard);
      resolve();
    });
  });
  removeInstance(instance);
  if (ns.length === 0) {
    // Seen once (17:45 UTC, light load): nothing printed. Say how it ended rather than NaN.
    const err = stderrTail.trim().replace(/\s+/g, ' ');
    console.log(
      `  trace-cmd stream${bp0 ? ' (buffer_percent 0)' : ''} printed no probe line: ${how}` +
        `${watchdog ? ' after the watchdog' : ''}${err ? `; stderr: ${err}` : ''}`,
    );
  }
  // The printed time is truncated to µs: add half a µs so the estimate is unbiased.
  return summarize(
    bp0 ? 'stream-bp0' : 'stream',
    load,
    ns.map((x) => x - 500),
  );
}

/** trace-cmd stream, run once more if it printed nothing (it sometimes hangs; see docs). */
async function streamWithRetry(...a: Parameters<typeof stream>) {
  const r = await stream(...a);
  if (r.samples > 0) return r;
  console.log('  retrying trace-cmd stream once');
  return stream(...a);
}

/**
 * trace-cmd `ref` / Ringside latency per percentile within one round (the same minutes of the
 * machine), or undefined when either run printed nothing.
 */
function roundRatio(
  results: LatencyResult[],
  load: string,
  ref: string,
  round: number,
): number[] | undefined {
  const of = (tool: string) =>
    results.find((r) => r.tool === tool && r.load === load && r.round === round);
  const a = of('ringside');
  const b = of(ref);
  if (!a || !b || a.samples === 0 || b.samples === 0) return undefined;
  return a.us.map((x, j) => b.us[j] / x);
}

/** Ringside's p99 per load (against the aim) and the p99 ratios, over the `--repeat` rounds. */
function summariseRounds(results: LatencyResult[], repeat: number) {
  console.log(`\nover ${repeat} rounds:`);
  return (['light', 'heavy'] as const).map((load) => {
    const ours = results.filter((r) => r.tool === 'ringside' && r.load === load && r.samples > 0);
    const p99 = overRuns(
      ours.map((r) => r.us[2] / 1000),
      DECODED_AIM_MS,
    );
    console.log(`${load}: ringside p99 ${formatOverRuns(p99)}`);
    const refs = Object.fromEntries(
      ['stream', 'stream-bp0'].flatMap((ref) => {
        const xs: number[] = [];
        for (let round = 1; round <= repeat; round++) {
          const r = roundRatio(results, load, ref, round);
          if (r) xs.push(r[2]);
        }
        if (xs.length === 0) return [];
        const r = overRuns(xs);
        console.log(
          `${' '.repeat(load.length)}  trace-cmd ${ref} / ringside p99 ${formatOverRuns(r, 'x')}`,
        );
        return [[ref, r]];
      }),
    );
    return {load, ringsideP99Ms: p99, p99Ratio: refs};
  });
}

export const latencyBench = {
  describe:
    'write-to-decoded latency p50/p95/p99 (trace clock mono): ringside live vs trace-cmd stream',
  async run(args: string[]) {
    installCleanup();
    const i = args.indexOf('--secs');
    const secs = Number(i >= 0 ? args[i + 1] : 3);
    const repeat = repeatArg(args);
    const t = buildTools();
    const ncpu = cpus().length;
    const probeCpu = ncpu > 1 ? 1 : 0;
    const bgCpu = 0;
    const results: LatencyResult[] = [];
    const paceBefore = machinePace();
    console.log(formatPace(paceBefore));
    console.log(
      `probe: 1k/s markers on cpu${probeCpu}; heavy adds ${HEAVY_RATE / 1000}k/s on cpu${bgCpu}; ${secs} s per run`,
    );
    console.log(`tool      load     samples      p50 µs     p95 µs     p99 µs     max µs`);
    for (let round = 1; round <= repeat; round++) {
      for (const load of ['light', 'heavy'] as const) {
        for (const tool of ['ringside', 'stream', 'stream-bp0'] as const) {
          const r =
            tool === 'ringside'
              ? await ringside(t, load, secs, probeCpu, bgCpu, args.includes('--sched'))
              : await streamWithRetry(t, load, secs, probeCpu, bgCpu, tool === 'stream-bp0');
          r.round = round;
          results.push(r);
          console.log(
            `${tool.padEnd(9)} ${load.padEnd(6)} ${String(r.samples).padStart(9)} ${r.us
              .map((x) => x.toFixed(0).padStart(10))
              .join(' ')}${repeat > 1 ? `   (round ${round})` : ''}` +
              (r.bgReached
                ? `   (cpu${bgCpu} writer reached ${(r.bgReached / 1000).toFixed(0)}k/s)`
                : ''),
          );
        }
      }
    }
    // The JSON keeps each round's ratios; keys get " #round" past the first.
    const ratios: Record<string, number[]> = {};
    for (let round = 1; round <= repeat; round++) {
      for (const load of ['light', 'heavy']) {
        for (const ref of ['stream', 'stream-bp0']) {
          const ratio = roundRatio(results, load, ref, round);
          if (!ratio) continue;
          const k = `${load} ${ref}${round > 1 ? ` #${round}` : ''}`;
          ratios[k] = ratio;
          console.log(
            `${load}${repeat > 1 ? ` #${round}` : ''}: trace-cmd ${ref} / ringside latency: p50 ${ratios[k][0].toFixed(1)}x, p95 ${ratios[k][1].toFixed(1)}x, p99 ${ratios[k][2].toFixed(1)}x`,
          );
        }
      }
    }
    const overRounds = repeat > 1 ? summariseRounds(results, repeat) : undefined;
    const paceAfter = machinePace();
    console.log(`after the runs, ${formatPace(paceAfter)}`);
    return {
      secs,
      repeat,
      overRounds,
      probeCpu,
      bgCpu,
      percentiles: PS,
      results,
      ratios,
      pace: {before: paceBefore, after: paceAfter},
    };
  },
};
