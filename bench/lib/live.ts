/**
 * Ringside live, end to end, for the benchmarks: a server process (serve-child.ts: mmap source →
 * fan-out → WebSocket) and a headless consumer in this process made of the browser worker's own
 * modules (worker/connection.ts over `ws`, worker/reader-loop.ts decoding every sub-buffer).
 * The consumer reads each raw_data event's u32 id (markgen's per-CPU sequence number) and
 * counts, per CPU, ids received and ids missing, exactly; optionally it records
 * write-to-decoded latency (trace clock 'mono' = CLOCK_MONOTONIC = process.hrtime).
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {createInterface} from 'node:readline';
import {fileURLToPath} from 'node:url';
import WebSocket from 'ws';
import {FrameType, type WireMetadata} from '../../core/protocol.ts';
import type {EventColumns} from '../../core/subbuffer.ts';
import {
  Connection,
  wsUrlFromServerUrl,
  type WebSocketConstructor,
} from '../../worker/connection.ts';
import {ReaderLoop} from '../../worker/reader-loop.ts';
import {removeInstance, trackChild, trackInstance} from './cleanup.ts';
import {percentiles} from './util.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface ServerStats {
  cpuUserUs: number;
  cpuSystemUs: number;
  rssBytes: number;
  /** With RINGSIDE_BENCH_READ_TRACE=1: ms between reads that found data, bytes per such read. */
  readGapsMs?: number[];
  bytesPerRead?: number[];
  /** With RINGSIDE_BENCH_READ_TRACE=1: all source reads so far, and per data read the slices
   * asked for and the ms spent waiting since the previous data read. */
  readsTotal?: number;
  wantPerRead?: number[];
  waitMsPerRead?: number[];
  /** The connected clients' queue counters (fan-out client ids). */
  queues?: {
    id: number;
    framesSent: number;
    gapSlices: number;
    metasDeferred: number;
    queuedFrames: number;
  }[];
}

/** What RINGSIDE_BENCH_READ_TRACE=1 shows about the server's reads between two stats() calls. */
export interface ReadTraceSummary {
  /** All source.read() calls, with data or not. */
  reads: number;
  /** Reads that returned slices. */
  dataReads: number;
  /** ms between consecutive data reads: p50, p90, p99, max (how long the buffer went unread). */
  readGapMs: number[];
  /** Bytes per data read, p50 and max. */
  bytesPerRead: number[];
  /** Slices the fan-out asked for per data read (its clients' room), p50 and min. */
  wantPerRead: number[];
  /** ms in source.wait() before each data read, p50 and p99. */
  waitMsPerRead: number[];
}

/**
 * Summary of the read trace between `before` and `after` (serve-child's stats() hands out the
 * per-read samples since the previous call, and a cumulative read count); undefined without
 * RINGSIDE_BENCH_READ_TRACE=1.
 */
export function summarizeReadTrace(
  before: ServerStats,
  after: ServerStats,
): ReadTraceSummary | undefined {
  if (after.readsTotal === undefined) return undefined;
  const round = (xs: number[]) => xs.map((x) => Math.round(x * 100) / 100);
  const gaps = after.readGapsMs ?? [];
  const bytes = after.bytesPerRead ?? [];
  return {
    reads: after.readsTotal - (before.readsTotal ?? 0),
    dataReads: bytes.length,
    readGapMs: round([
      ...percentiles(gaps, [50, 90, 99]),
      gaps.reduce((m, x) => Math.max(m, x), 0),
    ]),
    bytesPerRead: [percentiles(bytes, [50])[0], bytes.reduce((m, x) => Math.max(m, x), 0)],
    wantPerRead: [
      percentiles(after.wantPerRead ?? [], [50])[0],
      (after.wantPerRead ?? []).reduce((m, x) => Math.min(m, x), Infinity),
    ],
    waitMsPerRead: round(percentiles(after.waitMsPerRead ?? [], [50, 99])),
  };
}

export interface LiveServer {
  pid: number;
  url: string;
  instance: string;
  child: ChildProcess;
  stats(): Promise<ServerStats>;
  stop(): Promise<void>;
}

export async function startServer(
  opts: {
    clock?: string;
    events?: string[];
    instance?: string;
    /** More `ringside serve` options, e.g. ['--no-self-filter']. */
    serveArgs?: string[];
    /** More environment for the server, e.g. {RINGSIDE_READER_THREAD: '0'}. */
    env?: Record<string, string>;
  } = {},
): Promise<LiveServer> {
  // RINGSIDE_BENCH_SERVER_NODE_ARGS: extra node flags for the server, e.g. "--cpu-prof".
  const extra = (process.env.RINGSIDE_BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const args = [
    ...extra,
    '--import',
    'tsx',
    fileURLToPath(new URL('./serve-child.ts', import.meta.url)),
    '--source',
    'mmap',
    '--port',
    '0',
    '--no-open',
    '--no-build',
  ];
  for (const e of opts.events ?? ['ftrace:raw_data']) args.push('-e', e);
  args.push(...(opts.serveArgs ?? []));
  if (opts.clock) args.push('--bench-clock', opts.clock);
  if (opts.instance) args.push('--bench-instance', opts.instance);
  const child = trackChild(
    spawn(process.execPath, args, {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'inherit'],
      env: {...process.env, ...opts.env},
    }),
  );
  const lines = createInterface({input: child.stdout!});
  const waiting: ((l: string) => void)[] = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      waiting.push(resolve);
      child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
    });
  const first = JSON.parse(await nextLine()) as {url: string; instance: string; pid: number};
  trackInstance(first.instance);
  let stopped: Promise<void> | undefined;
  return {
    pid: child.pid!,
    url: first.url,
    instance: first.instance,
    child,
    async stats() {
      child.stdin!.write('stats\n');
      return JSON.parse(await nextLine()) as ServerStats;
    },
    stop() {
      return (stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(t);
          removeInstance(first.instance); // no-op when the server removed it
          resolve();
        });
        child.stdin!.end();
      }));
    },
  };
}

export interface CpuIds {
  received: number;
  /** Next id expected (highest seen + 1). */
  next: number;
  /** Ids skipped over (gaps inside what was seen). */
  missingInside: number;
  /** Ids that arrived below `next` (duplicates or reordering; should stay 0). */
  backwards: number;
}

export interface ConsumerOptions {
  /** Record (decode time − event time) for every event: needs the instance clock 'mono'. */
  latency?: boolean;
  /** Only this CPU's events (default: all). */
  latencyCpu?: number;
  /** Credit window in frames (default: the Connection's, 1024; env RINGSIDE_BENCH_WINDOW_FRAMES). */
  windowFrames?: number;
  /**
   * false: the server does not need to have ftrace/raw_data (other events only; no id
   * counting). Default true: METADATA without it is an error.
   */
  requireRawData?: boolean;
  /**
   * Only this CPU's data: asked of the server in HELLO_ACK (`cpus`), so the others are neither
   * sent nor received. A lighter reference consumer for benches where it shares the machine
   * with the thing measured.
   */
  onlyCpu?: number;
  /** Every decoded batch (timestamps in `cols.tsNs[start .. start+count)`), for own counting. */
  onEvents?: (
    cpu: number,
    bytes: Uint8Array,
    cols: EventColumns,
    start: number,
    count: number,
  ) => void;
}

export class LiveConsumer {
  readonly ids = new Map<number, CpuIds>();
  readonly loop: ReaderLoop;
  readonly conn: Connection;
  events = 0;
  otherEvents = 0;
  /** Server time (Date.now()) of the last META frame handled: how far behind the consumer is. */
  lastMetaTimeMs = 0;
  lastEventMs = 0;
  /** Latency samples in ns (when asked for). */
  latencyNs: number[] = [];
  /** The same events' own timestamps (trace clock, ns), in arrival order (when asked for). */
  latencyTsNs: number[] = [];
  private rawDataType = -1;
  private ready: Promise<void>;

  constructor(url: string, o: ConsumerOptions = {}) {
    let onReady: () => void = () => {};
    let onFail: (e: Error) => void = () => {};
    this.ready = new Promise<void>((res, rej) => {
      onReady = res;
      onFail = rej;
    });
    const lat = o.latency === true;
    const windowFrames =
      o.windowFrames ?? (Number(process.env.RINGSIDE_BENCH_WINDOW_FRAMES) || undefined);
    this.loop = new ReaderLoop({
      events: (cpu, bytes, cols, start, count) => {
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        let st = this.ids.get(cpu);
        if (!st) this.ids.set(cpu, (st = {received: 0, next: 0, missingInside: 0, backwards: 0}));
        const po = cols.payloadOffset;
        const type = this.rawDataType;
        const latHere = lat && (o.latencyCpu === undefined || o.latencyCpu === cpu);
        const nowNs = latHere ? Number(process.hrtime.bigint()) : 0;
        for (let i = start; i < start + count; i++) {
          const p = po[i];
          if (dv.getUint16(p, true) !== type) {
            this.otherEvents++;
            continue;
          }
          const id = dv.getUint32(p + 8, true);
          st.received++;
          if (id >= st.next) {
            st.missingInside += id - st.next;
            st.next = id + 1;
          } else st.backwards++;
          if (latHere) {
            this.latencyNs.push(nowNs - cols.tsNs[i]);
            this.latencyTsNs.push(cols.tsNs[i]);
          }
        }
        o.onEvents?.(cpu, bytes, cols, start, count);
        this.events += count;
        this.lastEventMs = performance.now();
      },
      metadata: (m: WireMetadata) => {
        const f = m.formats.find((x) => x.system === 'ftrace' && x.name === 'raw_data');
        const id = f && /^ID:\s*(\d+)/m.exec(f.text);
        if (!id && o.requireRawData !== false) {
          return onFail(new Error('no ftrace/raw_data format in METADATA'));
        }
        this.rawDataType = id ? Number(id[1]) : 0x10000; // no u16 type matches: no id counting
        onReady();
      },
      error: (cpu, e) => console.error(`consumer cpu${cpu}: ${e.message}`),
    });
    this.conn = new Connection({
      url: wsUrlFromServerUrl(url),
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      clientName: 'ringside-bench',
      ...(windowFrames ? {windowFrames} : {}),
      ...(o.onlyCpu !== undefined ? {cpus: [o.onlyCpu]} : {}),
      reconnect: false,
      onFrame: (f) => {
        if (f.type === FrameType.META) this.lastMetaTimeMs = f.timeMs;
        this.loop.handle(f);
      },
      onState: (s, detail) => {
        if (s === 'closed' && this.rawDataType < 0) onFail(new Error(`connection ${detail}`));
      },
    });
  }

  /** Connect and wait for HELLO + METADATA. */
  async start(): Promise<void> {
    this.conn.start();
    await this.ready;
  }

  /** Resolves once no event arrived for `quietMs` (or after `maxMs`). */
  async settle(quietMs = 400, maxMs = 15_000): Promise<void> {
    const t0 = performance.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      const now = performance.now();
      if (now - Math.max(this.lastEventMs, t0) >= quietMs || now - t0 > maxMs) return;
    }
  }

  /** Kernel loss and delivery gaps the reader loop counted, summed over CPUs. */
  lossSummary(): {
    kernelLost: number;
    gapSlices: number;
    unexplained: number;
    decodeErrors: number;
  } {
    let kernelLost = 0;
    let gapSlices = 0;
    let unexplained = 0;
    let decodeErrors = 0;
    for (const cpu of this.loop.cpuList()) {
      const l = this.loop.loss(cpu);
      kernelLost += this.loop.kernelLost(cpu);
      gapSlices += l.gapSlices;
      unexplained += l.unexplainedSlices;
      decodeErrors += l.decodeErrors;
    }
    return {kernelLost, gapSlices, unexplained, decodeErrors};
  }

  stop(): void {
    this.conn.stop(1000, 'bench done');
  }
}
