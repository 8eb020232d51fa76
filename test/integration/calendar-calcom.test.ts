/**
 * Cal.com as the calendar of record (PROTOCOL §7) against a fake of its API: our
 * appointments are booked, moved and cancelled there from the outbox, a retry after an
 * answer that never came adopts the booking it made instead of booking twice, and
 * Cal.com's own webhooks (signed X-Cal-Signature-256) become blocks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { drivers } from '../fixtures/database.js';
import { berlin, upcoming } from '../fixtures/dates.js';
import { FakeCalcom } from '../fakes/calcom.js';

const HERRENSCHNITT = 501;
const DAUERWELLE = 502;
const SECRET = 'calcom-webhook-secret';

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
  let token: string;
  const tenant = 'sync-cal';
  const appointments = `/v1/admin/tenants/${tenant}/appointments`;
  const sync = () => broker.admin('GET', `/v1/admin/tenants/${tenant}/sync`).then((response) => response.body);
  const bookingsOf = (appointmentId: string) => calcom.bookings.filter((booking) => booking.metadata.callhold_appointment_id === appointmentId);

  beforeAll(async () => {
    calcom = await FakeCalcom.start('cal_live_test');
    calcom.eventTypes.set(HERRENSCHNITT, { minutes: 30, host: 'fabian-cal' });
    broker = await startBroker(driver, { CALCOM_BASE_URL: calcom.baseUrl });
    token = await broker.tenant(tenant);
    const put = await broker.admin('PUT', `/v1/admin/tenants/${tenant}/integrations/calendar`, {
      kind: 'calcom',
      api_key: 'cal_live_test',
      event_types: { herrenschnitt: HERRENSCHNITT, dauerwelle: DAUERWELLE },
      staff: { fabian: 'fabian-cal' },
      webhook_secret: SECRET,
    });
    expect(put.status).toBe(200);
    calcom.subscriber = { url: `${broker.url}/v1/integrations/calcom/${tenant}/webhook`, secret: SECRET };
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

  const blocksOn = (date: string) => broker.admin('GET', `/v1/admin/tenants/${tenant}/blocks?date=${date}`).then((response) => response.body as Array<{ id: string; staff: string; start: string; end: string; source: string }>);
  const webhook = (body: string, signature: string | null) =>
    fetch(`${broker.url}/v1/integrations/calcom/${tenant}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(signature !== null ? { 'x-cal-signature-256': signature } : {}) },
      body,
    }).then(async (response) => ({ status: response.status, body: await response.json() }));

  it('turns a booking made on Cal.com into a block the phone line does not offer, and frees it when cancelled there', async () => {
    const tuesday = upcoming('tue');
    const external = await calcom.bookExternally({ eventTypeId: HERRENSCHNITT, start: berlin(tuesday, '14:00'), host: 'fabian-cal' });
    expect(calcom.webhooksSent.at(-1)).toEqual({ triggerEvent: 'BOOKING_CREATED', uid: external.uid, status: 200 });
    expect(await blocksOn(tuesday)).toEqual([
      expect.objectContaining({ id: `calcom:${external.uid}`, staff: 'fabian', start: berlin(tuesday, '14:00'), end: berlin(tuesday, '14:30'), source: 'calendar' }),
    ]);
    const refused = await broker.admin('POST', appointments, { service: 'herrenschnitt', staff: 'fabian', date: tuesday, time: '14:00', customer_name: 'Too Late' });
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'SLOT_TAKEN' } } });

    await calcom.cancelExternally(external.uid);
    expect(calcom.webhooksSent.at(-1)).toEqual({ triggerEvent: 'BOOKING_CANCELLED', uid: external.uid, status: 200 });
    expect(await blocksOn(tuesday)).toEqual([]);
  });

  it('answers a bad or missing signature with 401 and stores nothing', async () => {
    const wednesday = upcoming('mon');
    const forged = { uid: 'forged-uid-1', eventTypeId: HERRENSCHNITT, start: berlin(wednesday, '10:00'), end: berlin(wednesday, '10:30'), hosts: [{ username: 'fabian-cal' }], attendees: [], metadata: {}, status: 'accepted' as const, id: 1 };
    const body = FakeCalcom.webhookBody('BOOKING_CREATED', forged);
    expect(await webhook(body, FakeCalcom.sign(body, 'not-the-secret'))).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    expect(await webhook(body, null)).toMatchObject({ status: 401 });
    // The signature covers the raw bytes: the same JSON re-spaced does not verify.
    const respaced = JSON.stringify(JSON.parse(body), null, 2);
    expect(await webhook(respaced, FakeCalcom.sign(body, SECRET))).toMatchObject({ status: 401 });
    expect(await blocksOn(wednesday)).toEqual([]);
    expect((await sync()).conflicts).toEqual([]);
    // The same body signed with the secret goes through: the 401s above were the signature's.
    expect(await webhook(body, FakeCalcom.sign(body, SECRET))).toMatchObject({ status: 200, body: { outcome: 'block' } });
    expect((await blocksOn(wednesday)).map((block) => block.id)).toEqual(['calcom:forged-uid-1']);
  });

  it('recognises the echo of a booking we pushed, by metadata and by uid, and does not double it', async () => {
    const friday = upcoming('fri', 2);
    const booked = await broker.admin('POST', appointments, { service: 'herrenschnitt', staff: 'fabian', date: friday, time: '12:00', customer_name: 'Echo Emma' });
    const [pushed] = await eventually(() => bookingsOf(booked.body.id), (found) => found.length === 1);
    await eventually(() => calcom.webhooksSent.find((sent) => sent.uid === pushed!.uid), (sent) => sent !== undefined);
    expect(calcom.webhooksSent.find((sent) => sent.uid === pushed!.uid)).toMatchObject({ status: 200 });
    await eventually(sync, (status) => status.pending === 0);
    // Cal.com's echo without our metadata is still ours, by the stored uid.
    const bare = FakeCalcom.webhookBody('BOOKING_CREATED', { ...pushed!, metadata: {} });
    expect(await webhook(bare, FakeCalcom.sign(bare, SECRET))).toMatchObject({ status: 200, body: { outcome: 'echo' } });
    expect(await blocksOn(friday)).toEqual([]);
    const list = await broker.admin('GET', `${appointments}?date=${friday}`);
    expect(list.body.filter((appointment: { customer_name: string }) => appointment.customer_name === 'Echo Emma')).toHaveLength(1);
    expect((await sync()).conflicts).toEqual([]);
  });

  it('keeps an external booking that overlaps one of ours as a conflict in /sync, and books nothing over ours', async () => {
    const monday = upcoming('mon', 2);
    const ours = await broker.admin('POST', appointments, { service: 'herrenschnitt', staff: 'fabian', date: monday, time: '16:00', customer_name: 'Ours Olga' });
    await eventually(sync, (status) => status.pending === 0);
    calcom.subscriber = null;
    // Booked on Cal.com's page while our push was still on its way: no metadata, another event type.
    const clash = await calcom.bookExternally({ eventTypeId: 777, start: berlin(monday, '16:15'), end: berlin(monday, '16:45'), host: 'fabian-cal' });
    calcom.subscriber = { url: `${broker.url}/v1/integrations/calcom/${tenant}/webhook`, secret: SECRET };
    const body = FakeCalcom.webhookBody('BOOKING_CREATED', clash);
    expect(await webhook(body, FakeCalcom.sign(body, SECRET))).toMatchObject({ status: 200, body: { outcome: 'conflict' } });
    expect((await sync()).conflicts).toEqual([{ external_id: clash.uid, staff: 'fabian', start: berlin(monday, '16:15'), end: berlin(monday, '16:45'), appointment_id: ours.body.id }]);
    expect(await blocksOn(monday)).toEqual([]);
    const list = await broker.admin('GET', `${appointments}?date=${monday}`);
    expect(list.body).toEqual([expect.objectContaining({ id: ours.body.id, status: 'booked' })]);

    // Cancelled on Cal.com: the conflict is resolved and leaves the list.
    await calcom.cancelExternally(clash.uid);
    expect((await sync()).conflicts).toEqual([]);
  });

  it('reconciles: bookings whose webhooks were lost become blocks, and ones cancelled meanwhile are freed', async () => {
    const thursday = upcoming('thu', 2);
    calcom.subscriber = null;
    const missed = await calcom.bookExternally({ eventTypeId: HERRENSCHNITT, start: berlin(thursday, '09:00'), host: 'fabian-cal' });
    expect(await blocksOn(thursday)).toEqual([]);
    expect(await broker.app.broker.calendarSync.reconcile(tenant)).toMatchObject({ applied: 1 });
    expect((await blocksOn(thursday)).map((block) => block.id)).toEqual([`calcom:${missed.uid}`]);
    // Running it again changes nothing.
    await broker.app.broker.calendarSync.reconcile(tenant);
    expect(await blocksOn(thursday)).toHaveLength(1);

    await calcom.cancelExternally(missed.uid);
    expect(await broker.app.broker.calendarSync.reconcile(tenant)).toMatchObject({ removed: 1 });
    expect(await blocksOn(thursday)).toEqual([]);
    calcom.subscriber = { url: `${broker.url}/v1/integrations/calcom/${tenant}/webhook`, secret: SECRET };
  });

  it('reserves a held slot on Cal.com while the caller holds it, and frees it when the hold ends: before the booking, or on release', async () => {
    const monday = upcoming('mon', 3);
    const call = await RuntimeClient.connect(broker.url, 'sync-cal-reserve', token);
    await call.start({ from: '+4917000000088' });
    const check = await call.tool('check_availability', { service: 'Herrenschnitt', date: monday, time: '10:00', staff: 'Fabian' });
    expect(check.result).toMatchObject({ available: true });
    const slotStart = new Date(berlin(monday, '10:00')).toISOString();
    const [reserved] = await eventually(() => calcom.reservations.filter((r) => r.slotStart === slotStart), (found) => found.length === 1);
    expect(reserved).toMatchObject({ eventTypeId: HERRENSCHNITT, released: false, slotEnd: new Date(berlin(monday, '10:30')).toISOString() });
    const reserve = calcom.requests.find((request) => request.method === 'POST' && request.path === '/v2/slots/reservations' && request.body.slotStart === slotStart)!;
    expect(reserve.headers['cal-api-version']).toBe('2024-09-04');

    const booked = await call.tool('book_appointment', { customer_name: 'Reserve Resi' });
    expect(booked.result).toMatchObject({ booked: true });
    const id = (booked.result.appointment as { id: string }).id;
    await eventually(() => bookingsOf(id), (found) => found.length === 1);
    expect(reserved!.released).toBe(true);
    const freedAt = calcom.requests.findIndex((request) => request.method === 'DELETE' && request.path === `/v2/slots/reservations/${reserved!.reservationUid}`);
    const bookedAt = calcom.requests.findIndex((request) => request.method === 'POST' && request.body?.metadata?.callhold_appointment_id === id);
    expect(freedAt).toBeGreaterThanOrEqual(0);
    expect(freedAt).toBeLessThan(bookedAt);

    const again = await call.tool('check_availability', { service: 'Herrenschnitt', date: monday, time: '11:00', staff: 'Fabian' });
    expect(again.result).toMatchObject({ available: true });
    const laterStart = new Date(berlin(monday, '11:00')).toISOString();
    const [second] = await eventually(() => calcom.reservations.filter((r) => r.slotStart === laterStart), (found) => found.length === 1);
    expect(await call.tool('release_hold')).toMatchObject({ ok: true });
    await eventually(() => second!.released, (released) => released);
    await call.end();
    expect(await eventually(sync, (status) => status.pending === 0)).toMatchObject({ failing: 0 });
  });
});
