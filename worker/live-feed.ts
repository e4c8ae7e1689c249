/**
 * Wires a live server connection into a Session: Connection (WebSocket, credits, reconnect) →
 * ReaderLoop (consumer half of the reader loop, loss figures) → Session (store and views).
 *
 * The reader loop hands over events per slice without the slice's sub-buffer id and seq, so
 * this module notes the frame being handled and builds the `DecodedPage` from it; the ring
 * model's skipped count for the page is the change of the loop's counter around the frame, and
 * skipped-subbufs.ts names the skipped sub-buffers (the loop keeps no ids).
 * META frames are parsed once more here for the statistics view (80 bytes, a few per second).
 */
import {parseMetaPage} from '../core/meta-page.ts';
import {
  FrameType,
  type ControlRequest,
  type HelloInfo,
  type NoticeFrame,
  type ServerFrame,
  type ServerStats,
} from '../core/protocol.ts';
import type {EventColumns} from '../core/subbuffer.ts';
import {
  Connection,
  wsUrlFromServerUrl,
  type ConnectionState,
  type WebSocketConstructor,
} from './connection.ts';
import type {CpuLoss} from './loss.ts';
import type {DecodedPage, LossFigures} from './page-sink.ts';
import {ReaderLoop} from './reader-loop.ts';
import type {Session} from './session.ts';
import {SkippedSubbufTracker} from './skipped-subbufs.ts';

export interface LiveFeedOptions {
  /** Server URL (`http://h:p/…` as `serve` prints, or `ws://h:p/ws`). */
  url: string;
  token: string;
  WebSocket: WebSocketConstructor;
  onState(state: ConnectionState, detail: string): void;
  /** Called after each frame that changed statistics (META, GAP, STATS). */
  onStats(): void;
  /** The server's HELLO arrived (`sameSession`: a reconnect to the same server session). */
  onHello?(hello: HelloInfo, sameSession: boolean): void;
  /** Every server NOTICE (source notices, control answers, shutdown, metadata-changed). */
  onNotice?(notice: NoticeFrame): void;
  windowFrames?: number;
  includeSymbols?: boolean;
}

/** `url` + token → the WebSocket URL the server expects (`ws://h:p/ws?token=T`). */
export function socketUrl(url: string, token: string): string {
  const u = new URL(/^wss?:/.test(url) ? url : wsUrlFromServerUrl(url));
  if (!/^wss?:/.test(url) || u.pathname === '/') u.pathname = '/ws';
  if (token) u.searchParams.set('token', token);
  return u.toString();
}

export class LiveFeed {
  private readonly loop: ReaderLoop;
  private readonly conn: Connection;
  /** The server's HELLO (source, CPUs, sub-buffers, clock), once connected. */
  hello: HelloInfo | undefined;
  /** The server's latest STATS (about once a second). */
  serverStats: ServerStats | undefined;
  private frame: ServerFrame | undefined;
  private skippedBefore = 0;
  private readonly skips: SkippedSubbufTracker;
  decodeErrors = 0;
  /** Tracing on/off as HELLO said, then as tracing-on/-off notices say; undefined = unknown. */
  tracingOn: boolean | undefined;

  constructor(
    private readonly session: Session,
    o: LiveFeedOptions,
  ) {
    this.loop = new ReaderLoop({
      events: (cpu, bytes, cols, start, count, lostBefore) =>
        this.onEvents(cpu, bytes, cols, start, count, lostBefore),
      hello: (hello, same) => {
        this.hello = hello;
        this.tracingOn = hello.tracingOn;
        if (!same) {
          session.reset();
          this.skips.clear();
        }
        o.onHello?.(hello, same);
      },
      metadata: (m) => {
        const h = this.hello;
        session.setMetadata({
          cpus: h?.cpus ?? [],
          littleEndian: h?.littleEndian ?? true,
          headerPage: m.headerPage,
          formats: m.formats,
          savedCmdlines: m.savedCmdlines,
          kallsyms: m.kallsyms,
          printkFormats: m.printkFormats,
        });
      },
      stats: (st) => {
        this.serverStats = st;
      },
      notice: (n) => {
        if (n.kind === 'end') session.flush();
        if (n.kind === 'tracing-on') this.tracingOn = true;
        if (n.kind === 'tracing-off') this.tracingOn = false;
        o.onNotice?.(n);
      },
      error: () => {
        this.decodeErrors++;
      },
    });
    this.skips = new SkippedSubbufTracker(
      (cpu) => this.loop.loss(cpu),
      () => this.hello?.nrSubbufs ?? 0,
    );
    this.conn = new Connection({
      url: socketUrl(o.url, o.token),
      WebSocket: o.WebSocket,
      onFrame: (f) => {
        this.frame = f;
        const cpu = 'cpu' in f ? f.cpu : -1;
        this.skippedBefore = cpu >= 0 ? this.loop.loss(cpu).skippedSubbufsDerived : 0;
        this.skips.before(f);
        this.loop.handle(f);
        this.frame = undefined;
        const skipped = this.skips.after(f);
        if (skipped) session.handleSkippedIds(skipped.cpu, skipped.ids, skipped.missing);
        if (f.type === FrameType.META) this.onMeta(f.cpu, f.timeMs, f.bytes);
        if (f.type === FrameType.SUBBUF || f.type === FrameType.GAP || f.type === FrameType.META) {
          session.handleLoss(this.figures(f.cpu));
        }
        if (f.type === FrameType.META || f.type === FrameType.GAP || f.type === FrameType.STATS)
          o.onStats();
      },
      onState: o.onState,
      windowFrames: o.windowFrames,
      includeSymbols: o.includeSymbols,
      clientName: 'ringside-worker',
    });
  }

  start(): void {
    this.conn.start();
  }

  stop(): void {
    this.conn.stop();
  }

  /**
   * Send a CONTROL request; returns its id (echoed as `#id ` in the answering NOTICE), or
   * undefined when not connected. The answer arrives through `onNotice`.
   */
  control(req: ControlRequest): string | undefined {
    return this.conn.control(req);
  }

  get state(): ConnectionState {
    return this.conn.state;
  }

  /** The reader loop's loss figures of every CPU seen (copies). */
  loss(): CpuLoss[] {
    return this.loop.cpuList().map((cpu) => ({...this.loop.loss(cpu)}));
  }

  private onEvents(
    cpu: number,
    bytes: Uint8Array,
    cols: EventColumns,
    start: number,
    count: number,
    lostBefore: number,
  ): void {
    const f = this.frame;
    const sub = f && f.type === FrameType.SUBBUF ? f : undefined;
    // A view into the message: the store copies what it keeps (page-arena.ts).
    const page: DecodedPage = {
      cpu,
      bytes,
      columns: {
        length: count,
        tsNs: cols.tsNs.subarray(start, start + count),
        payloadOffset: cols.payloadOffset.subarray(start, start + count),
        payloadLen: cols.payloadLen.subarray(start, start + count),
      },
      subbufId: sub?.subbufId ?? -1,
      seq: sub?.seq ?? -1,
      lostBefore,
      skippedBefore: this.loop.loss(cpu).skippedSubbufsDerived - this.skippedBefore,
    };
    this.session.handlePage(page);
  }

  private onMeta(cpu: number, timeMs: number, bytes: Uint8Array): void {
    try {
      this.session.handleMeta(cpu, timeMs, parseMetaPage(bytes, this.hello?.littleEndian ?? true));
    } catch {
      // The reader loop has counted it as a decode error already.
    }
  }

  private figures(cpu: number): LossFigures {
    const l = this.loop.loss(cpu);
    return {
      cpu,
      kernelLostEvents: this.loop.kernelLost(cpu),
      skippedSubbufs: l.skippedSubbufsDerived,
      deliveryGapSlices: l.gapSlices + l.disconnectedSlices + l.unexplainedSlices,
      deliveryGapBytes: l.gapBytes,
    };
  }
}
