/**
 * `ringside tail [URL]`: a command-line client of the live stream that prints events as
 * `trace-cmd report` does. It uses the browser's own modules (worker/connection.ts,
 * worker/reader-loop.ts) over Node's `ws`, or, without a URL, over an in-process loopback to a
 * source started here with serve's options.
 *
 * CPUs arrive interleaved in batches, so lines are merged by timestamp (CpuMerger): a line waits
 * until every other CPU has reached its time or was reported drained (CAUGHT_UP) by a later read.
 * stdout carries only report lines; the per-CPU totals (events, kernel loss, delivery gaps) go
 * to stderr on exit, also on Ctrl-C.
 */
import {DecodeError} from '../../core/errors.ts';
import {EventRegistry} from '../../core/format/event-registry.ts';
import {pageLayoutFromHeaderPage} from '../../core/page-layout.ts';
import {EventRenderer} from '../../core/print/render.ts';
import {FrameType, type HelloInfo, type WireMetadata} from '../../core/protocol.ts';
import {CommLearningRenderer} from '../../core/report/learned-comms.ts';
import {ReportFormatter} from '../../core/report/report-line.ts';
import {
  Connection,
  wsUrlFromServerUrl,
  type WebSocketConstructor,
} from '../../worker/connection.ts';
import type {CpuLoss} from '../../worker/loss.ts';
import {ReaderLoop} from '../../worker/reader-loop.ts';
import {Fanout} from '../fanout/fanout.ts';
import {loopbackWebSocket} from '../fanout/loopback.ts';
import {createSource} from '../sources/create-source.ts';
import type {TraceSource} from '../sources/source.ts';
import {TAIL_USAGE, UsageError, parseTailArgs, sourceOptions, type TailArgs} from './args.ts';

/** Without CAUGHT_UP frames (sim, replay): how long a silent CPU holds the others' lines. */
const HOLD_MS = 500;
/**
 * With CAUGHT_UP frames: last resort for a line nobody can vouch for (the source stopped reading,
 * e.g. its instance is gone). Far above any read interval, so it never decides order in practice.
 */
const MAX_HOLD_MS = 5000;

interface CpuQueue {
  ts: number[];
  lines: string[];
  /** Arrival number of each line (all CPUs count together). */
  arrival: number[];
  arrivalMs: number[];
  head: number;
}

/**
 * Merges per-CPU ordered streams of lines into one timestamp order.
 *
 * A line (cpu c, time t) goes out when it is the earliest queued line and every other CPU d that
 * is announced (HELLO) or has produced data either
 *   - produced a line with a timestamp ≥ t (per-CPU streams are in order), or
 *   - was reported drained completely (CAUGHT_UP) by a server read that started after the read
 *     that delivered this line: every event d had committed then has arrived, and whatever d
 *     writes later is stamped after that read started, so after t.
 * The second rule is why the merger remembers, per CPU, the arrival number covered by the last
 * CAUGHT_UP listing it: CAUGHT_UP(k) covers the lines that arrived before CAUGHT_UP(k−1), i.e.
 * those of earlier reads (a CPU drained early in read k may still write before a later CPU of
 * the same read is drained). The only race left is an event reserved before a read started and
 * committed after its CPU was drained (reserve→commit runs with preemption off: microseconds).
 *
 * Sources that send no CAUGHT_UP (replay) keep the older rule: wait for a CPU that
 * delivered in the last HOLD_MS to reach the line's time, or at most HOLD_MS.
 */
export class CpuMerger {
  private readonly queues = new Map<number, CpuQueue>();
  private readonly lastTs = new Map<number, number>();
  private readonly lastArrivalMs = new Map<number, number>();
  private readonly announced = new Set<number>();
  private firstDataMs = -1;
  private arrivals = 0;
  /** Arrival number at the previous CAUGHT_UP frame. */
  private boundary = 0;
  /** Per CPU: lines that arrived before this number are covered by its CAUGHT_UP. */
  private readonly covered = new Map<number, number>();
  private caughtUpSeen = false;

  /** CPUs announced (HELLO) but silent so far hold the output too. */
  expect(cpus: number[]): void {
    for (const cpu of cpus) this.announced.add(cpu);
  }

  push(cpu: number, tsNs: number, line: string, nowMs: number): void {
    if (this.firstDataMs < 0) this.firstDataMs = nowMs;
    let q = this.queues.get(cpu);
    if (!q) this.queues.set(cpu, (q = {ts: [], lines: [], arrival: [], arrivalMs: [], head: 0}));
    q.ts.push(tsNs);
    q.lines.push(line);
    q.arrival.push(this.arrivals++);
    q.arrivalMs.push(nowMs);
    this.lastTs.set(cpu, tsNs);
    this.lastArrivalMs.set(cpu, nowMs);
  }

  /** A CAUGHT_UP frame: these CPUs were drained completely by the server's last read. */
  caughtUp(cpus: number[]): void {
    this.caughtUpSeen = true;
    for (const cpu of cpus) this.covered.set(cpu, this.boundary);
    this.boundary = this.arrivals;
  }

  /** Lines that can go out now, in order (all of them with `force`), at most `limit`. */
  drain(nowMs: number, force: boolean, limit = Infinity): string[] {
    let wm = Infinity;
    if (!force && !this.caughtUpSeen) {
      for (const [cpu, t] of this.lastArrivalMs) {
        if (nowMs - t < HOLD_MS) wm = Math.min(wm, this.lastTs.get(cpu) ?? Infinity);
      }
      if (this.firstDataMs >= 0 && nowMs - this.firstDataMs < HOLD_MS) {
        for (const cpu of this.announced) if (!this.lastTs.has(cpu)) wm = -Infinity;
      }
    }
    const out: string[] = [];
    while (out.length < limit) {
      let best: CpuQueue | undefined;
      let bestCpu = -1;
      for (const [cpu, q] of this.queues) {
        if (q.head < q.ts.length && (!best || q.ts[q.head] < best.ts[best.head])) {
          best = q;
          bestCpu = cpu;
        }
      }
      if (!best) break;
      const i = best.head;
      if (!force) {
        if (this.caughtUpSeen) {
          if (!this.releasable(bestCpu, best.ts[i], best.arrival[i], best.arrivalMs[i], nowMs))
            break;
        } else if (best.ts[i] > wm) break;
      }
      out.push(best.lines[best.head++]);
      if (best.head === best.ts.length) {
        best.ts = [];
        best.lines = [];
        best.arrival = [];
        best.arrivalMs = [];
        best.head = 0;
      }
    }
    return out;
  }

  private releasable(cpu: number, tsNs: number, arrival: number, arrivedMs: number, nowMs: number) {
    if (nowMs - arrivedMs >= MAX_HOLD_MS) return true;
    const ok = (d: number) =>
      d === cpu ||
      (this.lastTs.get(d) ?? -Infinity) >= tsNs ||
      (this.covered.get(d) ?? 0) > arrival;
    for (const d of this.announced) if (!ok(d)) return false;
    for (const d of this.lastTs.keys()) if (!ok(d)) return false;
    return true;
  }
}

export interface TailIo {
  /** Report text (lines with their newlines). */
  write(text: string): void;
  /** Log and totals lines. */
  err(line: string): void;
  signal?: AbortSignal;
  /** WebSocket constructor for URLs (default: the `ws` package). */
  WebSocket?: WebSocketConstructor;
}

export interface TailResult {
  printed: number;
  loss: CpuLoss[];
  /** Kernel-lost events per CPU, in `loss` order. */
  kernelLost: number[];
  /** Why the stream ended: 'count', 'duration', 'signal', 'end', or the close reason. */
  ended: string;
}

function buildFormatter(
  hello: HelloInfo,
  m: WireMetadata,
  err: (l: string) => void,
): ReportFormatter {
  const layout = pageLayoutFromHeaderPage(m.headerPage, hello.littleEndian);
  const registry = new EventRegistry({longSize: layout.longSize, littleEndian: hello.littleEndian});
  let failed = 0;
  for (const f of m.formats) {
    try {
      registry.addFormatText(f.text, f.system, `${f.system}/${f.name}/format`);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      failed++;
    }
  }
  if (failed) err(`ringside tail: ${failed} event formats did not parse (shown as unknown)`);
  registry.setCmdlines(m.savedCmdlines);
  if (m.kallsyms) registry.setKallsyms(m.kallsyms);
  if (m.printkFormats) registry.setPrintkFormats(m.printkFormats);
  const renderer = new EventRenderer(registry);
  return new ReportFormatter(registry, new CommLearningRenderer(registry, renderer));
}

export function totalsText(loop: ReaderLoop): string[] {
  const lines: string[] = [];
  const sum = {events: 0, kernel: 0, gaps: 0, gapBytes: 0, disc: 0};
  for (const cpu of loop.cpuList()) {
    const l = loop.loss(cpu);
    const k = loop.kernelLost(cpu);
    sum.events += l.events;
    sum.kernel += k;
    sum.gaps += l.gapSlices + l.unexplainedSlices;
    sum.gapBytes += l.gapBytes;
    sum.disc += l.disconnectedSlices;
    const skipped = l.ringModelValid ? `${l.skippedSubbufsDerived}` : 'n/a';
    lines.push(
      `cpu${cpu}: ${l.events} events; kernel loss ${k} events (overrun ${l.overrunEvents}, ` +
        `MISSED stored ${l.missedStoredEvents}, MISSED without count ${l.missedUnknownSubbufs} ` +
        `sub-buffers, skipped sub-buffers ${skipped} [derived]); delivery gaps ` +
        `${l.gapSlices + l.unexplainedSlices} slices (${l.gapBytes} bytes), ` +
        `${l.disconnectedSlices} while disconnected; resets ${l.resets}; decode errors ${l.decodeErrors}`,
    );
  }
  lines.push(
    `total: ${sum.events} events; kernel loss ${sum.kernel} events; delivery gaps ${sum.gaps} ` +
      `slices (${sum.gapBytes} bytes); ${sum.disc} while disconnected`,
  );
  return lines;
}

export async function runTail(args: TailArgs, io: TailIo): Promise<TailResult> {
  let local: {source: TraceSource; fanout: Fanout} | undefined;
  let url: string;
  let WS: WebSocketConstructor;
  if (args.url) {
    url = wsUrlFromServerUrl(args.url);
    WS = io.WebSocket ?? ((await import('ws')).WebSocket as unknown as WebSocketConstructor);
  } else {
    const {source, reason, code} = await createSource(sourceOptions(args, io.err));
    try {
      const fanout = new Fanout(source, await source.open(), {
        statsIntervalMs: 0,
        sourceReason: reason,
        sourceReasonCode: code,
      });
      fanout.start();
      local = {source, fanout};
    } catch (e) {
      await source.close();
      throw e;
    }
    url = 'loopback:';
    WS = loopbackWebSocket(local.fanout);
  }

  let printed = 0;
  let hello: HelloInfo | undefined;
  let fmt: ReportFormatter | undefined;
  const merger = new CpuMerger();
  let finish: (why: string) => void = () => {};
  const ended = new Promise<string>((r) => (finish = r));
  const limit = args.count ?? Infinity;

  const flush = (force: boolean) => {
    const lines = merger.drain(Date.now(), force, limit - printed);
    if (lines.length) {
      printed += lines.length;
      io.write(`${lines.join('\n')}\n`);
    }
    if (printed >= limit) finish('count');
  };

  const loop = new ReaderLoop({
    events(cpu, bytes, cols, start, count, lostBefore) {
      if (!fmt) return;
      const now = Date.now();
      for (let i = start; i < start + count; i++) {
        const line = fmt.formatEvent(
          cpu,
          cols.tsNs[i],
          bytes,
          cols.payloadOffset[i],
          cols.payloadLen[i],
          i === start ? lostBefore : 0,
        );
        merger.push(cpu, cols.tsNs[i], line, now);
      }
    },
    hello(h) {
      hello = h;
      const wanted = args.cpus;
      merger.expect(wanted ? h.cpus.filter((c) => wanted.includes(c)) : h.cpus);
      const absent = wanted?.filter((c) => !h.cpus.includes(c)) ?? [];
      if (absent.length) {
        io.err(
          `ringside tail: --cpu ${absent.join(',')}: not in this source (CPUs ${h.cpus.join(',')})`,
        );
      }
    },
    metadata(m) {
      if (hello) fmt = buildFormatter(hello, m, io.err);
    },
    caughtUp(cpus) {
      merger.caughtUp(cpus);
      flush(false);
    },
    notice(n) {
      if (n.kind === 'end') finish('end');
      else if (n.kind !== 'tracing-on')
        io.err(`ringside tail: ${n.kind}${n.cpu >= 0 ? ` cpu${n.cpu}` : ''}: ${n.message}`);
    },
    error(cpu, e) {
      io.err(`ringside tail: cpu${cpu}: ${e.message}`);
    },
  });

  const conn = new Connection({
    url,
    WebSocket: WS,
    clientName: 'ringside-tail',
    ...(args.cpus ? {cpus: args.cpus} : {}),
    reconnect: false,
    onFrame: (f) => {
      loop.handle(f);
      if (f.type === FrameType.SUBBUF) flush(false);
    },
    onState: (s, detail) => {
      if (s === 'closed') finish(detail || 'closed');
    },
  });
  const ticker = setInterval(() => flush(false), 50);
  const timer =
    args.durationS !== undefined
      ? setTimeout(() => finish('duration'), args.durationS * 1000)
      : undefined;
  const onAbort = () => finish('signal');
  io.signal?.addEventListener('abort', onAbort, {once: true});
  if (io.signal?.aborted) finish('signal');
  conn.start();

  const why = await ended;
  clearInterval(ticker);
  if (timer) clearTimeout(timer);
  io.signal?.removeEventListener('abort', onAbort);
  conn.stop(1000, 'tail done');
  flush(true);
  if (local) {
    await local.fanout.close();
    await local.source.close();
  }
  for (const line of totalsText(loop)) io.err(line);
  const cpus = loop.cpuList();
  return {
    printed,
    loss: cpus.map((c) => ({...loop.loss(c)})),
    kernelLost: cpus.map((c) => loop.kernelLost(c)),
    ended: why,
  };
}

export async function tailCommand(argv: string[]): Promise<number> {
  let args: TailArgs;
  try {
    args = parseTailArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`ringside tail: ${e.message}\n\n${TAIL_USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(TAIL_USAGE);
    return 0;
  }
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.on('error', stop); // EPIPE: `ringside tail | head`
  try {
    const r = await runTail(args, {
      write: (t) => {
        if (!ac.signal.aborted) process.stdout.write(t);
      },
      err: (l) => console.error(l),
      signal: ac.signal,
    });
    if (/^closed (1000|1001)\b/.test(r.ended) || !r.ended.startsWith('closed')) return 0;
    console.error(`ringside tail: connection ${r.ended}`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
  }
}
