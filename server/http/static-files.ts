/**
 * Serves the built UI (dist/) with the right content types, never outside that folder. When the
 * UI is not built, every page is a short explanation of how to build it.
 */
import {createReadStream, existsSync, statSync} from 'node:fs';
import type {IncomingMessage, ServerResponse} from 'node:http';
import {extname, join, normalize, resolve, sep} from 'node:path';

export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export const NOT_BUILT_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Ringside: UI not built</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Ringside server is running, but the UI is not built</h1>
<p>Run <code>npm run build</code> in the Ringside folder, then reload this page.</p>
<p>The live data endpoint (<code>/ws</code>) works already, e.g. for <code>ringside tail</code>.</p>
</body></html>
`;

/** Common headers: no sniffing, no framing, and never send the token-bearing URL as Referer. */
export function securityHeaders(res: ServerResponse): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
}

export function hasBuiltUi(distDir: string): boolean {
  return existsSync(join(distDir, 'index.html'));
}

export function serveStatic(req: IncomingMessage, res: ServerResponse, distDir: string): void {
  const root = resolve(distDir);
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  if (!hasBuiltUi(root)) {
    res.writeHead(path === '/' || path === '/index.html' ? 200 : 404, {
      'Content-Type': CONTENT_TYPES['.html'],
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : NOT_BUILT_PAGE);
    return;
  }
  const rel = path === '/' ? 'index.html' : normalize(path).replace(/^[/\\]+/, '');
  const file = resolve(root, rel);
  if (path.includes('\0') || (file !== root && !file.startsWith(root + sep))) {
    res.writeHead(400, {'Content-Type': CONTENT_TYPES['.txt']});
    res.end('bad path\n');
    return;
  }
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    res.writeHead(404, {'Content-Type': CONTENT_TYPES['.txt']});
    res.end('not found\n');
    return;
  }
  const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Length': size,
    // Hashed asset names are immutable; index.html is not.
    'Cache-Control': rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-store',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}
