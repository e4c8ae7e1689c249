/**
 * The realistic mix: sched (sched_switch, sched_wakeup, sched_waking), irq and raw_syscalls
 * (sys_enter, sys_exit) enabled in a fresh instance with the kernel's default buffer, under
 * workloads that are not rate-controlled like markgen:
 *   hackbench -p -g 2 -l 400          a fork/pipe firehose (~3 M events/s per CPU, < 1 s)
 *   stress-ng --switch 2 --switch-freq N --timeout S   paced context switching
 * For each workload, one after the other on the same settings:
 *   ringside          serve (mmap source, own process) → headless consumer (worker/connection +
 *                     worker/reader-loop, every event decoded); lost = the reader loop's kernel
 *                     loss (Δoverrun / MISSED), checked against the instance's per_cpu stats
 *                     once the workload ended and tracing was turned off (both final then)
 *   ringside-traced   the same with `serve --no-self-filter`: the server's own threads are traced
 *                     too (by default they are kept out, as trace-cmd keeps its own out)
 *   trace-cmd record  splice to trace.dat; delivered = events in the file (core/tracedat);
 *                     lost = its "CPU N: X events lost" summary (the instance's overrun)
 *   trace-cmd stream  text to a file; delivered = event lines; lost = its "EVENTS DROPPED" lines
 * sched:sched_process_exec is enabled in every run too (trace-cmd's runner always adds it).
 * Ringside's delivered count is the events stamped while the workload ran (instance clock mono
 * vs process.hrtime), so idle traffic before and after does not count; trace-cmd's window is its
 * own command. Lost % = lost / (delivered + lost).
 *
 * npm run bench mix [--only-workload] [--freqs 500,1000,…] [--secs S]
 *   [--tools ringside,ringside-traced,record,stream] [--no-hackbench]
 * RINGSIDE_BENCH_DEBUG=1 prints the per-CPU loss check and the server's client-queue counters.
 */
import {mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {loadavg, tmpdir} from 'node:os';
import {join} from 'node:path';
import {TRACEFS, installCleanup} from './lib/cleanup.ts';
import {LiveConsumer, startServer} from './lib/live.ts';
import {
  buildTools,
  eventsInText,
  eventsInTraceDat,
  instanceCpuStats,
  runTraceCmd,
  runWorkload,
  type CpuEventCount,
  type Tools,
} from './lib/tools.ts';
import {fmtRate, procCpuS} from './lib/util.ts';

export const MIX_EVENTS = [
  'sched:sched_switch',
  'sched:sched_wakeup',
  'sched:sched_waking',
  'irq',
  'raw_syscalls:sys_enter',
  'raw_syscalls:sys_exit',
];

/** 'ringside-traced': the server started with --no-self-filter (it traces itself). */
type Tool = 'ringside' | 'ringside-traced' | 'record' | 'stream';

interface Workload {
  label: string;
  cmd: string;
  timeoutMs: number;
}

interface MixRun {
  tool: Tool;
  delivered: number;
  lost: number;
  lostUnknown: number;
  lostPct: number;
  /** Delivered events per second of the workload's wall time. */
  deliveredPerS: number;
  workloadWallS: number;
  perCpu: CpuEventCount[];
  /**
   * Delivered events of the tracer's own processes (raw_syscalls traces the tracer too):
   * ringside = server and consumer threads, trace-cmd = comm "trace-cmd".
   */
  self: number;
  /**
   * Ringside: the instance's own per-CPU overrun sum once tracing was off and the consumer had
   * settled (cross-check of `lost`), and how long it took the reader loop's count to agree.
   */
  kernelOverrun?: number;
  lossCheckMs?: number;
  /** Ringside: METAs that found the client's window full and were sent later (client-queue.ts). */
  metasDeferred?: number;
  /** Ringside: the part of `self` from the server's threads (the rest is the consumer's). */
  selfServer?: number;
  /** Ringside: all events decoded, the workload's window or not. */
  decodedAll?: number;
  serverCpuS?: number;
  consumerCpuS?: number;
  note?: string;
}

function total(m: Map<number, CpuEventCount>) {
  let delivered = 0;
  let lost = 0;
  let lostUnknown = 0;
  let self = 0;
  for (const c of m.values()) {
    delivered += c.events;
    lost += c.lost;
    lostUnknown += c.lostUnknown;
    self += c.self ?? 0;
  }
  return {
    delivered,
    lost,
    lostUnknown,
    self,
    perCpu: [...m.values()].sort((a, b) => a.cpu - b.cpu),
  };
}

/** Thread ids of a process (/proc/PID/task). */
function tids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
}

/**
 * Per CPU, the instance's overrun against the reader loop's kernel loss, waiting (≤ 5 s) for the
 * last META frames to arrive. Tracing is off by then, so both are final and must agree.
 */
async function lossCheck(instance: string, consumer: LiveConsumer) {
  const t0 = performance.now();
  for (;;) {
    const stats = instanceCpuStats(instance);
    const perCpu = [...stats.keys()]
      .sort((a, b) => a - b)
      .map((cpu) => ({
        cpu,
        overrun: stats.get(cpu)?.overrun ?? 0,
        readerLoop: consumer.loop.cpuList().includes(cpu) ? consumer.loop.kernelLost(cpu) : 0,
      }));
    const agree = perCpu.every((c) => c.overrun === c.readerLoop);
    const waitedMs = Math.round(performance.now() - t0);
    if (agree || waitedMs > 5000) {
      return {agree, waitedMs, overrun: perCpu.reduce((n, c) => n + c.overrun, 0), perCpu};
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const pct = (lost: number, delivered: number) =>
  delivered + lost > 0 ? (100 * lost) / (delivered + lost) : 0;

async function runRingside(w: Workload, onlyWorkload: boolean, traced: boolean): Promise<MixRun> {
  const server = await startServer({
    clock: 'mono',
    events: [...MIX_EVENTS, 'sched:sched_process_exec'],
    ...(traced ? {serveArgs: ['--no-self-filter']} : {}),
  });
  let fromNs = Infinity;
  let toNs = Infinity;
  const inWindow = new Map<number, CpuEventCount>();
  let decodedAll = 0;
  const selfTids = new Set<number>();
  const serverTids = new Set<number>();
  let self = 0;
  let selfServer = 0;
  const consumer = new LiveConsumer(server.url, {
    requireRawData: false,
    onEvents: (cpu, bytes, cols, start, count) => {
      decodedAll += count;
      let n = 0;
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = start; i < start + count; i++) {
        const ts = cols.tsNs[i];
        if (ts >= fromNs && ts <= toNs) {
          n++;
          const pid = dv.getInt32(cols.payloadOffset[i] + 4, true);
          if (selfTids.has(pid)) {
            self++;
            if (serverTids.has(pid)) selfServer++;
          }
        }
      }
      if (n > 0) {
        let c = inWindow.get(cpu);
        if (!c) inWindow.set(cpu, (c = {cpu, events: 0, lost: 0, lostUnknown: 0}));
        c.events += n;
      }
    },
  });
  try {
    await consumer.start();
    for (const tid of tids(server.pid)) serverTids.add(tid);
    for (const tid of [...serverTids, ...tids(process.pid)]) selfTids.add(tid);
    const s0 = procCpuS(server.pid);
    const c0 = process.cpuUsage();
    fromNs = Number(process.hrtime.bigint());
    // --only-workload: the instance records only the workload's processes (set_event_pid with
    // event-fork), as trace-cmd's -F -c does for its command.
    const pidFilter = onlyWorkload
      ? (pid: number) => {
          const dir = `${TRACEFS}/instances/${server.instance}`;
          writeFileSync(`${dir}/options/event-fork`, '1');
          writeFileSync(`${dir}/set_event_pid`, String(pid));
        }
      : undefined;
    const r = await runWorkload(w.cmd, w.timeoutMs, pidFilter);
    toNs = Number(process.hrtime.bigint());
    if (r.code !== 0) console.error(`  ${w.label}: exit ${r.code}: ${r.output.slice(-500)}`);
    // Stop the instance's writer, as trace-cmd does when its command ends. Whatever else runs on
    // the system keeps writing otherwise, so the kernel's overrun keeps growing and a reading of
    // per_cpu stats runs ahead of the last META the consumer has handled (it is a pipeline
    // behind: up to 708k events during hackbench, converging exactly once the stream drained).
    // That race, not an undercount, was the "reader-loop loss < overrun" seen on 2 of 10 runs.
    writeFileSync(`${TRACEFS}/instances/${server.instance}/tracing_on`, '0');
    await consumer.settle();
    const c1 = process.cpuUsage(c0);
    const s1 = procCpuS(server.pid);
    const check = await lossCheck(server.instance, consumer);
    const loss = consumer.lossSummary();
    const sst = await server.stats();
    const metasDeferred = (sst.queues ?? []).reduce((n, q) => n + q.metasDeferred, 0);
    if (process.env.RINGSIDE_BENCH_DEBUG === '1') {
      console.error(`  debug ${JSON.stringify({check, queues: sst.queues})}`);
    }
    const t = total(inWindow);
    return {
      tool: traced ? 'ringside-traced' : 'ringside',
      delivered: t.delivered,
      lost: loss.kernelLost,
      lostUnknown: 0,
      self,
      lostPct: pct(loss.kernelLost, t.delivered),
      deliveredPerS: t.delivered / r.wallS,
      workloadWallS: r.wallS,
      perCpu: t.perCpu,
      kernelOverrun: check.overrun,
      lossCheckMs: check.waitedMs,
      metasDeferred,
      selfServer,
      decodedAll,
      serverCpuS: s1 - s0,
      consumerCpuS: (c1.user + c1.system) / 1e6,
      ...(loss.gapSlices || loss.unexplained || loss.decodeErrors
        ? {
            note: `delivery gaps ${loss.gapSlices}, unexplained ${loss.unexplained}, decode errors ${loss.decodeErrors}`,
          }
        : {}),
    };
  } finally {
    consumer.stop();
    await server.stop();
  }
}

let serial = 0;
async function runTc(
  t: Tools,
  tool: 'record' | 'stream',
  w: Workload,
  dir: string,
  onlyWorkload: boolean,
): Promise<MixRun> {
  const instance = `ringside-bench-mix-${process.pid}-${serial++}`;
  const out = join(dir, `${tool}-${serial}`);
  const extra = MIX_EVENTS.flatMap((e) => ['-e', e]);
  if (onlyWorkload) extra.push('-F', '-c'); // only the command and its children
  try {
    // The workload's own wall time (trace-cmd's includes its start-up and teardown).
    const timed = `s=$(date +%s%N); ${w.cmd}; e=$(date +%s%N); echo $((e - s)) > ${out}.wall`;
    const r = await runTraceCmd(t, tool, instance, timed, {
      output: `${out}.dat`,
      stdoutFile: `${out}.txt`,
      extra,
      timeoutMs: w.timeoutMs + 10_000,
    });
    const counts =
      tool === 'record'
        ? eventsInTraceDat(`${out}.dat`, 'trace-cmd')
        : eventsInText(`${out}.txt`, 'trace-cmd');
    const tot = total(counts);
    // record: its exit summary ("CPU 0: 481432 events lost") is the instance's overrun; the
    // page headers' own counts are kept as a cross-check in the note.
    let lost = tot.lost;
    let note = '';
    if (tool === 'record') {
      const summary = [...r.stderr.matchAll(/CPU (\d+): (\d+) events lost/g)];
      const fromSummary = summary.reduce((n, m) => n + Number(m[2]), 0);
      note = `page headers: ${tot.lost} lost${tot.lostUnknown ? ` + ${tot.lostUnknown} pages with unknown count` : ''}`;
      if (summary.length) lost = fromSummary;
    }
    if (r.watchdog) note += `${note ? '; ' : ''}stopped with SIGINT after its command ended`;
    let wallS = r.wallS;
    try {
      wallS = Number(readFileSync(`${out}.wall`, 'utf8')) / 1e9 || r.wallS;
    } catch {
      // the workload was stopped before it could write its time: use trace-cmd's
    }
    return {
      tool,
      delivered: tot.delivered,
      lost,
      lostUnknown: tot.lostUnknown,
      self: tot.self,
      lostPct: pct(lost, tot.delivered),
      deliveredPerS: tot.delivered / wallS,
      workloadWallS: wallS,
      perCpu: tot.perCpu,
      ...(note ? {note} : {}),
    };
  } finally {
    rmSync(`${out}.dat`, {force: true});
    rmSync(`${out}.txt`, {force: true});
    rmSync(`${out}.wall`, {force: true});
  }
}

function workloads(args: string[]): Workload[] {
  const opt = (k: string) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const secs = Number(opt('--secs') ?? 3);
  const freqs = (opt('--freqs') ?? '500,1000,2000,5000').split(',').filter(Boolean).map(Number);
  const out: Workload[] = [];
  if (!args.includes('--no-hackbench')) {
    out.push({
      label: 'hackbench -p -g 2 -l 400',
      cmd: 'hackbench -p -g 2 -l 400',
      timeoutMs: 60_000,
    });
  }
  for (const f of freqs) {
    out.push({
      label: `stress-ng switch ${fmtRate(f)}`,
      cmd: `stress-ng --switch 2 --switch-freq ${f} --timeout ${secs}s --quiet`,
      timeoutMs: (secs + 20) * 1000,
    });
  }
  return out;
}

function cell(r: MixRun | undefined): string {
  if (!r) return '—';
  const lost = r.lostPct === 0 ? '0' : `${r.lostPct.toFixed(r.lostPct < 1 ? 2 : 1)} %`;
  const offeredPerS = (r.delivered + r.lost) / r.workloadWallS;
  const share = (n: number) => (r.delivered ? Math.round((100 * n) / r.delivered) : 0);
  const self =
    r.selfServer !== undefined ? `${share(r.self)}%, server ${share(r.selfServer)}` : share(r.self);
  // Ringside: the instance's own overrun when it disagrees with the reader loop's count.
  const kernel =
    r.kernelOverrun !== undefined && r.kernelOverrun !== r.lost
      ? ` (overrun ${fmtRate(r.kernelOverrun)})`
      : '';
  return `${fmtRate(r.delivered)} of ${fmtRate(r.delivered + r.lost)} (${fmtRate(offeredPerS)}/s, self ${self}%) lost ${lost}${r.lostUnknown ? '+?' : ''}${kernel}`;
}

export const mixBench = {
  describe:
    'sched + irq + raw_syscalls under hackbench and stress-ng --switch: events delivered and lost, ringside live vs trace-cmd record and stream',
  async run(args: string[]) {
    installCleanup();
    const i = args.indexOf('--tools');
    const tools = (i >= 0 ? args[i + 1] : 'ringside,record,stream').split(',') as Tool[];
    const onlyWorkload = args.includes('--only-workload');
    const t = buildTools();
    const dir = mkdtempSync(join(tmpdir(), 'ringside-bench-mix-'));
    const steps: {workload: string; startUtc: string; loadavg: number; runs: MixRun[]}[] = [];
    try {
      console.log(
        `events: ${MIX_EVENTS.join(', ')}; kernel default buffer; tools: ${tools.join(', ')}; ` +
          (onlyWorkload ? "only the workload's processes" : 'system-wide'),
      );
      console.log(
        `${'workload'.padEnd(26)}${tools.map((x) => x.padEnd(64)).join('')}  start    load`,
      );
      for (const w of workloads(args)) {
        const step = {
          workload: w.label,
          startUtc: new Date().toISOString(),
          loadavg: loadavg()[0],
          runs: [] as MixRun[],
        };
        for (const tool of tools) {
          const r =
            tool === 'ringside' || tool === 'ringside-traced'
              ? await runRingside(w, onlyWorkload, tool === 'ringside-traced')
              : await runTc(t, tool, w, dir, onlyWorkload);
          step.runs.push(r);
          if (r.note) console.error(`  ${w.label} ${tool}: ${r.note}`);
          if (r.kernelOverrun !== undefined && r.kernelOverrun !== r.lost) {
            console.error(
              `  ${w.label} ringside: reader-loop loss ${r.lost} vs instance overrun ${r.kernelOverrun}`,
            );
          }
        }
        steps.push(step);
        console.log(
          `${w.label.padEnd(26)}${tools.map((x) => cell(step.runs.find((r) => r.tool === x)).padEnd(64)).join('')}  ${step.startUtc.slice(11, 19)} ${step.loadavg.toFixed(1)}`,
        );
      }
      console.log('\nratios (same step): lost % and delivered events');
      for (const s of steps) {
        const rs = s.runs.find((r) => r.tool === 'ringside');
        const parts: string[] = [];
        for (const ref of ['record', 'stream'] as const) {
          const o = s.runs.find((r) => r.tool === ref);
          if (!rs || !o) continue;
          parts.push(
            `ringside/${ref} delivered ${(rs.delivered / Math.max(1, o.delivered)).toFixed(2)}x, lost % ${rs.lostPct.toFixed(1)} vs ${o.lostPct.toFixed(1)}`,
          );
        }
        if (parts.length) console.log(`${s.workload.padEnd(26)}${parts.join('; ')}`);
      }
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
    return {events: MIX_EVENTS, tools, onlyWorkload, steps};
  },
};
