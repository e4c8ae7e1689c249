/**
 * Zero-loss ceiling: markgen writes trace_marker_raw events with per-CPU ids 0..N-1 at a fixed
 * rate into a fresh tracefs instance (kernel default buffer size), and three consumers read the
 * same workload in turn, each exact about which ids arrived:
 *   ringside        serve (mmap source → fan-out → WebSocket, own process) → headless consumer
 *                   in this process (worker/connection + worker/reader-loop, every event decoded)
 *   trace-cmd record  splice to a trace.dat (-B instance), ids read back with core/tracedat
 *   trace-cmd stream  decodes and prints every event (stdout to a file), ids parsed from the text
 * For each step: loss % per tool; per tool the highest rate with zero loss; ratios.
 *
 * With the kernel's default buffers (1410 KiB per CPU) a slow machine may not reach any tool's
 * ceiling: markgen tops out first, and what differs between the tools is only how much CPU they
 * leave it. The summary says so ("no loss at any step"). `--buffer-kb N` gives every tool the
 * same smaller buffer (serve --buffer-kb, trace-cmd -b), so a pause in reading costs events at
 * rates markgen reaches; `npm run bench zero-loss-small` is that with 64 KiB. Each run records
 * the buffer_size_kb the instance really had.
 *
 * npm run bench zero-loss [--secs S] [--rates 100k,250k,…] [--all-rates 100k,…] [--tools a,b]
 *                         [--buffer-kb N]
 */
import {mkdtempSync, readFileSync, readdirSync, rmSync, statSync} from 'node:fs';
import {cpus, loadavg, tmpdir} from 'node:os';
import {join} from 'node:path';
import {TRACEFS, installCleanup} from './lib/cleanup.ts';
import {LiveConsumer, startServer, summarizeReadTrace, type ReadTraceSummary} from './lib/live.ts';
import {
  buildTools,
  idsInText,
  idsInTraceDat,
  markgenScript,
  rawDataTypeId,
  readMarkgen,
  runMarkgens,
  runTraceCmd,
  type IdCount,
  type MarkgenResult,
  type Tools,
  type Writer,
} from './lib/tools.ts';
import {fmtRate, parseRates, procCpuS} from './lib/util.ts';

/**
 * 'ringside' is the consumer as the browser runs it (Connection's default credit window, 1024
 * frames); 'ringside-w1024' pins the window at 1024 frames. That is the default now (it was
 * 128 when the comparison was added), so it is no longer run unless asked for with --tools.
 * 'ringside-inline' is the server reading the kernel on its main thread, as before the reader
 * thread (RINGSIDE_READER_THREAD=0), for a side-by-side run. 'ringside-normal' is the reader
 * thread at normal priority instead of SCHED_FIFO 1 (RINGSIDE_READER_RTPRIO=0).
 */
export type ToolName =
  'ringside' | 'ringside-w1024' | 'ringside-inline' | 'ringside-normal' | 'record' | 'stream';
const ALL_TOOLS: ToolName[] = ['ringside', 'record', 'stream'];
const WINDOWS: Partial<Record<ToolName, number>> = {'ringside-w1024': 1024};
const TOOL_ENV: Partial<Record<ToolName, Record<string, string>>> = {
  'ringside-inline': {RINGSIDE_READER_THREAD: '0'},
  'ringside-normal': {RINGSIDE_READER_THREAD: '1', RINGSIDE_READER_RTPRIO: '0'},
};

export interface ToolRun {
  tool: ToolName;
  written: number;
  received: number;
  lost: number;
  lostPct: number;
  /** Ids that came back out of order or twice (must be 0). */
  backwards: number;
  perCpu: {cpu: number; written: number; received: number; lost: number}[];
  markgen: MarkgenResult[];
  /** Ringside only: what the reader loop itself counted. */
  ringsideLoss?: {kernelLost: number; gapSlices: number; unexplained: number; decodeErrors: number};
  serverCpuS?: number;
  consumerCpuS?: number;
  fileBytes?: number;
  note?: string;
  /** Ringside: server thread states when nothing had arrived 1 s into the run. */
  stall?: string[];
  /** trace-cmd had to be stopped with SIGINT after its command ended. */
  watchdog?: boolean;
  /** Ringside with RINGSIDE_BENCH_READ_TRACE=1: the server's reads and the gaps between them. */
  serverReads?: ReadTraceSummary;
  /** The instance's per-CPU buffer_size_kb while the writers ran (as the tool set it up). */
  bufferKb?: number;
}

/** buffer_size_kb of an instance ("64", or "7 (expanded: 1408)" before first use): KiB. */
function instanceBufferKb(instance: string): number | undefined {
  try {
    return parseBufferKb(readFileSync(`${TRACEFS}/instances/${instance}/buffer_size_kb`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function parseBufferKb(text: string): number | undefined {
  const m = /^\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

function compare(
  markgen: MarkgenResult[],
  ids: Map<number, Pick<IdCount, 'received' | 'backwards'>>,
) {
  let written = 0;
  let received = 0;
  let backwards = 0;
  const perCpu = markgen.map((m) => {
    const c = ids.get(m.cpu);
    written += m.written;
    received += c?.received ?? 0;
    backwards += c?.backwards ?? 0;
    return {
      cpu: m.cpu,
      written: m.written,
      received: c?.received ?? 0,
      lost: m.written - (c?.received ?? 0),
    };
  });
  const lost = written - received;
  return {
    written,
    received,
    lost,
    lostPct: written ? (100 * lost) / written : 0,
    backwards,
    perCpu,
  };
}

export async function runRingside(
  t: Tools,
  writers: Writer[],
  secs: number,
  tool: ToolName = 'ringside',
  instance?: string,
  bufferKb?: number,
): Promise<ToolRun> {
  const server = await startServer({
    ...(instance ? {instance} : {}),
    ...(TOOL_ENV[tool] ? {env: TOOL_ENV[tool]} : {}),
    ...(bufferKb ? {serveArgs: ['--buffer-kb', String(bufferKb)]} : {}),
  });
  const w = WINDOWS[tool];
  const consumer = new LiveConsumer(server.url, w ? {windowFrames: w} : {});
  try {
    await consumer.start();
    // With RINGSIDE_BENCH_READ_TRACE=1 this also starts the read trace afresh (see serve-child).
    const readTrace = process.env.RINGSIDE_BENCH_READ_TRACE === '1';
    const before = readTrace ? await server.stats() : undefined;
    const s0 = procCpuS(server.pid);
    const c0 = process.cpuUsage();
    const bufferKbSeen = instanceBufferKb(server.instance);
    const writing = runMarkgens(t, server.instance, writers, secs);
    // Stall check: a second into the run, the consumer must have events; if not, say where the
    // server's threads are waiting (seen once: whole runs with one event delivered).
    await new Promise((r) => setTimeout(r, 1000));
    const stall = consumer.events < 1000 ? serverThreads(server.pid) : undefined;
    if (stall)
      console.error(
        `  ${tool}: ${consumer.events} events after 1 s; server threads: ${stall.join('; ')}`,
      );
    const markgen = await writing;
    await consumer.settle();
    const c1 = process.cpuUsage(c0);
    const s1 = procCpuS(server.pid);
    const serverReads = before ? summarizeReadTrace(before, await server.stats()) : undefined;
    return {
      tool,
      ...(serverReads ? {serverReads} : {}),
      ...compare(markgen, consumer.ids),
      markgen,
      ringsideLoss: consumer.lossSummary(),
      serverCpuS: s1 - s0,
      ...(bufferKbSeen !== undefined ? {bufferKb: bufferKbSeen} : {}),
      ...(stall ? {stall} : {}),
      consumerCpuS: (c1.user + c1.system) / 1e6,
    };
  } finally {
    consumer.stop();
    await server.stop();
  }
}

/** "tid comm state wchan" of every thread of a process. */
function serverThreads(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map((tid) => {
      const at = (f: string) => readFileSync(`/proc/${pid}/task/${tid}/${f}`, 'utf8').trim();
      const state = at('stat').split(') ')[1]?.split(' ')[0] ?? '?';
      return `${tid} ${at('comm')} ${state} ${at('wchan')}`;
    });
  } catch (e) {
    return [`(cannot read /proc/${pid}/task: ${(e as Error).message})`];
  }
}

let serial = 0;
export async function runTraceCmdTool(
  t: Tools,
  tool: 'record' | 'stream',
  writers: Writer[],
  secs: number,
  dir: string,
  rawType: number,
  prefix = 'ringside-bench-tc',
  bufferKb?: number,
): Promise<ToolRun> {
  const instance = `${prefix}-${process.pid}-${serial++}`;
  const mg = join(dir, `markgen-${serial}`);
  const out = join(dir, `${tool}-${serial}`);
  // What trace-cmd set up, seen from inside its command (the instance exists only then).
  const bufFile = `${mg}.buffer_size_kb`;
  const script = `cat ${TRACEFS}/instances/${instance}/buffer_size_kb > ${bufFile}; ${markgenScript(t, instance, writers, secs, mg)}`;
  try {
    const r = await runTraceCmd(t, tool, instance, script, {
      output: `${out}.dat`,
      stdoutFile: `${out}.txt`,
      timeoutMs: (secs + 8) * 1000,
      ...(bufferKb ? {extra: ['-b', String(bufferKb)]} : {}),
    });
    const markgen = readMarkgen(mg, writers);
    const bufferKbSeen = parseBufferKb(readFileSync(bufFile, 'utf8'));
    const ids = tool === 'record' ? idsInTraceDat(`${out}.dat`, rawType) : idsInText(`${out}.txt`);
    const lostLine = [...r.stderr.matchAll(/CPU \d+: \d+ events lost/g)]
      .map((m) => m[0])
      .join(', ');
    if (r.watchdog)
      console.error(`  trace-cmd ${tool} did not exit after its command; stopped with SIGINT`);
    return {
      tool,
      ...compare(markgen, ids),
      markgen,
      fileBytes: statSync(tool === 'record' ? `${out}.dat` : `${out}.txt`).size,
      ...(bufferKbSeen !== undefined ? {bufferKb: bufferKbSeen} : {}),
      ...(lostLine ? {note: `trace-cmd: ${lostLine}`} : {}),
      ...(r.watchdog ? {watchdog: true} : {}),
    };
  } finally {
    rmSync(`${out}.dat`, {force: true});
    rmSync(`${out}.txt`, {force: true});
  }
}

/** Ids written per second by all writers of a run. */
function achieved(r: ToolRun): number {
  return r.markgen.reduce((n, m) => n + m.written / (m.elapsedS || 1), 0);
}

interface Step {
  label: string;
  writers: Writer[];
  targetRate: number;
  runs: ToolRun[];
  /** 1-minute load average when the step started (the machine is shared). */
  loadavg?: number;
}

function summarize(steps: Step[], tools: ToolName[], series: string) {
  const best: Record<string, number> = {};
  /** Tools that lost nothing at any step: their ceiling lies above every rate reached. */
  const neverLost: Record<string, boolean> = {};
  for (const tool of tools) {
    let ok = 0;
    let lost = false;
    for (const s of steps) {
      const r = s.runs.find((x) => x.tool === tool);
      if (r && r.lost === 0 && r.backwards === 0) ok = Math.max(ok, achieved(r));
      else if (r) lost = true;
    }
    best[tool] = ok;
    neverLost[tool] = !lost;
  }
  console.log(`\n${series}: highest achieved rate with zero loss`);
  for (const tool of tools) {
    const open = neverLost[tool] ? '  (no loss at any step: the ceiling is higher)' : '';
    console.log(`  ${tool.padEnd(9)} ${best[tool] ? fmtRate(best[tool]) : 'none'}${open}`);
  }
  for (const mine of tools.filter((x) => x.startsWith('ringside'))) {
    for (const ref of tools.filter((x) => !x.startsWith('ringside'))) {
      if (best[mine] !== undefined && best[ref]) {
        // Two open ceilings compare what markgen reached beside each tool (its CPU headroom),
        // not where either starts to lose.
        const what =
          neverLost[mine] && neverLost[ref] ? ' (both open: generator rates, not ceilings)' : '';
        console.log(
          `  ratio ${mine} / trace-cmd ${ref}: ${(best[mine] / best[ref]).toFixed(2)}x${what}`,
        );
      }
    }
  }
  return {best, neverLost};
}

export const zeroLossBench = {
  describe: 'highest markgen rate with zero loss: ringside live vs trace-cmd record / stream',
  async run(args: string[]) {
    installCleanup();
    const opt = (name: string) => {
      const i = args.lastIndexOf(name); // later flags win over zeroLossSmallBench's defaults
      return i >= 0 ? args[i + 1] : undefined;
    };
    const secs = Number(opt('--secs') ?? 2);
    const oneRates = parseRates(opt('--rates') ?? '100k,500k,1M,1.5M,2M,3M,4M');
    const allRates = parseRates(opt('--all-rates') ?? '100k,500k,1M,1.5M,2M');
    const tools = (opt('--tools')?.split(',') ?? ALL_TOOLS) as ToolName[];
    const bufferKb = opt('--buffer-kb') ? Number(opt('--buffer-kb')) : undefined;
    const ncpu = cpus().length;
    const t = buildTools();
    const rawType = rawDataTypeId();
    const dir = mkdtempSync(join(tmpdir(), 'ringside-bench-'));
    const t0 = performance.now();
    const oneCpu = ncpu > 1 ? 1 : 0;
    const plan: {series: string; steps: Step[]}[] = [
      {
        series: `one writer on cpu${oneCpu}`,
        steps: oneRates.map((r) => ({
          label: `1×${fmtRate(r)}`,
          writers: [{cpu: oneCpu, rate: r}],
          targetRate: r,
          runs: [],
        })),
      },
      {
        series: `one writer on each of ${ncpu} CPUs`,
        steps: allRates.map((r) => ({
          label: `${ncpu}×${fmtRate(r)}`,
          writers: Array.from({length: ncpu}, (_, cpu) => ({cpu, rate: r})),
          targetRate: r * ncpu,
          runs: [],
        })),
      },
    ];
    console.log(
      `${secs} s per run, ${bufferKb ? `${bufferKb} KiB` : 'kernel default'} buffer per CPU, own instance per run`,
    );
    console.log(
      'lost % of written ids @ rate markgen achieved during that run (ids written/s, all writers)',
    );
    console.log(`step       ${tools.map((x) => x.padStart(22)).join('')}   (1-min load average)`);
    try {
      for (const p of plan) {
        console.log(`-- ${p.series}`);
        for (const step of p.steps) {
          step.loadavg = loadavg()[0];
          for (const tool of tools) {
            const run =
              tool !== 'record' && tool !== 'stream'
                ? await runRingside(t, step.writers, secs, tool, undefined, bufferKb)
                : await runTraceCmdTool(
                    t,
                    tool,
                    step.writers,
                    secs,
                    dir,
                    rawType,
                    undefined,
                    bufferKb,
                  );
            if (run.backwards)
              console.error(`  ${tool}: ${run.backwards} ids out of order/duplicated`);
            step.runs.push(run);
          }
          // The kernel rounds a size up to whole sub-buffers (64 → 67 KiB): the tools must agree.
          const sizes = new Set(step.runs.map((r) => r.bufferKb));
          if (sizes.size > 1)
            console.error(
              `  buffer_size_kb differs between tools: ${step.runs.map((r) => `${r.tool} ${r.bufferKb}`).join(', ')}`,
            );
          const cell = (r: ToolRun) =>
            `${r.watchdog ? '*' : ''}${r.stall ? '!' : ''}${r.lostPct.toFixed(2)}% @${fmtRate(achieved(r))}`;
          console.log(
            `${step.label.padEnd(11)}${step.runs.map((r) => cell(r).padStart(22)).join('')}   load ${step.loadavg.toFixed(1)}`,
          );
          for (const rs of step.runs) {
            const l = rs.ringsideLoss;
            if (l && l.kernelLost + l.gapSlices + l.unexplained > 0) {
              console.log(
                `${''.padEnd(11)} ${rs.tool}'s own count: kernel loss ${l.kernelLost} events, delivery ` +
                  `gaps ${l.gapSlices} slices, unexplained ${l.unexplained} (ids missing: ${rs.lost})`,
              );
            }
          }
        }
      }
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
    console.log(
      '* trace-cmd did not exit when its command ended; stopped with SIGINT after secs+8 s',
    );
    console.log(
      '! ringside: nothing delivered 1 s into the run (server thread states in the JSON)',
    );
    const best = plan.map((p) => ({series: p.series, ...summarize(p.steps, tools, p.series)}));
    console.log(`\nwhole bench: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    return {secs, bufferKb: bufferKb ?? 'kernel default', tools, plan, best};
  },
};

/** The same steps with 64 KiB per-CPU buffers for every tool: where loss is reachable here. */
export const zeroLossSmallBench = {
  describe: 'zero-loss with 64 KiB per-CPU buffers for every tool (a reachable loss ceiling)',
  run(args: string[]) {
    return zeroLossBench.run([
      '--buffer-kb',
      '64',
      '--rates',
      '250k,500k,750k,4M',
      '--all-rates',
      '250k,500k,2M',
      '--tools',
      'ringside,ringside-normal,ringside-inline,record,stream',
      ...args,
    ]);
  },
};
