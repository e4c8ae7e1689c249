/**
 * A worker that owns one WebSocket and nothing else: it passes every message's ArrayBuffer on
 * (transferred, not copied) to the worker that opened it (socket-relay.ts). Why: Chromium
 * hands WebSocket data to the thread that owns the socket through a small data pipe which that
 * thread drains between its own tasks, so while the store worker decoded, kept and answered
 * queries the data waited in the pipe and behind it in the kernel's socket buffers.
 */
type Command =
  | {op: 'open'; url: string}
  | {op: 'send'; data: Uint8Array}
  | {op: 'close'; code?: number; reason?: string};

const self_ = globalThis as unknown as {
  onmessage: ((e: {data: Command}) => void) | null;
  postMessage(m: unknown, transfer?: Transferable[]): void;
};

let ws: WebSocket | undefined;

self_.onmessage = ({data: m}) => {
  if (m.op === 'open') {
    ws = new WebSocket(m.url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => self_.postMessage({ev: 'open'});
    ws.onmessage = (e) => {
      const d: unknown = e.data;
      if (d instanceof ArrayBuffer) self_.postMessage({ev: 'message', data: d}, [d]);
      else self_.postMessage({ev: 'message', data: d});
    };
    ws.onclose = (e) => self_.postMessage({ev: 'close', code: e.code, reason: e.reason});
    ws.onerror = () => self_.postMessage({ev: 'error'});
  } else if (m.op === 'send') {
    if (ws?.readyState === 1) ws.send(m.data);
  } else if (m.op === 'close') {
    ws?.close(m.code, m.reason);
  }
};
