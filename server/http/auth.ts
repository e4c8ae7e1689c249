/**
 * Who may talk to the server: a random token on every HTTP and WebSocket request, and an Origin
 * that is this server itself (or absent, for non-browser clients such as `ringside tail`).
 *
 * The token (192 random bits, base64url) arrives as `?token=`, `Authorization: Bearer`, or the
 * cookie set when the page was first loaded with `?token=` (a browser cannot add the token to the
 * script and style requests of the page it loads). Compared in constant time: both sides are
 * hashed to 32 bytes first, so neither the value nor its length leaks through timing.
 *
 * The Origin check is what stops another web site from driving the API in the user's browser;
 * it compares against the addresses this server really listens on, never against the request's
 * own Host header (a DNS-rebinding page would make those two agree).
 */
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto';
import type {IncomingMessage} from 'node:http';
import {networkInterfaces} from 'node:os';

export const TOKEN_BYTES = 24;

export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** The cookie name is per port, so two servers on one host do not overwrite each other. */
export function cookieName(port: number): string {
  return `ringside_token_${port}`;
}

export function tokensEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export type TokenSource = 'query' | 'bearer' | 'cookie';

/** The token a request carries, and where it came from; undefined when none. */
export function requestToken(
  req: IncomingMessage,
  port: number,
): {token: string; from: TokenSource} | undefined {
  const url = new URL(req.url ?? '/', 'http://x');
  const q = url.searchParams.get('token');
  if (q !== null) return {token: q, from: 'query'};
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return {token: auth.slice(7).trim(), from: 'bearer'};
  const cookie = req.headers.cookie;
  if (cookie) {
    const name = cookieName(port);
    for (const part of cookie.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === name) {
        return {token: decodeURIComponent(part.slice(eq + 1).trim()), from: 'cookie'};
      }
    }
  }
  return undefined;
}

export function checkToken(
  req: IncomingMessage,
  port: number,
  token: string,
): TokenSource | undefined {
  const got = requestToken(req, port);
  return got && tokensEqual(got.token, token) ? got.from : undefined;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** host:port strings a browser may use as Origin for a server bound to `host`:`port`. */
export function allowedHosts(host: string, port: number): Set<string> {
  const names = new Set<string>();
  const add = (h: string) =>
    names.add(`${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`);
  add(host);
  if (host === '127.0.0.1' || host === '::1' || host === 'localhost') LOOPBACK_NAMES.forEach(add);
  if (host === '0.0.0.0' || host === '::') {
    LOOPBACK_NAMES.forEach(add);
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) add(a.address);
    }
  }
  return names;
}

/** undefined when the Origin is acceptable, else the reason to refuse. */
export function originProblem(req: IncomingMessage, allowed: Set<string>): string | undefined {
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return `malformed Origin '${origin.slice(0, 100)}'`;
  }
  if ((u.protocol === 'http:' || u.protocol === 'https:') && allowed.has(u.host)) return undefined;
  return `Origin '${origin.slice(0, 100)}' is not this server`;
}
