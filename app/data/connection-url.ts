/**
 * Where the page finds its server: the token from `?token=` and the WebSocket URL from the
 * page's own origin (`ws://host:port/ws?token=…`), so the same build works on any port.
 */

export interface PageLocation {
  protocol: string;
  host: string;
  search: string;
}

export function tokenFromSearch(search: string): string | null {
  const t = new URLSearchParams(search).get('token');
  return t && t.length > 0 ? t : null;
}

export function wsUrlFor(loc: PageLocation, token: string): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws?token=${encodeURIComponent(token)}`;
}
