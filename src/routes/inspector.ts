/**
 * Serves the session state inspector page (`src/inspector/`) at `/inspector`: plain
 * HTML, CSS and JavaScript modules read from disk once at start, no build step and no
 * CDN, so it works offline. The page itself is public; it asks for the admin token and
 * sends it with every API call and on the feed, which is where access is checked.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { BrokerError } from '../errors.js';

const ASSET_FOLDER = new URL('../inspector/', import.meta.url);

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Everything from this origin only; the feed is a same-origin WebSocket. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  body: Buffer;
  contentType: string;
}

async function loadAssets(): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const entry of await readdir(ASSET_FOLDER, { withFileTypes: true })) {
    const contentType = contentTypes[extname(entry.name)];
    if (!entry.isFile() || !contentType) continue;
    assets.set(entry.name, { body: await readFile(new URL(entry.name, ASSET_FOLDER)), contentType });
  }
  if (!assets.has('index.html')) throw new Error(`inspector page missing: no index.html in ${ASSET_FOLDER.pathname}`);
  return assets;
}

export async function inspectorRoutes(app: FastifyInstance) {
  const assets = await loadAssets();

  const serve = (reply: FastifyReply, name: string) => {
    const asset = assets.get(name);
    if (!asset) throw new BrokerError('NOT_FOUND', `no inspector asset "${name}"`);
    return reply
      .header('content-type', asset.contentType)
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(asset.body);
  };

  app.get('/inspector', async (_request, reply) => serve(reply, 'index.html'));
  app.get('/inspector/', async (_request, reply) => serve(reply, 'index.html'));
  app.get('/inspector/:asset', async (request, reply) => serve(reply, (request.params as { asset: string }).asset));
}
