/**
 * Cal.com as the calendar of record (PROTOCOL §7) against a fake of its API: our
 * appointments are booked, moved and cancelled there from the outbox, a retry after an
 * answer that never came adopts the booking it made instead of booking twice, and
 * Cal.com's own webhooks (signed X-Cal-Signature-256) become blocks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { drivers } from '../fixtures/database.js';
import { berlin, upcoming } from '../fixtures/dates.js';
import { FakeCalcom } from '../fakes/calcom.js';

const HERRENSCHNITT = 501;
const DAUERWELLE = 502;

async function eventually<T>(read: () => Promise<T> | T, accept: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(drivers)('Cal.com calendar on %s', (driver) => {
  let broker: TestBroker;
  let calcom: FakeCalcom;
  const tenant = 'sync-cal';
  const appointments = `/v1/admin/tenants/${tenant}/appointments`;
  const sync = () => broker.admin('GET', `/v1/admin/tenants/${tenant}/sync`).then((response) => response.body);
  const bookingsOf = (appointmentId: string) => calcom.bookings.filter((booking) => booking.metadata.callhold_appointment_id === appointmentId);

  beforeAll(async () => {
    calcom = await FakeCalcom.start('cal_live_test');
    calcom.eventTypes.set(HERRENSCHNITT, { minutes: 30, host: 'fabian-cal' });
    broker = await startBroker(driver, { CALCOM_BASE_URL: calcom.baseUrl });
    await broker.tenant(tenant);
    const put = await broker.admin('PUT', `/v1/admin/tenants/${tenant}/integrations/calendar`, {
      kind: 'calcom',
      api_key: 'cal_live_test',
      event_types: { herrenschnitt: HERRENSCHNITT, dauerwelle: DAUERWELLE },
      staff: { fabian: 'fabian-cal' },
      webhook_secret: 'calcom-webhook-secret',
    });
    expect(put.status).toBe(200);
  });
  afterAll(async () => {
    await broker.close();
    await calcom.close();
  });

  it('books a front-desk appointment on Cal.com, moves it (old cancelled, new booked) and cancels it', async () => {
    const friday = upcoming('fri');
    const booked = await broker.admin('POST', appointments, { service: 'herrenschnitt', staff: 'fabian', date: friday, time: '09:00', customer_name: 'Cal Carla', phone: '+4930777' });
    expect(booked.status).toBe(201);
    const id = booked.body.id as string;
    const [first] = await eventually(() => bookingsOf(id), (found) => found.length === 1);
    expect(first).toMatchObject({
      status: 'accepted',
      eventTypeId: HERRENSCHNITT,
      start: new Date(berlin(friday, '09:00')).toISOString(),
      attendees: [{ name: 'Cal Carla', timeZone: 'Europe/Berlin', phoneNumber: '+4930777', email: expect.stringContaining('.invalid') }],
      metadata: { callhold_appointment_id: id },
    });
    const create = calcom.requests.find((request) => request.method === 'POST' && request.body?.metadata?.callhold_appointment_id === id)!;
    expect(create.headers).toMatchObject({ authorization: 'Bearer cal_live_test', 'cal-api-version': '2024-08-13' });

    expect((await broker.admin('PATCH', `${appointments}/${id}`, { start: berlin(friday, '11:00') })).status).toBe(200);
    await eventually(() => bookingsOf(id), (found) => found.length === 2 && found[0]!.status === 'cancelled' && found[1]!.status === 'accepted');
    expect(bookingsOf(id)[1]!.start).toBe(new Date(berlin(friday, '11:00')).toISOString());

    expect((await broker.admin('DELETE', `${appointments}/${id}`)).status).toBe(200);
    await eventually(() => bookingsOf(id), (found) => found.every((booking) => booking.status === 'cancelled'));
    expect(await eventually(sync, (status) => status.pending === 0)).toMatchObject({ failing: 0 });
  });

  it('books once when an answer is lost after Cal.com booked: the retry finds the booking by its metadata', async () => {
    calcom.dropNextCreateAnswers(1);
    const booked = await broker.admin('POST', appointments, { service: 'herrenschnitt', staff: 'fabian', date: upcoming('sat'), time: '10:00', customer_name: 'Lost Lotte' });
    const id = booked.body.id as string;
    await eventually(sync, (status) => status.pending === 0);
    expect(bookingsOf(id).map((booking) => booking.status)).toEqual(['accepted']);
    const creates = calcom.requests.filter((request) => request.method === 'POST' && request.body?.metadata?.callhold_appointment_id === id);
    expect(creates).toHaveLength(1);

    // Cancelling it afterwards finds the adopted uid.
    expect((await broker.admin('DELETE', `${appointments}/${id}`)).status).toBe(200);
    await eventually(() => bookingsOf(id), (found) => found[0]!.status === 'cancelled');
  });

  it('retries a failed create and books once; a service without an event type is discarded, named in last_error', async () => {
    calcom.failNextCreates(500);
    const booked = await broker.admin('POST', appointments, { service: 'herrenschnitt', staff: 'fabian', date: upcoming('thu'), time: '15:00', customer_name: 'Retry Rolf' });
    await eventually(() => bookingsOf(booked.body.id), (found) => found.length === 1);
    await eventually(sync, (status) => status.pending === 0);
    expect(bookingsOf(booked.body.id)).toHaveLength(1);

    const unmapped = await broker.admin('POST', appointments, { service: 'damenschnitt', date: upcoming('thu'), time: '16:00', customer_name: 'Keine Karte' });
    expect(unmapped.status).toBe(201);
    const status = await eventually(sync, (current) => current.pending === 0 && /damenschnitt/.test(current.last_error?.message ?? ''));
    expect(status.last_error.message).toMatch(/no Cal.com event type/);
    expect(bookingsOf(unmapped.body.id)).toEqual([]);
  });
});
