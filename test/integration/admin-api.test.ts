/** The admin API (PROTOCOL §2) on a started broker: catalogs, tokens, appointments, auth. */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { demoCatalogBody } from '../fixtures/catalogs.js';
import { upcoming } from '../fixtures/dates.js';
import { drivers } from '../fixtures/database.js';

describe.each(drivers)('admin API on %s', (driver) => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker(driver);
  });
  afterAll(() => broker.close());

  it('answers 401 without the admin token or with a wrong one', async () => {
    for (const token of [null, 'not-the-token']) {
      const put = await broker.admin('PUT', '/v1/admin/tenants/nobody', demoCatalogBody, token);
      expect(put).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
      expect((await broker.admin('POST', '/v1/admin/tenants/nobody/runtime-tokens', undefined, token)).status).toBe(401);
      expect((await broker.admin('GET', '/v1/admin/tenants/nobody/appointments?date=2026-01-02', undefined, token)).status).toBe(401);
    }
  });

  it('answers 404 for an unknown tenant', async () => {
    expect(await broker.admin('POST', '/v1/admin/tenants/nobody/runtime-tokens')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect((await broker.admin('GET', '/v1/admin/tenants/nobody/appointments?date=2026-01-02')).status).toBe(404);
  });

  it('refuses a bad catalog with 400 INVALID_CATALOG naming each bad field', async () => {
    const bad = {
      ...demoCatalogBody,
      timezone: 'Mars/Olympus',
      opening_hours: { ...demoCatalogBody.opening_hours, mon: [['18:00', '09:00']] },
      staff: [{ id: 'fabian', name: 'Fabian', services: ['dauerwelle', 'balayage'] }],
      services: [{ id: 'dauerwelle', name: 'Dauerwelle', phases: [{ minutes: -5, staff_busy: true }] }],
    };
    const response = await broker.admin('PUT', '/v1/admin/tenants/broken', bad);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('INVALID_CATALOG');
    const issues = (response.body.error.issues as string[]).join('\n');
    expect(issues).toMatch(/^timezone: /m);
    expect(issues).toMatch(/^opening_hours\.mon\.0: /m);
    expect(issues).toMatch(/^services\.0\.phases\.0\.minutes: /m);
    expect(issues).toMatch(/^staff\.0\.services\.1: unknown service "balayage"/m);
    expect((await broker.admin('POST', '/v1/admin/tenants/broken/runtime-tokens')).status).toBe(404);
  });

  it('replaces a catalog idempotently and keeps existing appointments', async () => {
    const token = await broker.tenant('kept');
    const friday = upcoming('fri');
    const client = await RuntimeClient.connect(broker.url, 'admin-kept-1', token);
    await client.start();
    const booked = await client.tool('book_appointment', { customer_name: 'Ada', service: 'Herrenschnitt', date: friday, time: '09:00', staff: 'Fabian' });
    expect(booked.result.booked).toBe(true);
    await client.end();

    const renamed = { ...demoCatalogBody, name: 'Salon Mondschein', staff: demoCatalogBody.staff.filter((member) => member.id !== 'fabian') };
    expect((await broker.admin('PUT', '/v1/admin/tenants/kept', renamed)).status).toBe(200);
    expect((await broker.admin('PUT', '/v1/admin/tenants/kept', renamed)).status).toBe(200);
    const list = await broker.admin('GET', `/v1/admin/tenants/kept/appointments?date=${friday}`);
    expect(list.body).toEqual([expect.objectContaining({ staff: 'fabian', customer_name: 'Ada', status: 'booked' })]);

    const after = await RuntimeClient.connect(broker.url, 'admin-kept-2', token);
    await after.start();
    expect((await after.tool('get_current_context')).result.business).toBe('Salon Mondschein');
    expect(await after.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '10:00', staff: 'Fabian' })).toMatchObject({ ok: false, error: { code: 'UNKNOWN_STAFF' } });
    after.close();
  });

  it('issues runtime tokens that open calls for their own tenant only, storing only a hash', async () => {
    const token = await broker.tenant('tokens');
    expect(token).toMatch(/^rt_/);
    const client = await RuntimeClient.connect(broker.url, 'token-check', token);
    expect(await client.start()).toMatchObject({ type: 'session.ready' });
    expect((await client.tool('get_current_context')).result.business).toBe('Salon Sonnenschein');
    client.close();
    const stored = await broker.database.db.execute(sql`SELECT token_hash FROM runtime_tokens`);
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it('validates the appointments query', async () => {
    await broker.tenant('dates');
    const response = await broker.admin('GET', '/v1/admin/tenants/dates/appointments?date=friday');
    expect(response).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST', message: expect.stringMatching(/^date: /) } } });
  });
});
