/**
 * WebSocket client of the Ringside server: HELLO → HELLO_ACK, credits, reconnect.
 *
 * Works with the browser's WebSocket and with Node's `ws` package: the constructor is injected,
 * and only the common surface (binaryType, onopen/onmessage/onclose/onerror, send, close) is used.
 *
 * Credits are granted ahead: `windowFrames` at the start, then whatever was consumed each time a
 * quarter of the window has been processed, so three quarters of the window are always granted
 * and the stream never waits for a round trip. `pause()` stops re-granting (the server then keeps
 * reading for faster clients and sends this one GAP frames); `resume()` grants again.
 *
 * After an unexpected close it reconnects with exponential backoff; slices that went by in the
 * meantime are reported by the reader loop as "missed while disconnected" (same server session).
 *
 * Notices: every NOTICE frame goes to `onFrame` like any frame and also to `onNotice` (source
 * notices such as reset / tracing-off / instance-gone / error, CONTROL answers, shutdown), so a
 * UI can subscribe to them alone. `control()` sends a CONTROL request; the answer is a NOTICE
 * `control-ok` / `control-denied` / `control-failed` whose message starts with `#id action: `.
 */
import {FrameReader} from '../core/framing.ts';
import {decodeServerFrame} from '../core/protocol-decode.ts';
import {
  FrameType,
  PROTOCOL_VERSION,
  encodeControl,
  encodeCredit,
  encodeHelloAck,
  type ControlRequest,
  type HelloInfo,
  type NoticeFrame,
  type ServerFrame,
} from '../core/protocol.ts';

export const DEFAULT_WINDOW_FRAMES = 1024;

/** The part of a WebSocket this client uses (browser WebSocket and `ws` both have it). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: {data: unknown}) => void) | null;
  onclose: ((ev: {code: number; reason: string}) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectionOptions {
  /** ws://HOST:PORT/ws?token=TOKEN (see wsUrlFromServerUrl). */
  url: string;
  WebSocket: WebSocketConstructor;
  onFrame(frame: ServerFrame): void;
  /** Every NOTICE frame (after onFrame saw it): reset, tracing-off/-on, control-ok, … */
  onNotice?(notice: NoticeFrame): void;
  onState?(state: ConnectionState, detail: string): void;
  /**
   * Data frames granted ahead. Default 1024 (about 4 MiB of 4 KiB sub-buffers): more than a
   * default 1410 KiB-per-CPU kernel buffer, so a consumer pause of tens of ms does not stop the
   * server reading while the kernel overwrites (bench zero-loss: 128 frames lost 13-20 % at
   * 1-1.5 M/s per CPU where 1024 lost nothing).
   */
  windowFrames?: number;
  /** Bytes of data frames granted ahead. Default 16 MiB. */
  windowBytes?: number;
  includeSymbols?: boolean;
  clientName?: string;
  /** Only these CPUs' data (HELLO_ACK `cpus`); default every CPU. */
  cpus?: readonly number[];
  /** Reconnect after unexpected closes (default true); backoff 250 ms doubling to 5 s. */
  reconnect?: boolean;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Close codes after which reconnecting cannot help. */
const FATAL_CODES = new Set([1002, 1003, 1008, 1009]);

/** `http://h:p/?token=T` (what `serve` prints) → `ws://h:p/ws?token=T`. */
export function wsUrlFromServerUrl(serverUrl: string): string {
  const u = new URL(serverUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = '/ws';
  return u.toString();
}

export class Connection {
  private ws: WebSocketLike | undefined;
  private framer = new FrameReader();
  private stopped = false;
  private paused = false;
  private backoffMs: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private consumedFrames = 0;
  private consumedBytes = 0;
  state: ConnectionState = 'closed';
  /** Counters for stats displays and tests. */
  framesReceived = 0;
  bytesReceived = 0;
  connects = 0;
  lastClose: {code: number; reason: string} | undefined;
  /** The last HELLO (allowControl, controlActions, sourceReason…); undefined before the first. */
  hello: HelloInfo | undefined;
  private controlSerial = 0;

  constructor(private readonly o: ConnectionOptions) {
    this.backoffMs = o.initialBackoffMs ?? 250;
  }

  private get windowFrames(): number {
    return this.o.windowFrames ?? DEFAULT_WINDOW_FRAMES;
  }
  private get windowBytes(): number {
    return this.o.windowBytes ?? 16 * 1024 * 1024;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  private setState(s: ConnectionState, detail: string): void {
    this.state = s;
    this.o.onState?.(s, detail);
  }

  private open(): void {
    this.framer = new FrameReader();
    this.consumedFrames = this.consumedBytes = 0;
    this.setState(
      this.connects ? 'reconnecting' : 'connecting',
      this.o.url.replace(/token=[^&]*/, 'token=…'),
    );
    const ws = new this.o.WebSocket(this.o.url);
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      this.connects++;
      this.setState('open', '');
    };
    ws.onmessage = (ev) => this.onMessage(ws, ev.data);
    ws.onerror = () => {
      // onclose follows with the code; nothing to do here.
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.lastClose = {code: ev.code, reason: ev.reason};
      const detail = `closed ${ev.code}${ev.reason ? `: ${ev.reason}` : ''}`;
      if (this.stopped || this.o.reconnect === false || FATAL_CODES.has(ev.code)) {
        this.stopped = true;
        this.setState('closed', detail);
        return;
      }
      this.setState('reconnecting', `${detail}; retrying in ${this.backoffMs} ms`);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.stopped) this.open();
      }, this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, this.o.maxBackoffMs ?? 5000);
    };
  }

  private onMessage(ws: WebSocketLike, data: unknown): void {
    let chunk: Uint8Array;
    if (data instanceof ArrayBuffer) chunk = new Uint8Array(data);
    else if (ArrayBuffer.isView(data))
      chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else {
      ws.close(1003, 'binary frames only');
      return;
    }
    this.bytesReceived += chunk.length;
    try {
      this.framer.append(chunk);
      for (let m = this.framer.readMessage(); m; m = this.framer.readMessage()) {
        const f = decodeServerFrame(m);
        this.framesReceived++;
        if (f.type === FrameType.HELLO) {
          if (f.hello.protocol !== PROTOCOL_VERSION) {
            ws.close(1002, `server protocol ${f.hello.protocol}, client ${PROTOCOL_VERSION}`);
            return;
          }
          this.hello = f.hello;
          this.o.onFrame(f);
          this.backoffMs = this.o.initialBackoffMs ?? 250;
          this.send(
            encodeHelloAck({
              protocol: PROTOCOL_VERSION,
              // The FrameReader splits messages: the server may send one read as one message.
              multiFrame: true,
              ...(this.o.includeSymbols ? {includeSymbols: true} : {}),
              ...(this.o.clientName ? {client: this.o.clientName} : {}),
              ...(this.o.cpus ? {cpus: [...this.o.cpus]} : {}),
            }),
          );
          this.send(encodeCredit(this.windowFrames, this.windowBytes));
          continue;
        }
        this.o.onFrame(f);
        if (f.type === FrameType.NOTICE) this.o.onNotice?.(f);
        if (f.type === FrameType.SUBBUF || f.type === FrameType.META) {
          this.consumedFrames++;
          this.consumedBytes += m.length;
          this.maybeGrant();
        }
      }
    } catch (e) {
      ws.close(
        1002,
        `bad server frame: ${e instanceof Error ? e.message : String(e)}`.slice(0, 120),
      );
    }
  }

  private maybeGrant(): void {
    if (this.paused) return;
    if (
      this.consumedFrames * 4 >= this.windowFrames ||
      this.consumedBytes * 4 >= this.windowBytes
    ) {
      this.send(encodeCredit(this.consumedFrames, this.consumedBytes));
      this.consumedFrames = this.consumedBytes = 0;
    }
  }

  private send(frame: Uint8Array): void {
    if (this.ws && this.ws.readyState === 1) this.ws.send(frame);
  }

  /**
   * Send a CONTROL request (e.g. `{action: 'enable-event', args: {event: 'sched'}}`). Returns the
   * id put in it (echoed as `#id ` at the start of the answering NOTICE's message), or undefined
   * when not connected. Only honoured when HELLO says `server.allowControl`.
   */
  control(req: ControlRequest): string | undefined {
    if (!this.ws || this.ws.readyState !== 1) return undefined;
    const id = req.id ?? `c${++this.controlSerial}`;
    this.send(encodeControl({...req, id}));
    return id;
  }

  /** Stop granting credits (the server sends GAP frames for what this client misses). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    if (this.consumedFrames > 0) {
      this.send(encodeCredit(this.consumedFrames, this.consumedBytes));
      this.consumedFrames = this.consumedBytes = 0;
    }
  }

  /** Close for good (no reconnect). */
  stop(code = 1000, reason = 'client done'): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const ws = this.ws;
    if (ws) {
      ws.close(code, reason);
    } else {
      this.setState('closed', reason);
    }
  }
}
