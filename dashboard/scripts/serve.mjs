#!/usr/bin/env node
// Serves the built dashboard (dist/) at http://127.0.0.1:8788, the origin the worker's local CORS_ORIGINS allows.
// Usage: node scripts/serve.mjs [--port N] [--host H]   (build first: npm run build)
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

async function resolveFile(root, urlPath) {
  const path = normalize(decodeURIComponent(urlPath.split('?')[0]));
  const full = resolve(join(root, path));
  if (full !== root.replace(/[\\/]$/, '') && !full.startsWith(root.endsWith(sep) ? root : root + sep)) return null;
  try {
    const s = await stat(full);
    if (s.isDirectory()) return resolveFile(root, join(path, 'index.html'));
    return full;
  } catch {
    return null;
  }
}

/** The headers of the `/*` block of a Cloudflare Pages `_headers` file, so local serving matches Pages. */
async function pagesHeaders(root) {
  const headers = {};
  let text = '';
  try {
    text = await readFile(join(root, '_headers'), 'utf8');
  } catch {
    return headers;
  }
  let inAll = false;
  for (const line of text.split('\n')) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    if (!/^\s/.test(line)) {
      inAll = line.trim() === '/*';
      continue;
    }
    const i = line.indexOf(':');
    if (inAll && i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return headers;
}

/** Starts a static file server for `root`; resolves to { url, close() }. */
export async function startStaticServer({ root = DIST, host = '127.0.0.1', port = 8788 } = {}) {
  try {
    await stat(join(root, 'index.html'));
  } catch {
    throw new Error(`${join(root, 'index.html')} is missing: run "npm run build" in dashboard/ first`);
  }
  const extraHeaders = await pagesHeaders(root);
  const server = createServer(async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let file;
    try {
      file = await resolveFile(root, req.url ?? '/');
    } catch {
      file = null;
    }
    if (!file || file === join(root, '_headers')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found');
      return;
    }
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...extraHeaders,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise((ok, fail) => {
    server.once('error', (err) =>
      fail(err.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is in use; stop whatever serves it and retry`) : err),
    );
    server.listen(port, host, ok);
  });
  return {
    url: `http://${host}:${port}`,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  try {
    const { url } = await startStaticServer({ host: arg('--host', '127.0.0.1'), port: Number(arg('--port', 8788)) });
    console.log(`OakAuth dashboard: ${url}`);
  } catch (err) {
    console.error(`error: ${err.message}`);
    process.exit(1);
  }
}
