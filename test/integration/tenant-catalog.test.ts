/** `GET /v1/admin/tenants/{tenant}` (PROTOCOL §2): the catalog as last stored, in the PUT body's shape. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { demoCatalogBody } from '../fixtures/catalogs.js';
import { drivers } from '../fixtures/database.js';

const { customers: _customers, ...demoWithoutCustomers } = demoCatalogBody;

describe.each(drivers)('catalog read-back on %s', (driver) => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker(driver);
  });
  afterAll(() => broker.close());

  it('round-trips the demo catalog body, without customers', async () => {
    expect((await broker.admin('PUT', '/v1/admin/tenants/roundtrip', demoCatalogBody)).status).toBe(200);
    const read = await broker.admin('GET', '/v1/admin/tenants/roundtrip');
    expect(read.status).toBe(200);
    expect(read.body).toEqual(demoWithoutCustomers);
    expect(read.body).not.toHaveProperty('customers');
  });

  it('shows the catalog as last stored: dropped staff and services are left out, defaults filled in', async () => {
    await broker.admin('PUT', '/v1/admin/tenants/shrunk', demoCatalogBody);
    const smaller = {
      name: 'Salon Mondschein',
      timezone: 'Europe/Berlin',
      opening_hours: { mon: [['10:00', '16:00']] },
      staff: [{ id: 'lena', name: 'Lena Vogt', services: ['damenschnitt'] }],
      services: [{ id: 'damenschnitt', name: 'Damenschnitt', phases: [{ minutes: 45, staff_busy: true }] }],
    };
    expect((await broker.admin('PUT', '/v1/admin/tenants/shrunk', smaller)).status).toBe(200);
    const read = await broker.admin('GET', '/v1/admin/tenants/shrunk');
    expect(read.body).toEqual({
      name: 'Salon Mondschein',
      timezone: 'Europe/Berlin',
      slot_step_min: 15,
      opening_hours: { mon: [['10:00', '16:00']], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] },
      closed_dates: [],
      staff: [{ id: 'lena', name: 'Lena Vogt', services: ['damenschnitt'] }],
      services: [{ id: 'damenschnitt', name: 'Damenschnitt', aliases: [], phases: [{ minutes: 45, staff_busy: true }] }],
    });
    // What GET gives back is a valid PUT body that changes nothing.
    expect((await broker.admin('PUT', '/v1/admin/tenants/shrunk', read.body)).status).toBe(200);
    expect((await broker.admin('GET', '/v1/admin/tenants/shrunk')).body).toEqual(read.body);
  });

  it('answers 404 for an unknown tenant and 401 without the admin token', async () => {
    expect(await broker.admin('GET', '/v1/admin/tenants/nobody')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect((await broker.admin('GET', '/v1/admin/tenants/roundtrip', undefined, null)).status).toBe(401);
    expect((await broker.admin('GET', '/v1/admin/tenants/roundtrip', undefined, 'wrong')).status).toBe(401);
  });
});
