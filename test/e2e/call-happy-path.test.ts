/** A runtime's happy path over a real socket: start, context, check (held), book, end. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { berlin, upcoming } from '../fixtures/dates.js';
import { drivers } from '../fixtures/database.js';

describe.each(drivers)('a call on %s', (driver) => {
  let broker: TestBroker;
  let token: string;
  beforeAll(async () => {
    broker = await startBroker(driver);
    token = await broker.tenant('sonnenschein');
  });
  afterAll(() => broker.close());

  it('holds the slot when availability is confirmed and books it on "yes"', async () => {
    const friday = upcoming('fri');
    const client = await RuntimeClient.connect(broker.url, 'call_272edd18b16a74df18b9e7a9b9d', token);
    const ready = await client.start();
    expect(ready).toMatchObject({ type: 'session.ready', call_id: 'call_272edd18b16a74df18b9e7a9b9d', resumed: false, timezone: 'Europe/Berlin', hold: null });

    const context = await client.tool('get_current_context', { call_id: 'call_001' });
    expect(context).toMatchObject({ ok: true, result: { call_id: 'call_272edd18b16a74df18b9e7a9b9d', timezone: 'Europe/Berlin', business: 'Salon Sonnenschein', caller_phone: '+4915112345678' } });

    const customer = await client.tool('check_customer');
    expect(customer.result).toMatchObject({ known: true, customer: { name: 'Siegfried Reu' } });

    const check = await client.tool('check_availability', { service: 'Dauerwelle', date: friday, time: 'zehn Uhr', name: 'Siegfried Reu', execution_message: 'Einen Moment' });
    expect(check).toMatchObject({ ok: true, result: { available: true, hold: { status: 'held', service: 'dauerwelle', staff: 'fabian', start: berlin(friday, '10:00'), end: berlin(friday, '11:45') } } });
    expect(check.result.message).toMatch(/10 Uhr/);
    const held = await client.next('hold.updated', { fromStart: true });
    expect(held).toMatchObject({ hold: { status: 'held', id: (check.result.hold as { id: string }).id } });

    const booked = await client.tool('book_appointment', { customer_name: 'Siegfried Reu' });
    expect(booked).toMatchObject({ ok: true, result: { booked: true, appointment: { service: 'dauerwelle', staff: 'fabian', start: berlin(friday, '10:00') } } });
    await client.next((frame) => frame.type === 'hold.updated' && (frame.hold as { status: string }).status === 'booked', { fromStart: true });

    const ended = await client.end();
    expect(ended).toMatchObject({ outcome: 'booked', appointment: { staff: 'fabian' } });
    expect((await client.waitClosed()).code).toBe(1000);

    const list = await broker.admin('GET', `/v1/admin/tenants/sonnenschein/appointments?date=${friday}`);
    expect(list.body).toEqual([
      expect.objectContaining({ service: 'dauerwelle', staff: 'fabian', start: berlin(friday, '10:00'), customer_name: 'Siegfried Reu', phone: '+4915112345678', call_id: 'call_272edd18b16a74df18b9e7a9b9d', status: 'booked' }),
    ]);
  });
});
