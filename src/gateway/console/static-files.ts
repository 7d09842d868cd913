// Serves the built console (dist-ui/) under /ui: content types, long caching for hashed assets, no caching for the page.
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';

/** dist-ui/ at the package root: the same depth from src/gateway/console/ and dist/gateway/console/. */
export const defaultConsoleRoot = fileURLToPath(new URL('../../../dist-ui/', import.meta.url));

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** What the page may load: only this origin; no framing, no inline script. */
const securityHeaders = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const notBuilt = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Covenant console</title></head>
<body><main><h1>The console is not built</h1><p>Run <code>npm run build:ui</code> (npm install runs it) and reload.</p></main></body></html>`;

/** A file under `root` for a path below /ui/, or undefined when the path leaves the folder or names nothing. */
async function locate(root: string, relativePath: string): Promise<string | undefined> {
  const wanted = relativePath === '' ? 'index.html' : relativePath;
  const path = normalize(join(root, wanted));
  if (!path.startsWith(root.endsWith(sep) ? root : root + sep)) return undefined;
  try {
    return (await stat(path)).isFile() ? path : undefined;
  } catch {
    return undefined;
  }
}

export async function sendConsoleFile(reply: FastifyReply, root: string, relativePath: string): Promise<FastifyReply> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relativePath);
  } catch {
    decoded = '\0';
  }
  const path = decoded.includes('\0') ? undefined : await locate(root, decoded);
  reply.headers(securityHeaders);
  if (!path) {
    if (decoded === '' || decoded === 'index.html') return reply.code(503).type(contentTypes['.html']).header('cache-control', 'no-store').send(notBuilt);
    return reply.code(404).type(contentTypes['.txt']).header('cache-control', 'no-store').send('Not found');
  }
  const body = await readFile(path);
  // Vite names assets by their content hash: they never change, so a browser may keep them for a year.
  const hashed = decoded.startsWith('assets/');
  reply.header('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
  return reply.type(contentTypes[extname(path)] ?? 'application/octet-stream').send(body);
}
