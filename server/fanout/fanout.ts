/**
 * Fan-out with credit flow control: one source, many clients (architecture.md, back-pressure).
 *
 * - The source is read only while some active client has room (credits not yet covered by its
 *   queue, and window space). With no client, or none with credits, nothing is read, so the
 *   kernel buffer keeps its newest data (overwrite mode) for whoever connects next.
 * - Each read asks for as many slices as the client with the most room can take: the server runs
 *   at the pace of the fastest client. Every slice is encoded once and offered to every client;
 *   a client whose window is full gets it recorded as missed and later a GAP frame.
 * - Kernel overrun (in the slices and META frames), delivery gaps (GAP frames, per client) and
 *   window eviction (the worker's business) stay separate: this module only makes GAPs.
 *
 * Connection protocol: HELLO at once; after the client's HELLO_ACK the current METADATA, then
 * live data (only the CPUs it listed in HELLO_ACK `cpus`, if it did). Late joiners get exactly
 * the same. A client's room counts whatever CPUs it takes: the source reads all CPUs at once.
 * Malformed client frames close that client only.
 *
 * Also here: source notices go to every client as NOTICE (also while nobody reads: the source's
 * pollNotices() is looked at every `noticePollMs` when idle); after each read that delivered
 * data (and once after it), a CAUGHT_UP frame lists the CPUs the source drained completely;
 * CONTROL requests are validated and run on the source only with `allowControl` (see
 * server/sources/instance-control.ts), each answered by NOTICE control-ok/-denied/-failed.
 */
import {randomBytes} from 'node:crypto';
import {isDecodeError} from '../../core/errors.ts';
import {decodeClientFrame} from '../../core/protocol-decode.ts';
import {
  FrameType,
  MAX_CLIENT_FRAME_BYTES,
  PROTOCOL_VERSION,
  bytesToHex,
  caughtUpFrameBytes,
  encodeHello,
  encodeMetadata,
  encodeNotice,
  encodeStats,
  metaFrameBytes,
  subbufFrameBytes,
  writeCaughtUp,
  writeMeta,
  writeSubbuf,
  type ControlRequest,
  type HelloInfo,
  type NoticeKind,
  type SourceReasonCode,
  type WireMetadata,
} from '../../core/protocol.ts';
import type {MetaSnapshot, SourceBatch, SourceMetadata, TraceSource} from '../sources/source.ts';
import {ClientQueue, type FrameSink, type WindowOptions} from './client-queue.ts';
import {
  allowedControlActions,
  controlDenial,
  controlTag,
  type ControlPolicy,
} from './control-gate.ts';

export interface FanoutOptions extends Partial<WindowOptions> {
  /** `--allow-control`: CONTROL may change the source's own instance. */
  allowControl?: boolean;
  /** `--allow-control-attached`: … and an attached named instance (never the top level). */
  allowControlAttached?: boolean;
  /** createSource's reason and code, passed on in HELLO. */
  sourceReason?: string;
  sourceReasonCode?: SourceReasonCode;
  /** How often source.pollNotices() is looked at while nothing is read (default 250 ms). */
  noticePollMs?: number;
  serverVersion?: string;
  /** Most slices asked of the source in one read. */
  maxBatch?: number;
  /** source.wait() timeout when the source had nothing. */
  idleWaitMs?: number;
  statsIntervalMs?: number;
  log?: (line: string) => void;
}

/**
 * Per client: up to 1024 queued data frames (as many as worker/connection.ts grants ahead, about
 * 4 MiB of 4 KiB sub-buffers, more than one CPU's default 1410 KiB kernel buffer) so a consumer
 * hiccup is absorbed here rather than by the kernel overwriting; 8 MiB at most whatever the size.
 */
export const DEFAULT_WINDOW: WindowOptions = {
  windowFrames: 1024,
  windowBytes: 8 * 1024 * 1024,
  highWaterBytes: 1024 * 1024,
};

interface Client {
  id: number;
  queue: ClientQueue;
  active: boolean;
  includeSymbols: boolean;
  /** HELLO_ACK `cpus`: only these CPUs' SUBBUF and META frames (undefined: all). */
  cpus: ReadonlySet<number> | undefined;
}

/** Does client `c` take data of `cpu`? */
const wants = (c: Client, cpu: number): boolean => c.active && (!c.cpus || c.cpus.has(cpu));

/**
 * Notices about the source's state: they must reach a client that holds no credits (its queue may
 * be stuck behind a data frame), and their order relative to the data does not matter. `reset`,
 * `metadata-changed` and `end` stay in order with the data they concern.
 */
const URGENT_NOTICES = new Set<NoticeKind>([
  'tracing-off',
  'tracing-on',
  'instance-gone',
  'error',
  'server-shutdown',
]);

/** A promise that resolves at the next `notify()`. */
class Wakeup {
  private resolve: (() => void) | undefined;
  private promise: Promise<void> | undefined;
  wait(): Promise<void> {
    this.promise ??= new Promise((r) => (this.resolve = r));
    return this.promise;
  }
  notify(): void {
    const r = this.resolve;
    this.resolve = this.promise = undefined;
    r?.();
  }
}

export class Fanout {
  readonly sessionId = randomBytes(9).toString('base64url');
  private readonly clients = new Map<number, Client>();
  private nextId = 1;
  private readonly window: WindowOptions;
  private readonly wake = new Wakeup();
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private metadataFrame: Uint8Array;
  private symbolsFrame: Uint8Array | undefined;
  private generation = 1;
  private ended = false;
  private closed = false;
  private tracingOn: boolean | undefined;
  private lastReadMs = 0;
  private lastReadHadData = false;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  // Server-side counters (STATS).
  sourceReads = 0;
  slicesRead = 0;
  bytesRead = 0;
  metasRead = 0;
  readErrors = 0;
  clientErrors = 0;

  constructor(
    private readonly source: TraceSource,
    private metadata: SourceMetadata,
    private readonly opts: FanoutOptions = {},
  ) {
    this.window = {
      windowFrames: opts.windowFrames ?? DEFAULT_WINDOW.windowFrames,
      windowBytes: opts.windowBytes ?? DEFAULT_WINDOW.windowBytes,
      highWaterBytes: opts.highWaterBytes ?? DEFAULT_WINDOW.highWaterBytes,
    };
    this.metadataFrame = encodeMetadata(this.wireMetadata(metadata, false));
    this.tracingOn = metadata.tracingOn;
  }

  private policy(): ControlPolicy {
    return {
      allowControl: this.opts.allowControl ?? false,
      allowControlAttached: this.opts.allowControlAttached ?? false,
    };
  }

  /** CONTROL actions honoured here: none without allowControl or a controllable source. */
  controlActions(): string[] {
    return allowedControlActions(this.source, this.policy());
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Start pumping (idempotent). */
  start(): void {
    this.running ??= this.run();
    const every = this.opts.statsIntervalMs ?? 1000;
    if (every > 0 && !this.statsTimer) {
      this.statsTimer = setInterval(() => this.sendStats(), every);
      this.statsTimer.unref();
    }
    const pollMs = this.opts.noticePollMs ?? 250;
    if (pollMs > 0 && !this.pollTimer && this.source.pollNotices) {
      this.pollTimer = setInterval(() => this.pollNotices(pollMs), pollMs);
      this.pollTimer.unref();
    }
  }

  /** While nothing is read (no credits), notices still reach clients. */
  private pollNotices(pollMs: number): void {
    if (this.closed || Date.now() - this.lastReadMs < pollMs) return;
    let notices;
    try {
      notices = this.source.pollNotices?.() ?? [];
    } catch (e) {
      notices = [{kind: 'error' as const, message: `source state check failed: ${String(e)}`}];
    }
    for (const n of notices) void this.onNotice(n.kind, n.cpu ?? -1, n.message);
  }

  hello(): HelloInfo {
    const m = this.metadata;
    const actions = this.controlActions();
    const o = this.opts;
    return {
      protocol: PROTOCOL_VERSION,
      sessionId: this.sessionId,
      source: m.kind,
      ...(m.instance !== undefined ? {instance: m.instance} : {}),
      cpus: m.cpus,
      subbufSize: m.subbufSize,
      nrSubbufs: m.nrSubbufs,
      traceClock: m.traceClock,
      littleEndian: m.littleEndian,
      ...(m.baselineMetas
        ? {
            baselineMetas: m.baselineMetas.map((b) => ({
              cpu: b.cpu,
              timeMs: b.timeMs,
              hex: bytesToHex(b.bytes),
            })),
          }
        : {}),
      ...(o.sourceReason !== undefined ? {sourceReason: o.sourceReason} : {}),
      ...(o.sourceReasonCode !== undefined ? {sourceReasonCode: o.sourceReasonCode} : {}),
      ...(this.tracingOn !== undefined ? {tracingOn: this.tracingOn} : {}),
      server: {
        name: 'ringside',
        version: o.serverVersion ?? '0.0.0',
        allowControl: actions.length > 0,
        windowFrames: this.window.windowFrames,
        controlActions: actions,
      },
    };
  }

  private wireMetadata(m: SourceMetadata, symbols: boolean): WireMetadata {
    return {
      generation: this.generation,
      headerPage: m.headerPage,
      headerEvent: m.headerEvent,
      formats: m.formats,
      savedCmdlines: m.savedCmdlines,
      traceClock: m.traceClock,
      ...(symbols && m.kallsyms !== undefined ? {kallsyms: m.kallsyms} : {}),
      ...(symbols && m.printkFormats !== undefined ? {printkFormats: m.printkFormats} : {}),
    };
  }

  /** A new connection: HELLO now, data after its HELLO_ACK. Returns its handle. */
  addClient(sink: FrameSink): number {
    const id = this.nextId++;
    const queue = new ClientQueue(sink, this.window, () => this.wake.notify());
    this.clients.set(id, {id, queue, active: false, includeSymbols: false, cpus: undefined});
    queue.sendControl(encodeHello(this.hello()));
    if (this.ended) queue.sendControl(encodeNotice('end', -1, 'the source has ended'));
    return id;
  }

  removeClient(id: number): void {
    const c = this.clients.get(id);
    if (!c) return;
    this.clients.delete(id);
    c.queue.closed = true;
  }

  /** One message from a client. Anything malformed closes that client (1008) and only it. */
  handleMessage(id: number, data: Uint8Array): void {
    const c = this.clients.get(id);
    if (!c) return;
    let f;
    try {
      f = decodeClientFrame(data, MAX_CLIENT_FRAME_BYTES);
    } catch (e) {
      this.clientErrors++;
      const why = isDecodeError(e) ? e.message : String(e);
      this.dropClient(c, 1008, `bad frame: ${why}`.slice(0, 120));
      return;
    }
    if (f.type === FrameType.CREDIT) {
      c.queue.grant(f.frames, f.bytes);
      this.wake.notify();
    } else if (f.type === FrameType.HELLO_ACK) {
      if (c.active) return this.dropClient(c, 1008, 'second HELLO_ACK');
      if (f.ack.protocol !== PROTOCOL_VERSION) {
        return this.dropClient(c, 1008, `protocol ${f.ack.protocol} is not ${PROTOCOL_VERSION}`);
      }
      c.includeSymbols = f.ack.includeSymbols === true;
      c.queue.multiFrame = f.ack.multiFrame === true;
      c.cpus = f.ack.cpus ? new Set(f.ack.cpus) : undefined;
      void this.activate(c);
    } else {
      void this.control(c, f.control);
    }
  }

  /**
   * One CONTROL request: denied (with the reason) unless allowed and listed for this source;
   * else run on the source and answered with control-ok / control-failed. Events changed → new
   * METADATA generation for everyone.
   */
  private async control(c: Client, req: ControlRequest): Promise<void> {
    const tag = controlTag(req);
    const answer = (kind: NoticeKind, text: string) =>
      c.queue.sendUrgent(encodeNotice(kind, -1, `${tag}: ${text}`));
    const denied = controlDenial(req, this.source, this.metadata, this.policy());
    if (denied !== undefined || !this.source.control) {
      return answer('control-denied', denied ?? 'not available');
    }
    let r;
    try {
      r = await this.source.control({action: req.action, args: req.args ?? {}});
    } catch (e) {
      r = {ok: false, message: e instanceof Error ? e.message : String(e)};
    }
    this.opts.log?.(`control ${tag}: ${r.ok ? 'ok' : 'failed'}: ${r.message}`);
    answer(r.ok ? 'control-ok' : 'control-failed', r.message);
    if (r.ok && r.metadataChanged && !this.closed) {
      await this.onNotice('metadata-changed', -1, `${tag}: ${r.message}`);
    }
    // Make the state change (tracing_on…) visible without waiting for a read.
    if (r.ok) this.pollNotices(0);
    this.wake.notify();
  }

  /** Close one client with a code and reason (e.g. 1008 policy violation). */
  dropClient(c: Client | number, code: number, reason: string): void {
    const client = typeof c === 'number' ? this.clients.get(c) : c;
    if (!client) return;
    this.clients.delete(client.id);
    client.queue.close(code, reason);
  }

  private async activate(c: Client): Promise<void> {
    let frame = this.metadataFrame;
    if (c.includeSymbols) {
      if (!this.symbolsFrame) {
        try {
          const m = await this.source.metadata({includeSymbols: true});
          this.symbolsFrame = encodeMetadata(this.wireMetadata(m, true));
        } catch (e) {
          c.queue.sendControl(encodeNotice('error', -1, `symbols unavailable: ${String(e)}`));
        }
      }
      frame = this.symbolsFrame ?? frame;
    }
    if (!this.clients.has(c.id)) return;
    c.queue.sendControl(frame);
    c.active = true;
    this.wake.notify();
  }

  /** The most frames any active client can take now. */
  private room(): number {
    let best = 0;
    for (const c of this.clients.values()) if (c.active) best = Math.max(best, c.queue.room());
    return best;
  }

  private broadcast(frame: Uint8Array, activeOnly = false): void {
    for (const c of this.clients.values()) if (c.active || !activeOnly) c.queue.sendControl(frame);
  }

  broadcastNotice(kind: NoticeKind, cpu: number, message: string): void {
    const frame = encodeNotice(kind, cpu, message);
    if (URGENT_NOTICES.has(kind)) for (const c of this.clients.values()) c.queue.sendUrgent(frame);
    else this.broadcast(frame);
  }

  private async run(): Promise<void> {
    const maxBatch = this.opts.maxBatch ?? 256;
    const idleWaitMs = this.opts.idleWaitMs ?? 250;
    while (!this.closed) {
      const want = this.ended ? 0 : Math.min(this.room(), maxBatch);
      if (want <= 0) {
        await this.wake.wait();
        continue;
      }
      let got = 0;
      try {
        this.sourceReads++;
        this.lastReadMs = Date.now();
        const batch = this.source.read(want);
        // Meta snapshots alone are not news: sources take one per GET_READER, even when idle.
        got = batch.slices.length + batch.notices.length;
        this.deliver(batch);
        for (const n of batch.notices) await this.onNotice(n.kind, n.cpu ?? -1, n.message);
      } catch (e) {
        this.readErrors++;
        this.broadcastNotice('error', -1, `source read failed: ${String(e)}`);
        this.opts.log?.(`source read failed: ${String(e)}`);
        await sleep(100);
        continue;
      }
      // After data too, go through wait(): that is where the source paces its reads (the mmap
      // source holds back a few ms to batch, see wait-pacer.ts); reading again at once would
      // mostly find nothing and cost a read per event. Let socket callbacks and client messages
      // run first.
      if (got > 0) await new Promise<void>((r) => setImmediate(r));
      try {
        await this.source.wait(idleWaitMs, this.abort.signal);
      } catch {
        // aborted by close()
      }
    }
  }

  /**
   * Encode one read's slices, then the last meta page per CPU, then CAUGHT_UP, back to back in
   * one buffer (a multi-frame client gets them as one message without a copy: client-queue.ts),
   * and offer them to every active client.
   */
  private deliver(batch: SourceBatch): void {
    // Meta counters are cumulative: the last snapshot per CPU of a batch says it all, and it
    // goes after the slices it describes.
    const lastMeta = new Map<number, MetaSnapshot>();
    for (const m of batch.metas) lastMeta.set(m.cpu, m);
    this.metasRead += batch.metas.length;
    // CAUGHT_UP after every read that delivered slices, and once after the last of them.
    const hadData = batch.slices.length > 0;
    const caughtUp =
      batch.caughtUp && (hadData || this.lastReadHadData) ? batch.caughtUp : undefined;
    this.lastReadHadData = hadData;
    let total = caughtUp ? caughtUpFrameBytes(caughtUp.length) : 0;
    for (const s of batch.slices) total += subbufFrameBytes(s.bytes.length);
    for (const m of lastMeta.values()) total += metaFrameBytes(m.bytes.length);
    if (total === 0) return;
    const buf = new Uint8Array(total);
    let at = 0;
    const corked = [...this.clients.values()].map((c) => c.queue);
    for (const q of corked) q.cork();
    try {
      for (const s of batch.slices) {
        this.slicesRead++;
        this.bytesRead += s.bytes.length;
        const frame = writeSubbuf(buf, at, s.cpu, s.subbufId, s.seq, s.from, s.bytes);
        at += frame.length;
        for (const c of this.clients.values()) {
          if (wants(c, s.cpu)) c.queue.offerSlice(frame, s.cpu, s.seq, s.bytes.length);
        }
      }
      for (const m of lastMeta.values()) {
        const frame = writeMeta(buf, at, m.cpu, m.timeMs, m.bytes);
        at += frame.length;
        for (const c of this.clients.values())
          if (wants(c, m.cpu)) c.queue.offerMeta(frame, m.cpu, m.bytes);
      }
      if (caughtUp) this.broadcast(writeCaughtUp(buf, at, caughtUp), true);
    } finally {
      for (const q of corked) q.uncork();
    }
  }

  private async onNotice(kind: NoticeKind, cpu: number, message: string): Promise<void> {
    if (kind === 'metadata-changed') {
      try {
        this.metadata = await this.source.metadata();
        this.generation++;
        this.metadataFrame = encodeMetadata(this.wireMetadata(this.metadata, false));
        this.symbolsFrame = undefined;
        for (const c of this.clients.values()) {
          if (c.active && !c.includeSymbols) c.queue.sendControl(this.metadataFrame);
          else if (c.active) void this.activate(c);
        }
      } catch (e) {
        this.broadcastNotice('error', -1, `metadata refresh failed: ${String(e)}`);
      }
    }
    if (kind === 'end') this.ended = true;
    if (kind === 'tracing-on' || kind === 'tracing-off') {
      // A poll and a read may both see one change: tell clients once.
      const on = kind === 'tracing-on';
      if (this.tracingOn === on) return;
      this.tracingOn = on;
    }
    this.broadcastNotice(kind, cpu, message);
  }

  private sendStats(): void {
    for (const c of this.clients.values()) {
      if (!c.active || c.queue.backlog > 16) continue;
      const q = c.queue;
      c.queue.sendControl(
        encodeStats({
          timeMs: Date.now(),
          clients: this.clients.size,
          sourceReads: this.sourceReads,
          slicesRead: this.slicesRead,
          bytesRead: this.bytesRead,
          metasRead: this.metasRead,
          client: {
            framesSent: q.framesSent,
            bytesSent: q.bytesSent,
            credits: Math.max(0, q.creditFrames),
            queuedFrames: q.queuedFrames,
            queuedBytes: q.queuedBytes,
            gapSlices: q.gapSlices,
            gapBytes: q.gapBytes,
            bufferedAmount: q.sink.bufferedAmount,
          },
        }),
      );
    }
  }

  /** Stats of one client (tests, logs). */
  clientQueue(id: number): ClientQueue | undefined {
    return this.clients.get(id)?.queue;
  }

  /** Stop reading, tell clients, close them (1001 going away). Does not close the source. */
  async close(reason = 'server shutting down'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.wake.notify();
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const c of [...this.clients.values()]) {
      c.queue.sendControl(encodeNotice('server-shutdown', -1, reason));
      this.dropClient(c, 1001, reason);
    }
    await this.running;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
