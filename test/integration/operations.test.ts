/**
 * Issue 9, item 10: what an operator watches. `/metrics` after real calls shows tool
 * latencies per tool and hold counts; `/readyz` says whether storage answers, and says
 * it at once when storage is gone or silent (real sockets, no mocked driver).
 */
import { createServer, Socket, type Server } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { openPostgres, type DatabaseHandle } from '../../src/store/database.js';
import { ADMIN_TOKEN, startBroker, type TestBroker } from '../fixtures/broker.js';
import { upcoming } from '../fixtures/dates.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';

/** The value of one sample of the Prometheus text, by metric name and exact label set. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]));
    if (Object.keys(found).length === Object.keys(labels).length && Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(new URL('/metrics', url));
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return response.text();
}

describe.each(drivers)('metrics and probes on %s', (driver) => {
  describe('on a healthy broker', () => {
    let broker: TestBroker;
    beforeAll(async () => {
      broker = await startBroker(driver);
    });
    afterAll(() => broker.close());

    it('counts tool latencies per tool and holds by what became of them', async () => {
      const token = await broker.tenant('metered');
      const friday = upcoming('fri');
      const client = await RuntimeClient.connect(broker.url, 'metered-1', token);
      await client.start();
      await client.tool('get_current_context');
      expect((await client.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '10:00', staff: 'Fabian' })).result.available).toBe(true);
      // A second free slot releases the first hold and places another.
      expect((await client.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '11:00', staff: 'Fabian' })).result.available).toBe(true);
      expect((await client.tool('book_appointment', { customer_name: 'Ada' })).result.booked).toBe(true);
      expect(await client.tool('no_such_tool_4711')).toMatchObject({ ok: false, error: { code: 'UNKNOWN_TOOL' } });
      await client.end();

      const text = await scrape(broker.url);
      expect(sample(text, 'callhold_tool_latency_seconds_count', { tool: 'get_current_context', ok: 'true' })).toBe(1);
      expect(sample(text, 'callhold_tool_latency_seconds_count', { tool: 'check_availability', ok: 'true' })).toBe(2);
      expect(sample(text, 'callhold_tool_latency_seconds_count', { tool: 'book_appointment', ok: 'true' })).toBe(1);
      expect(sample(text, 'callhold_tool_latency_seconds_bucket', { tool: 'book_appointment', ok: 'true', le: '+Inf' })).toBe(1);
      expect(sample(text, 'callhold_tool_latency_seconds_sum', { tool: 'book_appointment', ok: 'true' })).toBeGreaterThan(0);
      // A runtime's made-up tool names share one label value instead of growing the series.
      expect(sample(text, 'callhold_tool_latency_seconds_count', { tool: 'unknown', ok: 'false' })).toBe(1);
      expect(text).not.toContain('no_such_tool_4711');

      expect(sample(text, 'callhold_holds_total', { status: 'placed' })).toBe(2);
      expect(sample(text, 'callhold_holds_total', { status: 'released' })).toBe(1);
      expect(sample(text, 'callhold_holds_total', { status: 'converted' })).toBe(1);
      expect(sample(text, 'callhold_holds_total', { status: 'expired' })).toBe(0);
      expect(sample(text, 'callhold_holds_total', { status: 'lost' })).toBe(0);
      expect(sample(text, 'callhold_sessions_ended_total', { outcome: 'booked' })).toBe(1);
      expect(sample(text, 'callhold_storage_timeouts_total', { tool: 'book_appointment' })).toBeUndefined();
      expect(sample(text, 'callhold_live_sessions')).toBe(0);
      expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    });

    it('counts the frames of a real call and the code its socket was closed with', async () => {
      const token = await broker.tenant('counted');
      const before = await scrape(broker.url);
      const count = (text: string, name: string, labels: Record<string, string> = {}) => sample(text, name, labels) ?? 0;
      const client = await RuntimeClient.connect(broker.url, `counted-${driver}-${Date.now()}`, token);
      await client.start();
      client.send({ type: 'ping', id: 1 });
      await client.next('pong');
      await client.end();
      await client.waitClosed();
      // The broker counts the close once its side of the socket has closed.
      let after = await scrape(broker.url);
      for (let attempt = 0; attempt < 100 && count(after, 'callhold_socket_closes_total', { code: '1000' }) === count(before, 'callhold_socket_closes_total', { code: '1000' }); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        after = await scrape(broker.url);
      }
      // In: session.start, ping, session.end. Out: session.ready, pong, session.ended.
      expect(count(after, 'callhold_frames_total', { direction: 'in' }) - count(before, 'callhold_frames_total', { direction: 'in' })).toBe(3);
      expect(count(after, 'callhold_frames_total', { direction: 'out' }) - count(before, 'callhold_frames_total', { direction: 'out' })).toBe(3);
      expect(count(after, 'callhold_socket_closes_total', { code: '1000' }) - count(before, 'callhold_socket_closes_total', { code: '1000' })).toBe(1);
    });

    it('answers /healthz and /readyz 200 while storage answers', async () => {
      expect((await fetch(new URL('/healthz', broker.url))).status).toBe(200);
      const ready = await fetch(new URL('/readyz', broker.url));
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready' });
    });
  });

  describe('when the database is closed', () => {
    let broker: TestBroker;
    beforeAll(async () => {
      broker = await startBroker(driver);
    });
    afterAll(() => broker.app.close());

    it('answers /readyz 503 (and /healthz still 200), counts failed writes and UNAVAILABLE tools', async () => {
      const token = await broker.tenant('closing');
      const client = await RuntimeClient.connect(broker.url, 'closing-1', token);
      await client.start();
      await client.tool('list_services');
      await broker.app.broker.flushEvents();
      expect((await fetch(new URL('/readyz', broker.url))).status).toBe(200);

      await broker.database.close();
      const ready = await fetch(new URL('/readyz', broker.url));
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ error: { code: 'UNAVAILABLE', message: expect.stringMatching(/^not ready: /) } });
      expect((await fetch(new URL('/healthz', broker.url))).status).toBe(200);

      const friday = upcoming('fri');
      expect(await client.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '10:00', staff: 'Fabian' })).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      client.send({ type: 'ping', id: 'p1' });
      await client.next((frame) => frame.type === 'pong');
      await broker.app.broker.flushEvents();
      client.close();

      const text = await scrape(broker.url);
      expect(sample(text, 'callhold_storage_timeouts_total', { tool: 'check_availability' })).toBe(1);
      expect(sample(text, 'callhold_storage_errors_total', { operation: 'event_log' })).toBeGreaterThanOrEqual(1);
    });
  });
});

/**
 * A TCP relay in front of PostgreSQL that can go silent (accepts, forwards nothing) or
 * away (nobody listens): storage that is slow or unreachable, on real sockets.
 */
class Relay {
  private readonly sockets = new Set<Socket>();
  private silent = false;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: URL): Promise<Relay> {
    let relay: Relay | undefined;
    const server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(Number(target.port || 5432), target.hostname);
      for (const socket of [client, upstream]) {
        relay!.sockets.add(socket);
        socket.on('close', () => relay!.sockets.delete(socket));
        socket.on('error', () => {});
      }
      client.on('data', (data) => relay!.silent || upstream.write(data));
      upstream.on('data', (data) => relay!.silent || client.write(data));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    relay = new Relay(server, (server.address() as { port: number }).port);
    return relay;
  }

  goSilent(): void {
    this.silent = true;
  }

  async goAway(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }
}

describe.runIf(drivers.includes('postgres'))('/readyz with PostgreSQL behind a relay', () => {
  let database: TestDatabase;
  let relay: Relay;
  let handle: DatabaseHandle;
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    database = await openTestDatabase('postgres');
    relay = await Relay.start(new URL(database.url!));
    const relayed = new URL(database.url!);
    relayed.port = String(relay.port);
    handle = await openPostgres(relayed.toString(), { maxConnections: 2 });
    app = await buildApp({ config: loadConfig({ ADMIN_TOKEN, PORT: '0', LOG_LEVEL: 'silent' }), database: handle });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await relay.goAway();
    await app.close();
    await handle.close();
    await database.close();
  });

  it('answers 503 when storage is silent, and again when nobody listens, never hanging', async () => {
    expect((await fetch(new URL('/readyz', url))).status).toBe(200);

    relay.goSilent();
    const silent = await fetch(new URL('/readyz', url));
    expect(silent.status).toBe(503);
    expect(((await silent.json()) as { error: { message: string } }).error.message).toMatch(/did not answer within 1000 ms/);

    await relay.goAway();
    const gone = await fetch(new URL('/readyz', url));
    expect(gone.status).toBe(503);
    expect((await fetch(new URL('/healthz', url))).status).toBe(200);
  });
});
