/**
 * The front desk (PROTOCOL §7) on a started broker: direct bookings, cancellations and
 * moves go through the same claims as the phone line, refusals carry alternatives, and
 * every change to an appointment is published for the call that owns it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppointmentChange } from '../../src/booking/appointment-changes.js';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { drivers } from '../fixtures/database.js';
import { berlin, upcoming } from '../fixtures/dates.js';

describe.each(drivers)('front desk on %s', (driver) => {
  let broker: TestBroker;
  let token: string;
  const changes: AppointmentChange[] = [];
  const appointments = (tenant = 'desk') => `/v1/admin/tenants/${tenant}/appointments`;

  beforeAll(async () => {
    broker = await startBroker(driver);
    token = await broker.tenant('desk');
    broker.app.broker.appointmentChanges.subscribe((change) => changes.push(change));
  });
  afterAll(() => broker.close());

  const changesOf = (id: string) => changes.filter((change) => change.appointment.id === id);

  it('books directly with 201, by instant or by local date and time, and lists it with source front_desk', async () => {
    const friday = upcoming('fri');
    const byInstant = await broker.admin('POST', appointments(), { service: 'herrenschnitt', staff: 'fabian', start: berlin(friday, '09:00'), customer_name: 'Walk-in Wolf' });
    expect(byInstant).toMatchObject({
      status: 201,
      body: { service: 'herrenschnitt', staff: 'fabian', start: berlin(friday, '09:00'), end: berlin(friday, '09:30'), customer_name: 'Walk-in Wolf', phone: null, call_id: null, status: 'booked', source: 'front_desk' },
    });
    const byLocal = await broker.admin('POST', appointments(), { service: 'damenschnitt', date: friday, time: '09:00', customer_name: 'Erika', phone: '+4930111' });
    expect(byLocal).toMatchObject({ status: 201, body: { service: 'damenschnitt', start: berlin(friday, '09:00'), source: 'front_desk' } });
    expect(byLocal.body.staff).not.toBe('fabian');

    const list = await broker.admin('GET', `${appointments()}?date=${friday}`);
    expect(list.body).toEqual(expect.arrayContaining([byInstant.body, byLocal.body]));
    expect(changesOf(byInstant.body.id)).toMatchObject([{ type: 'appointment.booked', tenantId: 'desk', callId: null }]);
  });

  it('answers a taken slot with 409 SLOT_TAKEN and the same alternatives the phone line would give', async () => {
    const thursday = upcoming('thu');
    await broker.admin('POST', appointments(), { service: 'herrenschnitt', staff: 'fabian', date: thursday, time: '10:00', customer_name: 'First' });
    const refused = await broker.admin('POST', appointments(), { service: 'herrenschnitt', staff: 'fabian', date: thursday, time: '10:00', customer_name: 'Second' });
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'SLOT_TAKEN' }, reason: 'SLOT_TAKEN' } });
    expect(refused.body.alternatives.length).toBeGreaterThan(0);

    const call = await RuntimeClient.connect(broker.url, 'desk-compare', token);
    await call.start();
    const phone = await call.tool('check_availability', { service: 'herrenschnitt', date: thursday, time: '10:00', staff: 'fabian' });
    expect(phone.result.alternatives).toEqual(refused.body.alternatives);
    await call.end();

    const closed = await broker.admin('POST', appointments(), { service: 'herrenschnitt', date: upcoming('sun'), time: '10:00', customer_name: 'Sunday' });
    expect(closed).toMatchObject({ status: 409, body: { error: { code: 'SLOT_TAKEN' }, reason: 'OUTSIDE_HOURS' } });
  });

  it('returns the first appointment for a repeated idempotency key, booking once', async () => {
    const saturday = upcoming('sat');
    const body = { service: 'herrenschnitt', date: saturday, time: '11:00', customer_name: 'Retry', idempotency_key: 'desk-42' };
    const first = await broker.admin('POST', appointments(), body);
    const again = await broker.admin('POST', appointments(), { ...body, time: '12:00' });
    expect(first.status).toBe(201);
    expect(again).toEqual(first);
    const list = await broker.admin('GET', `${appointments()}?date=${saturday}`);
    expect(list.body.filter((a: { customer_name: string }) => a.customer_name === 'Retry')).toHaveLength(1);
    expect(changesOf(first.body.id)).toHaveLength(1);
    // The key is this salon's own: another tenant using it books its own appointment.
    await broker.tenant('desk-other');
    const other = await broker.admin('POST', appointments('desk-other'), body);
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);
  });

  it('cancels any appointment, also one booked by phone, frees its time and publishes it for the call', async () => {
    const friday = upcoming('fri', 2);
    const call = await RuntimeClient.connect(broker.url, 'desk-cancel-call', token);
    await call.start();
    const booked = await call.tool('book_appointment', { customer_name: 'Siegfried Reu', service: 'Dauerwelle', date: friday, time: '14:00', staff: 'Lena' });
    const id = (booked.result.appointment as { id: string }).id;

    const mark = call.frames.length;
    const cancelled = await broker.admin('DELETE', `${appointments()}/${id}`);
    expect(cancelled).toMatchObject({ status: 200, body: { id, status: 'cancelled', source: 'call', call_id: 'desk-cancel-call' } });
    expect(changesOf(id)).toMatchObject([{ type: 'appointment.cancelled', tenantId: 'desk', callId: 'desk-cancel-call', appointment: { id, status: 'cancelled' } }]);
    // The live call that owns it hears it at once (PROTOCOL §7), and no longer ends as booked.
    expect(await call.next('appointment.updated', { after: mark })).toMatchObject({ appointment: { id, status: 'cancelled', staff: 'lena' } });
    expect((await call.tool('check_availability', { service: 'Dauerwelle', date: friday, time: '14:00', staff: 'Lena' })).result.available).toBe(true);
    expect(await call.end()).toMatchObject({ outcome: 'no_booking', appointment: null });

    // Again: still cancelled, nothing new published.
    expect(await broker.admin('DELETE', `${appointments()}/${id}`)).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    expect(changesOf(id)).toHaveLength(1);
    expect(await broker.admin('DELETE', `${appointments()}/00000000-0000-4000-8000-000000000000`)).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect((await broker.admin('DELETE', `${appointments()}/not-a-uuid`)).status).toBe(400);
  });

  it('tells a live call when the salon moves its appointment, and the call ends booked at the new time', async () => {
    // A day no other test of this file books.
    const thursday = upcoming('thu', 3);
    const call = await RuntimeClient.connect(broker.url, 'desk-move-call', token);
    await call.start();
    const booked = await call.tool('book_appointment', { customer_name: 'Siegfried Reu', service: 'Herrenschnitt', date: thursday, time: '15:00', staff: 'Fabian' });
    const id = (booked.result.appointment as { id: string }).id;
    const mark = call.frames.length;
    expect(await broker.admin('PATCH', `${appointments()}/${id}`, { start: berlin(thursday, '16:00') })).toMatchObject({ status: 200 });
    expect(await call.next('appointment.updated', { after: mark })).toMatchObject({ appointment: { id, status: 'booked', start: berlin(thursday, '16:00') } });
    expect(await call.end()).toMatchObject({ outcome: 'booked', appointment: { id, start: berlin(thursday, '16:00') } });
  });

  it('moves an appointment in one transaction: onto its own time, to other staff, never onto a taken slot', async () => {
    const monday = upcoming('mon', 2);
    const moving = await broker.admin('POST', appointments(), { service: 'herrenschnitt', staff: 'fabian', date: monday, time: '09:00', customer_name: 'Mover' });
    const blocker = await broker.admin('POST', appointments(), { service: 'herrenschnitt', staff: 'fabian', date: monday, time: '10:00', customer_name: 'Blocker' });
    const id = moving.body.id as string;

    // 09:15 overlaps the appointment's own 09:00–09:30: its own claims do not count.
    const shifted = await broker.admin('PATCH', `${appointments()}/${id}`, { start: berlin(monday, '09:15') });
    expect(shifted).toMatchObject({ status: 200, body: { id, start: berlin(monday, '09:15'), end: berlin(monday, '09:45'), status: 'booked' } });
    expect(changesOf(id).at(-1)).toMatchObject({ type: 'appointment.moved', appointment: { staffId: 'fabian' }, previous: { start: new Date(berlin(monday, '09:00')) } });

    const onto = await broker.admin('PATCH', `${appointments()}/${id}`, { start: berlin(monday, '10:00') });
    expect(onto).toMatchObject({ status: 409, body: { error: { code: 'SLOT_TAKEN' }, reason: 'SLOT_TAKEN' } });
    expect(onto.body.alternatives.length).toBeGreaterThan(0);
    // The old time stays booked and claimed.
    const list = await broker.admin('GET', `${appointments()}?date=${monday}`);
    expect(list.body.find((a: { id: string }) => a.id === id)).toMatchObject({ start: berlin(monday, '09:15'), status: 'booked' });
    const call = await RuntimeClient.connect(broker.url, 'desk-move-check', token);
    await call.start();
    expect((await call.tool('check_availability', { service: 'herrenschnitt', date: monday, time: '09:15', staff: 'fabian' })).result.available).toBe(false);

    // Mondays Aylin does not work; Lena does not cut men's hair.
    expect(await broker.admin('PATCH', `${appointments()}/${id}`, { staff: 'lena' })).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/^staff: /) } } });
    expect(await broker.admin('PATCH', `${appointments()}/${id}`, { staff: 'aylin' })).toMatchObject({ status: 409, body: { reason: 'OUTSIDE_HOURS' } });
    const later = await broker.admin('PATCH', `${appointments()}/${id}`, { start: berlin(monday, '11:00') });
    expect(later).toMatchObject({ status: 200, body: { start: berlin(monday, '11:00') } });
    // The time it left is free for the phone line at once.
    expect((await call.tool('check_availability', { service: 'herrenschnitt', date: monday, time: '09:15', staff: 'fabian' })).result.available).toBe(true);
    await call.end();

    const friday = upcoming('fri', 2);
    const toAylin = await broker.admin('PATCH', `${appointments()}/${blocker.body.id}`, { staff: 'aylin', start: berlin(friday, '16:00') });
    expect(toAylin).toMatchObject({ status: 200, body: { staff: 'aylin', start: berlin(friday, '16:00') } });

    await broker.admin('DELETE', `${appointments()}/${id}`);
    expect(await broker.admin('PATCH', `${appointments()}/${id}`, { start: berlin(monday, '12:00') })).toMatchObject({ status: 409, body: { error: { code: 'NOT_BOOKED' } } });
    expect((await broker.admin('PATCH', `${appointments()}/00000000-0000-4000-8000-000000000000`, { start: berlin(monday, '12:00') })).status).toBe(404);
    expect(await broker.admin('PATCH', `${appointments()}/${id}`, {})).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/^start: /) } } });
  });

  it('validates bookings with field-named 400s, 404 for an unknown tenant, 401 without the token', async () => {
    const friday = upcoming('fri');
    const missing = await broker.admin('POST', appointments(), { service: 'herrenschnitt', customer_name: 'X' });
    expect(missing).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST', message: expect.stringMatching(/^start: /) } } });
    const both = await broker.admin('POST', appointments(), { service: 'herrenschnitt', start: berlin(friday, '10:00'), date: friday, time: '10:00', customer_name: 'X' });
    expect(both.body.error.message).toMatch(/^start: /);
    const noTime = await broker.admin('POST', appointments(), { service: 'herrenschnitt', date: friday, customer_name: 'X' });
    expect(noTime.body.error.message).toMatch(/^time: /);
    const badFields = await broker.admin('POST', appointments(), { service: 'herrenschnitt', start: 'morgen', customer_name: '' });
    expect(badFields.body.error.issues).toEqual(expect.arrayContaining([expect.stringMatching(/^start: /), expect.stringMatching(/^customer_name: /)]));
    const unknown = await broker.admin('POST', appointments(), { service: 'balayage', start: berlin(friday, '10:00'), customer_name: 'X' });
    expect(unknown).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/^service: unknown service/) } } });
    expect((await broker.admin('POST', appointments('nobody'), { service: 'herrenschnitt', start: berlin(friday, '10:00'), customer_name: 'X' })).status).toBe(404);
    expect((await broker.admin('POST', appointments(), { service: 'herrenschnitt', start: berlin(friday, '10:00'), customer_name: 'X' }, null)).status).toBe(401);
    expect((await broker.admin('DELETE', `${appointments()}/00000000-0000-4000-8000-000000000000`, undefined, null)).status).toBe(401);
  });

  it('lets exactly one of the front desk and the phone line have one slot when they race on separate connections', async () => {
    const thursday = upcoming('thu', 2);
    for (const time of ['12:00', '15:00', '18:00']) {
      const callers = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const client = await RuntimeClient.connect(broker.url, `race-${time.replace(':', '')}-${i}`, token);
          await client.start();
          return client;
        }),
      );
      const [desk, phone] = await Promise.all([
        Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            broker.admin('POST', appointments(), { service: 'dauerwelle', staff: 'fabian', date: thursday, time, customer_name: `Desk ${i}` }),
          ),
        ),
        Promise.all(callers.map((client, i) => client.tool('book_appointment', { customer_name: `Caller ${i}`, service: 'Dauerwelle', date: thursday, time, staff: 'Fabian' }))),
      ]);
      const winners = desk.filter((answer) => answer.status === 201).length + phone.filter((answer) => answer.ok && answer.result.booked).length;
      expect(winners).toBe(1);
      expect(desk.every((answer) => answer.status === 201 || (answer.status === 409 && answer.body.error.code === 'SLOT_TAKEN'))).toBe(true);
      expect(phone.every((answer) => answer.ok || answer.error?.code === 'SLOT_TAKEN')).toBe(true);
      await Promise.all(callers.map((client) => client.end()));
    }
    const list = await broker.admin('GET', `${appointments()}?date=${thursday}`);
    const perms = list.body.filter((a: { service: string; status: string }) => a.service === 'dauerwelle' && a.status === 'booked');
    expect(perms.map((a: { start: string }) => a.start).sort()).toEqual(['12:00', '15:00', '18:00'].map((time) => berlin(thursday, time)).sort());
  });
});
