/**
 * A `WebSocketLike` whose socket lives in a worker of its own (socket-relay-worker.ts), for
 * Connection: the store worker gets each message as a transferred ArrayBuffer and its own
 * long tasks no longer hold up Chromium's reading of the socket. One relay worker per socket
 * (a reconnect makes a new one; it ends with its socket).
 */
import type {WebSocketConstructor, WebSocketLike} from './connection.ts';

interface RelayEvent {
  ev: 'open' | 'message' | 'close' | 'error';
  data?: unknown;
  code?: number;
  reason?: string;
}

export interface RelayPort {
  onmessage: ((e: {data: RelayEvent}) => void) | null;
  /** The relay worker failed (its script did not load or threw): the socket is gone. */
  onerror: ((e: unknown) => void) | null;
  postMessage(m: unknown): void;
  terminate(): void;
}

export function relayWebSocket(spawn: () => RelayPort): WebSocketConstructor {
  return class RelayWebSocket implements WebSocketLike {
    binaryType = 'arraybuffer';
    readyState = 0;
    onopen: ((ev: unknown) => void) | null = null;
    onmessage: ((ev: {data: unknown}) => void) | null = null;
    onclose: ((ev: {code: number; reason: string}) => void) | null = null;
    onerror: ((ev: unknown) => void) | null = null;
    private readonly port: RelayPort;

    constructor(url: string) {
      this.port = spawn();
      this.port.onmessage = ({data: e}) => {
        if (e.ev === 'open') {
          this.readyState = 1;
          this.onopen?.({});
        } else if (e.ev === 'message') {
          this.onmessage?.({data: e.data});
        } else if (e.ev === 'error') {
          this.onerror?.({});
        } else {
          this.readyState = 3;
          this.port.terminate();
          this.onclose?.({code: e.code ?? 1006, reason: e.reason ?? ''});
        }
      };
      this.port.onerror = () => {
        if (this.readyState === 3) return;
        this.readyState = 3;
        this.port.terminate();
        this.onerror?.({});
        this.onclose?.({code: 1006, reason: 'socket relay worker failed'});
      };
      this.port.postMessage({op: 'open', url});
    }

    send(data: Uint8Array): void {
      if (this.readyState === 1) this.port.postMessage({op: 'send', data});
    }

    close(code?: number, reason?: string): void {
      if (this.readyState >= 2) return;
      this.readyState = 2;
      this.port.postMessage({op: 'close', code, reason});
    }
  };
}
