/**
 * Storage outages (PROTOCOL §3, §4; README "Storage outages"): the broker's PostgreSQL
 * connections go through a TCP fault proxy that stalls them (nothing moves, no error)
 * or cuts them (every connection reset, new ones too). Real driver, real sockets.
 *
 * PostgreSQL only: PGlite runs inside the process, there is no connection to break.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../../bench/broker-process.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { openPostgres, type DatabaseHandle } from '../../src/store/database.js';
import { TcpFaultProxy } from '../fakes/tcp-proxy.js';
import { demoCatalogBody } from '../fixtures/catalogs.js';
import { upcoming } from '../fixtures/dates.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';

const ADMIN = 'outage-admin-token';
/** PROTOCOL §3 and §4: while storage is down, answers come within 2 s. */
const CONTRACT_MS = 2000;

/** Outages need a PostgreSQL server behind a real socket (DATABASE_URL, as `.ci/run` sets); PGlite has none to cut. */
const onPostgres = drivers.includes('postgres');

/** Resolves with `promise`, or rejects once `ms` have passed: a client's own deadline. */
function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms))),
  ]);
}

/** The HTTP status a refused upgrade answered with, and how long it took. */
async function refusedUpgrade(url: string, callId: string, token: string): Promise<{ status: unknown; elapsedMs: number }> {
  const started = performance.now();
  const outcome = await within(CONTRACT_MS + 1000, RuntimeClient.connect(url, callId, token), `upgrade of ${callId}`).then(
    (client) => {
      client.close();
      return { status: 101 };
    },
    (error: { status?: number; message: string }) => ({ status: error.status ?? error.message }),
  );
  return { ...outcome, elapsedMs: performance.now() - started };
}

async function admin(url: string, method: string, path: string, body?: unknown) {
  const response = await fetch(new URL(path, url), {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return (await response.json()) as Record<string, unknown>;
}

async function tenantToken(url: string, tenant: string): Promise<string> {
  await admin(url, 'PUT', `/v1/admin/tenants/${tenant}`, demoCatalogBody);
  return (await admin(url, 'POST', `/v1/admin/tenants/${tenant}/runtime-tokens`)).token as string;
}

describe.runIf(onPostgres)('a broker whose database stalls or is cut (postgres)', () => {
  let database: TestDatabase;
  let proxy: TcpFaultProxy;
  let proxied: DatabaseHandle;
  let app: FastifyInstance;
  let url: string;
  let token: string;

  beforeAll(async () => {
    database = await openTestDatabase('postgres', { maxConnections: 2 });
    proxy = await TcpFaultProxy.forUrl(database.url!);
    proxied = await openPostgres(proxy.urlFor(database.url!));
    app = await buildApp({ config: loadConfig({ ADMIN_TOKEN: ADMIN, PORT: '0', LOG_LEVEL: 'silent' }), database: proxied });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    token = await tenantToken(url, 'outage');
  });
  afterEach(() => proxy.restore());
  afterAll(async () => {
    await app?.close();
    await proxied?.close();
    await proxy?.close();
    await database?.close();
  });

  it('refuses a new call with 503 within 2 s while the database stalls', async () => {
    proxy.stall();
    const refused = await refusedUpgrade(url, 'call-during-stall', token);
    expect(refused.status).toBe(503);
    expect(refused.elapsedMs).toBeLessThan(CONTRACT_MS);
  });

  it('refuses a new call with 503 (not 500) within 2 s while the database is cut', async () => {
    proxy.cut();
    const refused = await refusedUpgrade(url, 'call-during-cut', token);
    expect(refused.status).toBe(503);
    expect(refused.elapsedMs).toBeLessThan(CONTRACT_MS);
  });

  it('answers a session.start that storage cannot serve with UNAVAILABLE, keeps the socket, and starts on the next try', async () => {
    const client = await RuntimeClient.connect(url, 'start-during-cut', token);
    proxy.cut();
    client.send({ type: 'session.start', call: { from_number: '+4915112345678' }, locale: 'de-DE' });
    expect(await client.next('error')).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/^session\.start: storage is unavailable/) });
    proxy.restore();
    // A runtime sends session.start again after UNAVAILABLE; the first try after the cut may still find the pool reconnecting.
    let ready: unknown = null;
    for (let attempt = 0; attempt < 3 && !ready; attempt++) {
      const mark = client.frames.length;
      client.send({ type: 'session.start', call: { from_number: '+4915112345678' }, locale: 'de-DE' });
      const answer = await client.next((frame) => frame.type === 'session.ready' || frame.type === 'error', { after: mark });
      if (answer.type === 'session.ready') ready = answer;
    }
    expect(ready).toMatchObject({ type: 'session.ready' });
    await client.end();
  });

  it('answers the first tool of a busy call once a cut ends', async () => {
    const client = await RuntimeClient.connect(url, 'busy-through-cut', token);
    await client.start();
    expect(await client.tool('check_customer')).toMatchObject({ ok: true });

    proxy.cut();
    // The agent keeps calling tools, as busy calls do: every answer meanwhile is UNAVAILABLE
    // in time, and the driver's attempts to reconnect pile up (well past the pool's size).
    const outageEnds = performance.now() + 2500;
    let during = 0;
    while (performance.now() < outageEnds) {
      const answer = await client.tool('check_customer', {}, `during-${during++}`, CONTRACT_MS + 500);
      expect(answer).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    proxy.restore();
    const first = await client.tool('check_availability', { service: 'Herrenschnitt', date: upcoming('fri'), time: '11:00' }, 'after-cut', 1500);
    expect(first).toMatchObject({ ok: true, result: { available: true } });
    expect(await client.end()).toMatchObject({ outcome: 'no_booking' });
  });
});

describe.runIf(onPostgres)('a broker process stopped during an outage (postgres)', () => {
  let database: TestDatabase;
  let proxy: TcpFaultProxy;
  const brokers: BrokerProcess[] = [];
  const startServer = async (databaseUrl: string) => {
    const broker = await startBrokerProcess({ databaseUrl, env: { ADMIN_TOKEN: ADMIN } });
    brokers.push(broker);
    return broker;
  };

  beforeAll(async () => {
    database = await openTestDatabase('postgres', { maxConnections: 1 });
    proxy = await TcpFaultProxy.forUrl(database.url!);
  });
  afterEach(() => proxy.restore());
  afterAll(async () => {
    await Promise.all(brokers.map((broker) => broker.stop('SIGKILL')));
    await proxy?.close();
    await database?.close();
  });

  it('exits within 6 s of SIGTERM while the database stalls, having told its calls to reconnect', async () => {
    const server = await startServer(proxy.urlFor(database.url!));
    const token = await tenantToken(server.url, 'stopping');
    const client = await RuntimeClient.connect(server.url, 'call-at-sigterm', token);
    await client.start();
    const held = await client.tool('check_availability', { service: 'Herrenschnitt', date: upcoming('fri'), time: '12:00' });
    expect(held.result.available).toBe(true);

    proxy.stall();
    // Work in flight on the stalled database when the signal comes: a tool and a snapshot write.
    client.send({ type: 'caller.activity', speaking: true });
    client.send({ type: 'tool.call', id: 'in-flight', name: 'check_customer', arguments: {} });
    const exited = server.exited.then(() => performance.now());
    const signalled = performance.now();
    server.signal('SIGTERM');

    expect(await client.waitClosed()).toMatchObject({ code: 1012 });
    const exitedAt = await within(7000, exited, 'exit after SIGTERM');
    expect(exitedAt - signalled).toBeLessThan(6000);
  });

  it('closes cleanly (exit 0) within 6 s of SIGTERM after a cut has ended', async () => {
    const server = await startServer(proxy.urlFor(database.url!));
    const token = await tenantToken(server.url, 'recovered');
    const client = await RuntimeClient.connect(server.url, 'call-after-cut', token);
    await client.start();
    proxy.cut();
    const during = await client.tool('check_customer', {}, 'during-cut', CONTRACT_MS + 500);
    expect(during).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    proxy.restore();
    expect(await client.tool('check_customer', {}, 'after-cut', 1500)).toMatchObject({ ok: true });

    const exited = server.exited.then(({ code }) => ({ code, at: performance.now() }));
    const signalled = performance.now();
    server.signal('SIGTERM');
    expect(await client.waitClosed()).toMatchObject({ code: 1012 });
    const exit = await within(7000, exited, 'exit after SIGTERM');
    expect(exit.code).toBe(0);
    expect(exit.at - signalled).toBeLessThan(6000);
  });
});
