/**
 * What Ringside costs: CPU time of the server process and of the headless consumer per million
 * events under load, server RSS idle and under load, and the idle CPU of `serve` over 10 s with
 * nothing happening (no client; then one client connected). Reference in the same run: the CPU
 * time of `trace-cmd record` and `trace-cmd stream` (all their processes, measured as
 * RUSAGE_CHILDREN of a python wrapper, minus markgen's own CPU time, which markgen prints) for the
 * same workload.
 *
 * npm run bench cost [--rate R] [--secs S] [--idle-secs S]
 */
import {spawn} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {installCleanup, onEnded, removeInstance, trackChild, trackInstance} from './lib/cleanup.ts';
import {LiveConsumer, startServer} from './lib/live.ts';
import {
  buildTools,
  markgenScript,
  readMarkgen,
  runMarkgens,
  type Tools,
  type Writer,
} from './lib/tools.ts';
import {fmtRate, parseRates, procCpuS, procRssBytes} from './lib/util.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

async function idle(seconds: number, withClient: boolean) {
  const server = await startServer();
  const consumer = withClient ? new LiveConsumer(server.url) : undefined;
  try {
    await consumer?.start();
    await sleep(1500); // let start-up work (module loading, first reads) finish
    const s0 = procCpuS(server.pid);
    const c0 = process.cpuUsage();
    await sleep(seconds * 1000);
    const c1 = process.cpuUsage(c0);
    const cpuS = procCpuS(server.pid) - s0;
    return {
      withClient,
      seconds,
      serverCpuS: cpuS,
      serverCpuPct: (100 * cpuS) / seconds,
      consumerCpuPct: withClient ? (100 * (c1.user + c1.system)) / 1e6 / seconds : undefined,
      serverRssMiB: procRssBytes(server.pid) / MiB,
    };
  } finally {
    consumer?.stop();
    await server.stop();
  }
}

async function ringsideLoad(t: Tools, writers: Writer[], secs: number) {
  const server = await startServer();
  const consumer = new LiveConsumer(server.url);
  try {
    await consumer.start();
    await sleep(500);
    const rssIdle = procRssBytes(server.pid);
    let rssPeak = rssIdle;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, procRssBytes(server.pid))), 100);
    const s0 = procCpuS(server.pid);
    const c0 = process.cpuUsage();
    const mg = await runMarkgens(t, server.instance, writers, secs);
    await consumer.settle(300);
    clearInterval(sampler);
    const c1 = process.cpuUsage(c0);
    const serverCpuS = procCpuS(server.pid) - s0;
    const consumerCpuS = (c1.user + c1.system) / 1e6;
    const written = mg.reduce((n, m) => n + m.written, 0);
    const delivered = [...consumer.ids.values()].reduce((n, c) => n + c.received, 0);
    return {
      tool: 'ringside',
      written,
      delivered,
      achievedRate: written / (mg[0]?.elapsedS || 1),
      cpuS: serverCpuS + consumerCpuS,
      serverCpuS,
      consumerCpuS,
      serverRssIdleMiB: rssIdle / MiB,
      serverRssPeakMiB: rssPeak / MiB,
    };
  } finally {
    consumer.stop();
    await server.stop();
  }
}

let serial = 0;
/** trace-cmd record|stream with its whole process tree's CPU (RUSAGE_CHILDREN) and peak RSS. */
async function traceCmdLoad(
  t: Tools,
  mode: 'record' | 'stream',
  writers: Writer[],
  secs: number,
  dir: string,
) {
  const instance = `ringside-bench-cost-${process.pid}-${serial++}`;
  trackInstance(instance, t.shim);
  const mg = join(dir, `mg-${serial}`);
  const script = markgenScript(t, instance, writers, secs, mg);
  const tc = ['trace-cmd', mode, '-B', instance, '-e', 'sched:sched_process_exec'];
  if (mode === 'record') tc.push('-o', join(dir, `cost-${serial}.dat`));
  tc.push('sh', '-c', script);
  // trace-cmd runs in its own session so a hung one can be stopped with its recorders.
  const py = [
    'import os,resource,signal,subprocess,sys',
    'p=subprocess.Popen(sys.argv[2:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL,start_new_session=True)',
    'try:',
    '  p.wait(timeout=float(sys.argv[1]))',
    'except subprocess.TimeoutExpired:',
    '  os.killpg(p.pid,signal.SIGINT)',
    '  try:',
    '    p.wait(timeout=5)',
    '  except subprocess.TimeoutExpired:',
    '    os.killpg(p.pid,signal.SIGKILL); p.wait()',
    'r=resource.getrusage(resource.RUSAGE_CHILDREN)',
    'print(r.ru_utime+r.ru_stime, r.ru_maxrss)',
  ].join('\n');
  const out = await new Promise<string>((resolve, reject) => {
    const c = trackChild(
      spawn('python3', ['-c', py, String(secs + 8), ...tc], {
        env: {...process.env, LD_PRELOAD: t.shim},
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    let text = '';
    c.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    onEnded(c, (code) =>
      code === 0 ? resolve(text) : reject(new Error(`python wrapper exited ${code}`)),
    );
  });
  removeInstance(instance);
  rmSync(join(dir, `cost-${serial}.dat`), {force: true});
  const [cpuAll, maxRssKb] = out.trim().split(/\s+/).map(Number);
  const mgs = readMarkgen(mg, writers);
  const markgenCpuS = mgs.reduce((n, m) => n + (m.cpuS ?? 0), 0);
  const written = mgs.reduce((n, m) => n + m.written, 0);
  return {
    tool: `trace-cmd ${mode}`,
    written,
    achievedRate: written / (mgs[0]?.elapsedS || 1),
    cpuS: cpuAll - markgenCpuS,
    markgenCpuS,
    /** Largest RSS of any one process in the tree (markgen included), MiB. */
    maxRssMiB: maxRssKb / 1024,
  };
}

export const costBench = {
  describe:
    'CPU per million events (server, consumer) and RSS vs trace-cmd record/stream; idle CPU of serve',
  async run(args: string[]) {
    installCleanup();
    const opt = (n: string) => {
      const i = args.indexOf(n);
      return i >= 0 ? args[i + 1] : undefined;
    };
    const rate = parseRates(opt('--rate') ?? '500k')[0];
    const secs = Number(opt('--secs') ?? 3);
    const idleSecs = Number(opt('--idle-secs') ?? 10);
    const t = buildTools();
    const dir = mkdtempSync(join(tmpdir(), 'ringside-bench-cost-'));
    try {
      const writers: Writer[] = [{cpu: 1, rate}];
      console.log(`load: one markgen writer on cpu1 at ${fmtRate(rate)}/s for ${secs} s`);
      const rs = await ringsideLoad(t, writers, secs);
      const rec = await traceCmdLoad(t, 'record', writers, secs, dir);
      const str = await traceCmdLoad(t, 'stream', writers, secs, dir);
      const perM = (cpuS: number, n: number) => (cpuS / n) * 1e6;
      console.log(`tool               written   achieved   CPU s   CPU s per M events written`);
      for (const r of [rs, rec, str]) {
        console.log(
          `${r.tool.padEnd(17)} ${String(r.written).padStart(8)} ${fmtRate(r.achievedRate).padStart(9)}/s ${r.cpuS
            .toFixed(2)
            .padStart(7)}   ${perM(r.cpuS, r.written).toFixed(3)}`,
        );
      }
      console.log(
        `ringside split: server ${perM(rs.serverCpuS, rs.written).toFixed(3)} s/M, consumer ${perM(rs.consumerCpuS, rs.written).toFixed(3)} s/M (delivered ${rs.delivered} of ${rs.written})`,
      );
      const ratioRec = perM(rs.cpuS, rs.written) / perM(rec.cpuS, rec.written);
      const ratioStr = perM(rs.cpuS, rs.written) / perM(str.cpuS, str.written);
      console.log(
        `CPU per event, ringside (server+consumer) / trace-cmd record: ${ratioRec.toFixed(2)}x`,
      );
      console.log(
        `CPU per event, ringside (server+consumer) / trace-cmd stream: ${ratioStr.toFixed(2)}x`,
      );
      console.log(
        `server RSS: idle ${rs.serverRssIdleMiB.toFixed(0)} MiB, peak under load ${rs.serverRssPeakMiB.toFixed(0)} MiB; trace-cmd record largest process ${rec.maxRssMiB.toFixed(0)} MiB, stream ${str.maxRssMiB.toFixed(0)} MiB`,
      );
      const idleNoClient = await idle(idleSecs, false);
      const idleClient = await idle(idleSecs, true);
      console.log(
        `idle serve over ${idleSecs} s: no client ${idleNoClient.serverCpuPct.toFixed(2)}% CPU (${idleNoClient.serverCpuS.toFixed(2)} s), RSS ${idleNoClient.serverRssMiB.toFixed(0)} MiB; ` +
          `one client: server ${idleClient.serverCpuPct.toFixed(2)}% CPU, consumer ${idleClient.consumerCpuPct?.toFixed(2)}%`,
      );
      return {
        rate,
        secs,
        ringside: rs,
        record: rec,
        stream: str,
        ratioRec,
        ratioStr,
        idleNoClient,
        idleClient,
      };
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
  },
};
