/**
 * The calendar outbox lives in the database (PROTOCOL §7): changes a stopped broker could
 * not deliver go out from the next broker on the same database, and two brokers on one
 * PostgreSQL database share the outbox without delivering a change twice.
 */
import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { demoCatalogBody } from '../fixtures/catalogs.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';
import { upcoming } from '../fixtures/dates.js';
import { WebhookReceiver } from '../fakes/webhook-receiver.js';

const ADMIN_TOKEN = 'calendar-restart-token';
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

async function startApp(database: TestDatabase): Promise<{ app: FastifyInstance; admin: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }> }> {
  const app = await buildApp({ config: loadConfig({ ADMIN_TOKEN, PORT: '0', LOG_LEVEL: 'silent' }), database });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(new URL(path, url), {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  return { app, admin };
}

describe.each(drivers)('calendar outbox across brokers on %s', (driver) => {
  let database: TestDatabase;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    database = await openTestDatabase(driver);
    receiver = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await receiver.close();
    await database.close();
  });

  it('delivers what a stopped broker left undelivered from the next broker on the same database', async () => {
    receiver.script = () => ({ status: 503 });
    const first = await startApp(database);
    expect((await first.admin('PUT', '/v1/admin/tenants/restart', demoCatalogBody)).status).toBe(200);
    expect((await first.admin('PUT', '/v1/admin/tenants/restart/integrations/calendar', { kind: 'webhook', url: receiver.url, secret: SECRET })).status).toBe(200);
    const ids: string[] = [];
    for (const time of ['09:00', '10:00']) {
      const booked = await first.admin('POST', '/v1/admin/tenants/restart/appointments', { service: 'herrenschnitt', staff: 'fabian', date: upcoming('fri'), time, customer_name: `Restart ${time}` });
      expect(booked.status).toBe(201);
      ids.push(booked.body.id);
    }
    await receiver.until(() => ids.every((id) => receiver.about(id).length > 0));
    await first.app.close();
    const refusedBeforeRestart = receiver.requests.length;
    expect(receiver.requests.every((request) => request.status === 503)).toBe(true);

    receiver.script = () => ({ status: 200 });
    const second = await startApp(database);
    try {
      await receiver.until(() => ids.every((id) => receiver.about(id).some((request) => request.status === 200)));
      expect(receiver.requests.length).toBeGreaterThan(refusedBeforeRestart);
      for (const id of ids) expect(new Set(receiver.about(id).map((request) => request.headers['webhook-id'])).size).toBe(1);
      const sync = await second.admin('GET', '/v1/admin/tenants/restart/sync');
      expect(sync.body).toMatchObject({ pending: 0, failing: 0, delivered: 2, last_error: { message: expect.stringMatching(/503/) } });
    } finally {
      await second.app.close();
    }
  });

  it('hands a delivery in flight at stop back, so the next broker sends it without waiting out the lease', async () => {
    receiver.script = () => ({ status: 200, delayMs: 10_000 });
    const first = await startApp(database);
    expect((await first.admin('PUT', '/v1/admin/tenants/inflight', demoCatalogBody)).status).toBe(200);
    expect((await first.admin('PUT', '/v1/admin/tenants/inflight/integrations/calendar', { kind: 'webhook', url: receiver.url, secret: SECRET })).status).toBe(200);
    const booked = await first.admin('POST', '/v1/admin/tenants/inflight/appointments', { service: 'herrenschnitt', staff: 'fabian', date: upcoming('sat'), time: '10:00', customer_name: 'Inflight Ina' });
    await receiver.until(() => receiver.about(booked.body.id).length === 1);
    await first.app.close();

    receiver.script = () => ({ status: 200 });
    const second = await startApp(database);
    try {
      // Well inside the 60 s lease a killed broker would have left on the row.
      await receiver.until(() => receiver.about(booked.body.id).length === 2, 15_000);
      expect(new Set(receiver.about(booked.body.id).map((request) => request.headers['webhook-id'])).size).toBe(1);
      const deadline = Date.now() + 10_000;
      let sync = await second.admin('GET', '/v1/admin/tenants/inflight/sync');
      while (sync.body.delivered < 1 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        sync = await second.admin('GET', '/v1/admin/tenants/inflight/sync');
      }
      expect(sync.body).toMatchObject({ pending: 0, delivered: 1 });
    } finally {
      await second.app.close();
    }
  });

  it.runIf(driver === 'postgres')('shares the outbox between two brokers: every change goes out once', async () => {
    receiver.script = () => ({ status: 200, delayMs: 50 });
    const brokers = [await startApp(database), await startApp(database)];
    try {
      const [a, b] = brokers as [Awaited<ReturnType<typeof startApp>>, Awaited<ReturnType<typeof startApp>>];
      expect((await a.admin('PUT', '/v1/admin/tenants/shared', demoCatalogBody)).status).toBe(200);
      expect((await a.admin('PUT', '/v1/admin/tenants/shared/integrations/calendar', { kind: 'webhook', url: receiver.url, secret: SECRET })).status).toBe(200);
      const before = receiver.requests.length;
      const times = ['09:00', '09:30', '10:00', '10:30', '11:00', '11:30', '12:00', '12:30', '13:00', '13:30'];
      const booked = await Promise.all(
        times.map((time, n) => (n % 2 ? a : b).admin('POST', '/v1/admin/tenants/shared/appointments', { service: 'herrenschnitt', staff: 'fabian', date: upcoming('thu'), time, customer_name: `Shared ${time}` })),
      );
      expect(booked.every((response) => response.status === 201)).toBe(true);
      // Once nothing is pending no row can be claimed again, so the count below is final.
      const deadline = Date.now() + 20_000;
      let sync = await a.admin('GET', '/v1/admin/tenants/shared/sync');
      while (sync.body.pending > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        sync = await a.admin('GET', '/v1/admin/tenants/shared/sync');
      }
      expect(sync.body).toMatchObject({ pending: 0, delivered: times.length });
      const ids = receiver.requests.slice(before).map((request) => request.headers['webhook-id']);
      expect(ids).toHaveLength(times.length);
      expect(new Set(ids).size).toBe(times.length);
    } finally {
      for (const broker of brokers) await broker.app.close();
    }
  });
});
