/**
 * The server's front door: node:http for the UI files plus a `ws` WebSocketServer on `/ws`,
 * both behind the token and Origin checks of auth.ts. Binds 127.0.0.1 unless told otherwise.
 *
 * - HTTP: only GET/HEAD; foreign Origin → 403; no or wrong token → 401 with how to get the URL.
 * - WebSocket: foreign Origin → refused before the handshake (403). No or wrong token → the
 *   handshake completes and the socket is closed at once with 1008 and a readable reason (a
 *   browser cannot read the status of a refused handshake); nothing else is ever sent to it.
 * - Messages: binary only (text → 1003), at most MAX_CLIENT_FRAME_BYTES (`maxPayload`, larger →
 *   1009 by ws), malformed → 1008 from the fan-out. Each of these closes that client only.
 * - perMessageDeflate off: sub-buffers are already compact binary.
 */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import type {AddressInfo, Socket} from 'node:net';
import {WebSocketServer, type WebSocket} from 'ws';
import {MAX_CLIENT_FRAME_BYTES} from '../../core/protocol.ts';
import type {Fanout} from '../fanout/fanout.ts';
import {allowedHosts, checkToken, cookieName, originProblem} from './auth.ts';
import {securityHeaders, serveStatic} from './static-files.ts';

export interface HttpServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  token: string;
  fanout: Fanout;
  distDir: string;
  maxPayload?: number;
  /** Connections served at once; more are closed with 1013 (try again later). Default 64. */
  maxClients?: number;
  log?: (line: string) => void;
}

export interface RunningServer {
  host: string;
  port: number;
  /** `http://HOST:PORT/?token=TOKEN`, the one line `serve` prints. */
  url: string;
  http: Server;
  wss: WebSocketServer;
  close(): Promise<void>;
}

export const WS_PATH = '/ws';
const BAD_TOKEN =
  'missing or wrong token: open the exact URL printed by `ringside serve` (http://HOST:PORT/?token=…)';

export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningServer> {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxPayload ?? MAX_CLIENT_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: true,
  });
  const http = createServer({maxHeaderSize: 16 * 1024, requestTimeout: 30_000});
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const allowed = allowedHosts(opts.host, port);

  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    securityHeaders(res);
    const text = (code: number, body: string) => {
      res.writeHead(code, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Cache-Control': 'no-store',
      });
      res.end(`${body}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'only GET and HEAD');
    const bad = originProblem(req, allowed);
    if (bad) return text(403, `forbidden: ${bad}`);
    const from = checkToken(req, port, opts.token);
    if (!from) return text(401, BAD_TOKEN);
    if (from === 'query') {
      res.setHeader(
        'Set-Cookie',
        `${cookieName(port)}=${encodeURIComponent(opts.token)}; Path=/; HttpOnly; SameSite=Strict`,
      );
    }
    if (new URL(req.url ?? '/', 'http://x').pathname === WS_PATH) {
      return text(426, 'this is the WebSocket endpoint');
    }
    serveStatic(req, res, opts.distDir);
  });

  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const refuse = (status: string, why: string) => {
      socket.end(
        `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(why) + 1}\r\n\r\n${why}\n`,
      );
    };
    if (new URL(req.url ?? '/', 'http://x').pathname !== WS_PATH) {
      return refuse('404 Not Found', `WebSocket endpoint is ${WS_PATH}`);
    }
    const bad = originProblem(req, allowed);
    if (bad) return refuse('403 Forbidden', `forbidden: ${bad}`);
    const authorised = checkToken(req, port, opts.token) !== undefined;
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (!authorised) {
        ws.close(1008, 'missing or wrong token');
        return;
      }
      if (opts.fanout.clientCount >= (opts.maxClients ?? 64)) {
        ws.close(1013, 'too many clients');
        return;
      }
      attach(ws, opts.fanout);
    });
  });

  const url = `http://${urlHost(opts.host)}:${port}/?token=${opts.token}`;
  return {
    host: opts.host,
    port,
    url,
    http,
    wss,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

function attach(ws: WebSocket, fanout: Fanout): void {
  const id = fanout.addClient(ws);
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      fanout.dropClient(id, 1003, 'binary frames only');
      return;
    }
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : data;
    fanout.handleMessage(id, bytes);
  });
  ws.on('close', () => fanout.removeClient(id));
  ws.on('error', () => fanout.removeClient(id));
}
