/**
 * Issue 9, item 6: tokens never reach the log. The real app logs at info into a captured
 * pino destination while requests carry runtime and admin tokens in `?token=` and in the
 * Authorization header; the request lines must be there, the secrets must not.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { demoCatalogBody } from '../fixtures/catalogs.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';

const ADMIN_TOKEN = 'admin-secret-7f3a9c';

describe.each(drivers)('request logs on %s', (driver) => {
  const lines: string[] = [];
  let app: FastifyInstance;
  let database: TestDatabase;
  let url: string;

  beforeAll(async () => {
    database = await openTestDatabase(driver);
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const config = loadConfig({ ADMIN_TOKEN, PORT: '0', LOG_LEVEL: 'silent' });
    app = await buildApp({ config, database, logger: { level: 'info', stream: destination } });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await database.close();
  });

  const admin = (method: string, path: string, body?: unknown) =>
    fetch(new URL(path, url), {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  const requestLines = () => lines.map((line) => JSON.parse(line)).filter((entry) => entry.req?.url);

  it('writes request lines with every ?token= redacted and no Authorization header', async () => {
    expect((await admin('PUT', '/v1/admin/tenants/logged', demoCatalogBody)).status).toBe(200);
    const runtimeToken = ((await (await admin('POST', '/v1/admin/tenants/logged/runtime-tokens')).json()) as { token: string }).token;

    const client = await RuntimeClient.connect(url, 'logged-call', runtimeToken, { tokenInQuery: true });
    expect(await client.start()).toMatchObject({ type: 'session.ready' });
    await client.end();

    const refused = await fetch(new URL('/v1/calls/refused-call?token=runtime-guess-55e1', url));
    expect(refused.status).toBe(401);
    // An encoded name is still the token as far as the query parser is concerned.
    await fetch(new URL(`/v1/sessions?%74oken=${ADMIN_TOKEN}&status=live`, url));
    await fetch(new URL(`/v1/sessions?tenant=logged&token=${ADMIN_TOKEN}`, url));

    const feed = new WebSocket(new URL(`/v1/sessions/feed?token=${ADMIN_TOKEN}`, url.replace('http', 'ws')));
    await new Promise((resolve, reject) => feed.once('message', resolve).once('error', reject));
    feed.close();

    await app.inject({ method: 'GET', url: '/healthz' });
    const logged = lines.join('\n');
    for (const secret of [runtimeToken, ADMIN_TOKEN, 'runtime-guess-55e1']) expect(logged).not.toContain(secret);
    expect(logged.toLowerCase()).not.toContain('authorization');

    const urls = requestLines().map((entry) => entry.req.url as string);
    expect(urls).toContain('/v1/calls/logged-call?token=[REDACTED]');
    expect(urls).toContain('/v1/calls/refused-call?token=[REDACTED]');
    expect(urls).toContain('/v1/sessions?%74oken=[REDACTED]&status=live');
    expect(urls).toContain('/v1/sessions?tenant=logged&token=[REDACTED]');
    expect(urls).toContain('/v1/admin/tenants/logged');
  });
});
