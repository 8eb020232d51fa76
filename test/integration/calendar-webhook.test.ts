/**
 * The calendar of record as a signed webhook (PROTOCOL §7) on a started broker: the
 * settings, an outbox row for every appointment change whoever made it, delivery signed
 * as Standard Webhooks (checked here with node:crypto, apart from the signing code),
 * retries under the same `webhook-id`, order per appointment, and a receiver that takes
 * 3 s never slowing a booking over a call socket.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { drivers } from '../fixtures/database.js';
import { berlin, upcoming } from '../fixtures/dates.js';
import { WebhookReceiver, type ReceivedRequest } from '../fakes/webhook-receiver.js';

const KEY = randomBytes(32);
const SECRET = `whsec_${KEY.toString('base64')}`;

/** Standard Webhooks, verified from the spec: HMAC-SHA256 over "{id}.{timestamp}.{body}", base64, as one of the space-separated `v1,` entries. */
function signatureValid(request: ReceivedRequest, key = KEY): boolean {
  const id = request.headers['webhook-id'] as string;
  const timestamp = request.headers['webhook-timestamp'] as string;
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${request.rawBody}`).digest();
  return String(request.headers['webhook-signature'])
    .split(' ')
    .some((entry) => {
      const [version, value] = entry.split(',');
      const given = Buffer.from(value ?? '', 'base64');
      return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
    });
}

describe.each(drivers)('calendar webhook on %s', (driver) => {
  let broker: TestBroker;
  let receiver: WebhookReceiver;
  let token: string;
  const tenant = 'sync-hook';
  const calendar = (t = tenant) => `/v1/admin/tenants/${t}/integrations/calendar`;
  const appointments = (t = tenant) => `/v1/admin/tenants/${t}/appointments`;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    broker = await startBroker(driver);
    token = await broker.tenant(tenant);
    const put = await broker.admin('PUT', calendar(), { kind: 'webhook', url: receiver.url, secret: SECRET });
    expect(put).toEqual({ status: 200, body: { kind: 'webhook', url: receiver.url, secret: '***' } });
  });
  afterAll(async () => {
    await broker.close();
    await receiver.close();
  });

  it('validates the settings field by field, shows secrets as ***, and deletes them', async () => {
    await broker.tenant('sync-settings');
    const bad = await broker.admin('PUT', calendar('sync-settings'), { kind: 'webhook', url: 'ftp://x', secret: 'not base64!' });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    expect(bad.body.error.issues.join(' ')).toMatch(/url/);
    expect(bad.body.error.issues.join(' ')).toMatch(/secret/);
    const badKind = await broker.admin('PUT', calendar('sync-settings'), { kind: 'outlook' });
    expect(badKind).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    const calcom = await broker.admin('PUT', calendar('sync-settings'), { kind: 'calcom', api_key: 'cal_live_x', event_types: { nosuch: 1 }, webhook_secret: 'whsecret-123' });
    expect(calcom).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    expect(calcom.body.error.issues.join(' ')).toMatch(/event_types\.nosuch/);
    expect((await broker.admin('PUT', calendar('unknown-tenant'), { kind: 'webhook', url: receiver.url, secret: SECRET })).status).toBe(404);

    const good = { kind: 'calcom', api_key: 'cal_live_secret', event_types: { herrenschnitt: 11 }, staff: { fabian: 'fabian-cal' }, webhook_secret: 'whsecret-123' };
    expect((await broker.admin('PUT', calendar('sync-settings'), good)).status).toBe(200);
    expect(await broker.admin('GET', calendar('sync-settings'))).toEqual({ status: 200, body: { ...good, api_key: '***', webhook_secret: '***' } });
    expect(await broker.admin('GET', calendar('sync-settings'), undefined, null)).toMatchObject({ status: 401 });
    expect(await broker.admin('DELETE', calendar('sync-settings'))).toEqual({ status: 200, body: { deleted: true } });
    expect((await broker.admin('GET', calendar('sync-settings'))).status).toBe(404);
    expect((await broker.admin('DELETE', calendar('sync-settings'))).status).toBe(404);
  });

  it('delivers booked, moved and cancelled by the front desk, signed, in order, with the change id as webhook-id', async () => {
    const friday = upcoming('fri');
    const booked = await broker.admin('POST', appointments(), { service: 'herrenschnitt', staff: 'fabian', date: friday, time: '09:00', customer_name: 'Hook Hanna', phone: '+4930555' });
    expect(booked.status).toBe(201);
    const id = booked.body.id as string;
    expect((await broker.admin('PATCH', `${appointments()}/${id}`, { start: berlin(friday, '10:00') })).status).toBe(200);
    expect((await broker.admin('DELETE', `${appointments()}/${id}`)).status).toBe(200);

    await receiver.until(() => receiver.about(id).filter((r) => r.status === 200).length === 3);
    const seen = receiver.about(id);
    expect(seen.map((r) => r.body.type)).toEqual(['appointment.booked', 'appointment.moved', 'appointment.cancelled']);
    for (const request of seen) {
      expect(request.method).toBe('POST');
      expect(request.headers['content-type']).toMatch(/^application\/json/);
      expect(signatureValid(request)).toBe(true);
      expect(request.headers['webhook-id']).toBe(request.body.id);
      expect(Math.abs(Number(request.headers['webhook-timestamp']) - request.receivedAt / 1000)).toBeLessThan(300);
    }
    expect(new Set(seen.map((r) => r.body.id)).size).toBe(3);
    expect(seen[0]!.body).toEqual({
      type: 'appointment.booked',
      id: seen[0]!.body.id,
      tenant,
      occurred_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$/),
      appointment: { id, service: 'herrenschnitt', staff: 'fabian', start: berlin(friday, '09:00'), end: berlin(friday, '09:30'), customer_name: 'Hook Hanna', phone: '+4930555', source: 'front_desk', status: 'booked' },
    });
    expect(seen[1]!.body.appointment).toMatchObject({ start: berlin(friday, '10:00'), end: berlin(friday, '10:30'), status: 'booked' });
    expect(seen[2]!.body.appointment).toMatchObject({ start: berlin(friday, '10:00'), status: 'cancelled' });
    // A signature made with another key does not pass the check: the check can fail.
    expect(signatureValid(seen[0]!, randomBytes(32))).toBe(false);
  });

  it('retries a receiver that fails twice under the same webhook-id, the first three attempts within 30 s', async () => {
    const saturday = upcoming('sat');
    let failuresLeft = 2;
    receiver.script = (request) => (request.body?.appointment?.customer_name === 'Retry Rita' && failuresLeft-- > 0 ? { status: 503 } : { status: 200 });
    const booked = await broker.admin('POST', appointments(), { service: 'herrenschnitt', staff: 'fabian', date: saturday, time: '11:00', customer_name: 'Retry Rita' });
    const started = Date.now();
    await receiver.until(() => receiver.about(booked.body.id).some((r) => r.status === 200));
    receiver.script = () => ({ status: 200 });
    const attempts = receiver.about(booked.body.id);
    expect(attempts.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(new Set(attempts.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(attempts.every((r) => signatureValid(r))).toBe(true);
    expect(attempts[2]!.receivedAt - started).toBeLessThan(30_000);

    // The receiver has its 200 a moment before the broker has recorded the delivery.
    const status = async () => {
      const sync = await broker.admin('GET', `/v1/admin/tenants/${tenant}/sync`);
      expect(sync.status).toBe(200);
      return sync.body;
    };
    await expect.poll(status, { timeout: 5000 }).toMatchObject({ failing: 0, conflicts: [], last_error: { message: expect.stringMatching(/503/) } });
    expect((await status()).delivered).toBeGreaterThanOrEqual(1);
  });

  it('keeps the order per appointment while the first change is being retried', async () => {
    const thursday = upcoming('thu');
    let failed = false;
    receiver.script = (request) => {
      if (request.body?.appointment?.customer_name === 'Order Otto' && request.body.type === 'appointment.booked' && !failed) {
        failed = true;
        return { status: 500 };
      }
      return { status: 200 };
    };
    const booked = await broker.admin('POST', appointments(), { service: 'herrenschnitt', staff: 'fabian', date: thursday, time: '12:00', customer_name: 'Order Otto' });
    await receiver.until(() => receiver.about(booked.body.id).length === 1);
    expect((await broker.admin('DELETE', `${appointments()}/${booked.body.id}`)).status).toBe(200);
    await receiver.until(() => receiver.about(booked.body.id).some((r) => r.status === 200 && r.body.type === 'appointment.cancelled'));
    receiver.script = () => ({ status: 200 });
    expect(receiver.about(booked.body.id).map((r) => [r.body.type, r.status])).toEqual([
      ['appointment.booked', 500],
      ['appointment.booked', 200],
      ['appointment.cancelled', 200],
    ]);
  });

  it('answers a phone booking fast while the receiver takes 3 s, and the booking and the caller\'s cancel still arrive', async () => {
    receiver.script = () => ({ status: 200, delayMs: 3000 });
    const tuesday = upcoming('tue');
    const call = await RuntimeClient.connect(broker.url, 'sync-slow-receiver', token);
    await call.start({ from: '+4917000000077' });
    const check = await call.tool('check_availability', { service: 'Herrenschnitt', date: tuesday, time: '15:00', staff: 'Fabian' });
    expect(check.result).toMatchObject({ available: true });
    const askedAt = Date.now();
    const booked = await call.tool('book_appointment', { customer_name: 'Eilig Emil' });
    const bookedInMs = Date.now() - askedAt;
    expect(booked).toMatchObject({ ok: true, result: { booked: true } });
    const id = (booked.result.appointment as { id: string }).id;
    // A second booking on the same call socket while the first delivery is still in the receiver.
    const direct = await call.tool('book_appointment', { customer_name: 'Eilig Emil', service: 'Herrenschnitt', date: tuesday, time: '16:00', staff: 'Fabian' });
    expect(direct).toMatchObject({ ok: true, result: { booked: true } });
    const cancel = await call.tool('cancel_appointment', { appointment_id: id });
    expect(cancel).toMatchObject({ ok: true, result: { cancelled: true } });
    const answeredInMs = Date.now() - askedAt;
    // Inline delivery would take at least the receiver's 3 s for the first answer alone.
    expect(bookedInMs).toBeLessThan(3000);
    expect(answeredInMs).toBeLessThan(3000);
    await call.end();

    await receiver.until(() => receiver.about(id).filter((r) => r.answeredAt !== null).length === 2);
    receiver.script = () => ({ status: 200 });
    expect(receiver.about(id).map((r) => [r.body.type, r.body.appointment.source])).toEqual([
      ['appointment.booked', 'call'],
      ['appointment.cancelled', 'call'],
    ]);
    const directId = (direct.result.appointment as { id: string }).id;
    await receiver.until(() => receiver.about(directId).some((r) => r.answeredAt !== null));
  });

  it('writes no change for a booking or move the database refused: the outbox row lives in the same transaction', async () => {
    const monday = upcoming('mon', 2);
    const first = await broker.admin('POST', appointments(), { service: 'herrenschnitt', staff: 'fabian', date: monday, time: '10:00', customer_name: 'Erste Erna' });
    const other = await broker.admin('POST', appointments(), { service: 'herrenschnitt', staff: 'fabian', date: monday, time: '11:00', customer_name: 'Zweite Zora' });
    await receiver.until(() => [first.body.id, other.body.id].every((id) => receiver.about(id).some((r) => r.status === 200)));
    const count = async () => {
      const { body } = await broker.admin('GET', `/v1/admin/tenants/${tenant}/sync`);
      return body.pending + body.delivered;
    };
    const before = await count();
    expect((await broker.admin('POST', appointments(), { service: 'herrenschnitt', staff: 'fabian', date: monday, time: '10:00', customer_name: 'Zu Spät' })).status).toBe(409);
    expect((await broker.admin('PATCH', `${appointments()}/${other.body.id}`, { start: berlin(monday, '10:00') })).status).toBe(409);
    expect(await count()).toBe(before);
  });

  it.runIf(driver === 'postgres')('NOTIFYs the outbox channel when a change commits, which wakes the workers', async () => {
    let notified!: () => void;
    const notice = new Promise<void>((resolve) => (notified = resolve));
    const unlisten = await broker.database.listen!('callhold_calendar_outbox', () => notified());
    try {
      const booked = await broker.admin('POST', appointments(), { service: 'herrenschnitt', date: upcoming('thu', 3), time: '10:00', customer_name: 'Notify Nora' });
      expect(booked.status).toBe(201);
      await notice;
    } finally {
      await unlisten();
    }
  });

  it('signs with the base64-decoded secret when it comes without the whsec_ prefix, as the reference libraries read it', async () => {
    await broker.tenant('sync-plain');
    const key = randomBytes(24);
    expect((await broker.admin('PUT', calendar('sync-plain'), { kind: 'webhook', url: receiver.url, secret: key.toString('base64') })).status).toBe(200);
    const booked = await broker.admin('POST', appointments('sync-plain'), { service: 'herrenschnitt', date: upcoming('fri'), time: '15:00', customer_name: 'Plain Paula' });
    const [delivery] = await receiver.until(() => receiver.about(booked.body.id).length === 1).then(() => receiver.about(booked.body.id));
    expect(delivery!.body.tenant).toBe('sync-plain');
    expect(signatureValid(delivery!, key)).toBe(true);
    expect(signatureValid(delivery!, Buffer.from(key.toString('base64')))).toBe(false);
  });

  it('writes nothing for a tenant without a calendar', async () => {
    await broker.tenant('sync-none');
    const booked = await broker.admin('POST', appointments('sync-none'), { service: 'herrenschnitt', date: upcoming('fri'), time: '14:00', customer_name: 'Nobody' });
    expect(booked.status).toBe(201);
    expect(await broker.admin('GET', '/v1/admin/tenants/sync-none/sync')).toEqual({ status: 200, body: { pending: 0, delivered: 0, failing: 0, last_error: null, conflicts: [] } });
  });

  it('prunes settled changes past their retention and keeps the ones still to go', async () => {
    receiver.script = () => ({ status: 503 });
    const booked = await broker.admin('POST', appointments(), { service: 'herrenschnitt', staff: 'fabian', date: upcoming('sat', 2), time: '09:00', customer_name: 'Prune Paul' });
    await receiver.until(() => receiver.about(booked.body.id).length > 0);
    const before = (await broker.admin('GET', `/v1/admin/tenants/${tenant}/sync`)).body;
    expect(before.delivered).toBeGreaterThan(0);
    expect(await broker.app.broker.calendarSync.prune(0)).toBeGreaterThanOrEqual(before.delivered);
    const after = (await broker.admin('GET', `/v1/admin/tenants/${tenant}/sync`)).body;
    expect(after).toMatchObject({ delivered: 0, pending: before.pending });
    expect(after.pending).toBeGreaterThan(0);
    receiver.script = () => ({ status: 200 });
  });
});
