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
 * npm run bench zero-loss [--secs S] [--rates 100k,250k,…] [--all-rates 100k,…] [--tools a,b]
 */
import {mkdtempSync, readFileSync, readdirSync, rmSync, statSync} from 'node:fs';
import {cpus, loadavg, tmpdir} from 'node:os';
import {join} from 'node:path';
import {installCleanup} from './lib/cleanup.ts';
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
 */
export type ToolName = 'ringside' | 'ringside-w1024' | 'record' | 'stream';
const ALL_TOOLS: ToolName[] = ['ringside', 'record', 'stream'];
const WINDOWS: Partial<Record<ToolName, number>> = {'ringside-w1024': 1024};

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
): Promise<ToolRun> {
  const server = await startServer(instance ? {instance} : {});
  const w = WINDOWS[tool];
  const consumer = new LiveConsumer(server.url, w ? {windowFrames: w} : {});
  try {
    await consumer.start();
    // With RINGSIDE_BENCH_READ_TRACE=1 this also starts the read trace afresh (see serve-child).
    const readTrace = process.env.RINGSIDE_BENCH_READ_TRACE === '1';
    const before = readTrace ? await server.stats() : undefined;
    const s0 = procCpuS(server.pid);
    const c0 = process.cpuUsage();
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
): Promise<ToolRun> {
  const instance = `${prefix}-${process.pid}-${serial++}`;
  const mg = join(dir, `markgen-${serial}`);
  const out = join(dir, `${tool}-${serial}`);
  const script = markgenScript(t, instance, writers, secs, mg);
  try {
    const r = await runTraceCmd(t, tool, instance, script, {
      output: `${out}.dat`,
      stdoutFile: `${out}.txt`,
      timeoutMs: (secs + 8) * 1000,
    });
    const markgen = readMarkgen(mg, writers);
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
  for (const tool of tools) {
    let ok = 0;
    for (const s of steps) {
      const r = s.runs.find((x) => x.tool === tool);
      if (r && r.lost === 0 && r.backwards === 0) ok = Math.max(ok, achieved(r));
    }
    best[tool] = ok;
  }
  console.log(`\n${series}: highest achieved rate with zero loss`);
  for (const tool of tools)
    console.log(`  ${tool.padEnd(9)} ${best[tool] ? fmtRate(best[tool]) : 'none'}`);
  for (const mine of tools.filter((x) => x.startsWith('ringside'))) {
    for (const ref of tools.filter((x) => !x.startsWith('ringside'))) {
      if (best[mine] !== undefined && best[ref]) {
        console.log(`  ratio ${mine} / trace-cmd ${ref}: ${(best[mine] / best[ref]).toFixed(2)}x`);
      }
    }
  }
  return best;
}

export const zeroLossBench = {
  describe: 'highest markgen rate with zero loss: ringside live vs trace-cmd record / stream',
  async run(args: string[]) {
    installCleanup();
    const opt = (name: string) => {
      const i = args.indexOf(name);
      return i >= 0 ? args[i + 1] : undefined;
    };
    const secs = Number(opt('--secs') ?? 2);
    const oneRates = parseRates(opt('--rates') ?? '100k,500k,1M,1.5M,2M,3M,4M');
    const allRates = parseRates(opt('--all-rates') ?? '100k,500k,1M,1.5M,2M');
    const tools = (opt('--tools')?.split(',') ?? ALL_TOOLS) as ToolName[];
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
    console.log(`${secs} s per run, kernel default buffer size per CPU, own instance per run`);
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
              tool === 'ringside' || tool === 'ringside-w1024'
                ? await runRingside(t, step.writers, secs, tool)
                : await runTraceCmdTool(t, tool, step.writers, secs, dir, rawType);
            if (run.backwards)
              console.error(`  ${tool}: ${run.backwards} ids out of order/duplicated`);
            step.runs.push(run);
          }
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
    const best = plan.map((p) => ({series: p.series, best: summarize(p.steps, tools, p.series)}));
    console.log(`\nwhole bench: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    return {secs, tools, plan, best};
  },
};
