/**
 * An in-process "WebSocket" between a Fanout and a worker/connection.ts client, for
 * `ringside tail` without a URL (source in the same process) and for tests. Both directions keep
 * message boundaries and are asynchronous (setImmediate), like a real socket, and go through
 * the same encoder, decoder and credit logic as the network path.
 */
import type {WebSocketConstructor, WebSocketLike} from '../../worker/connection.ts';
import type {FrameSink} from './client-queue.ts';
import type {Fanout} from './fanout.ts';

export function loopbackWebSocket(fanout: Fanout): WebSocketConstructor {
  return class LoopbackSocket implements WebSocketLike, FrameSink {
    binaryType = 'arraybuffer';
    readyState = 0;
    bufferedAmount = 0;
    onopen: ((ev: unknown) => void) | null = null;
    onmessage: ((ev: {data: unknown}) => void) | null = null;
    onclose: ((ev: {code: number; reason: string}) => void) | null = null;
    onerror: ((ev: unknown) => void) | null = null;
    private id = 0;

    constructor(_url: string) {
      setImmediate(() => {
        this.readyState = 1;
        this.onopen?.({});
        this.id = fanout.addClient(this);
      });
    }

    /** Client → server. */
    send(data: Uint8Array, cb?: (err?: Error) => void): void {
      if (cb) {
        // Server → client (FrameSink side): deliver a private copy, like a socket would.
        const copy = data.slice().buffer;
        this.bufferedAmount += data.length;
        setImmediate(() => {
          this.bufferedAmount -= data.length;
          if (this.readyState === 1) this.onmessage?.({data: copy});
          cb();
        });
        return;
      }
      const copy = data.slice();
      setImmediate(() => {
        if (this.readyState === 1) fanout.handleMessage(this.id, copy);
      });
    }

    close(code = 1000, reason = ''): void {
      if (this.readyState >= 2) return;
      this.readyState = 3;
      fanout.removeClient(this.id);
      setImmediate(() => this.onclose?.({code, reason}));
    }
  };
}
