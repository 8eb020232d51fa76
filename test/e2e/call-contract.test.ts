/**
 * PROTOCOL §3–4 over real sockets against a started broker: races, expiry, talking
 * callers, drops and resumes, takeovers, idempotent tool ids and every bad frame.
 * Holds are short here (HOLD_TTL_S=2) so expiry happens within a test.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient, type Frame } from '../../src/harness/runtime-client.js';
import { CALL_SESSION_MACHINE_VERSION } from '../../machines/call-session.types.js';
import { layOut, localInstant } from '../../src/booking/availability.js';
import { claimLockKey, DrizzleBookingStore, rowsOf } from '../../src/store/booking-store.js';
import { DrizzleCatalogStore } from '../../src/store/catalog-store.js';
import { DrizzleSessionStore } from '../../src/store/session-store.js';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { berlin, upcoming } from '../fixtures/dates.js';
import { drivers } from '../fixtures/database.js';

const holdStatus = (frame: Frame) => (frame.hold as { status: string }).status;

describe.each(drivers)('call contract on %s', (driver) => {
  let broker: TestBroker;
  let token: string;
  let calls = 0;
  const callId = () => `call-${driver}-${++calls}-${Date.now()}`;
  const connect = (id = callId()) => RuntimeClient.connect(broker.url, id, token);

  beforeAll(async () => {
    broker = await startBroker(driver, { HOLD_TTL_S: '2', HOLD_MAX_S: '30', RESUME_GRACE_S: '2' });
    token = await broker.tenant('sonnenschein');
  });
  afterAll(() => broker.close());

  it('refuses the upgrade without a valid runtime token, and accepts ?token=', async () => {
    await expect(RuntimeClient.connect(broker.url, 'c1', null)).rejects.toMatchObject({ status: 401 });
    await expect(RuntimeClient.connect(broker.url, 'c1', 'rt_wrong')).rejects.toMatchObject({ status: 401 });
    const viaQuery = await RuntimeClient.connect(broker.url, callId(), token, { tokenInQuery: true });
    expect(await viaQuery.start()).toMatchObject({ type: 'session.ready' });
    viaQuery.close();
    // A call id may be as long as 128 characters (PROTOCOL §3).
    const longId = `${driver}-`.padEnd(128, 'x');
    const longCall = await connect(longId);
    expect(await longCall.start()).toMatchObject({ type: 'session.ready', call_id: longId });
    longCall.close();
  });

  it('answers every bad frame with a named error and keeps the connection and the session', async () => {
    const id = callId();
    const client = await connect(id);
    client.sendRaw('{not json');
    expect(await client.next('error')).toMatchObject({ code: 'BAD_MESSAGE', message: expect.stringMatching(/JSON/) });
    client.send({ type: 'tool.call', id: 'early', name: 'list_services', arguments: {} });
    expect(await client.next('error')).toMatchObject({ code: 'NOT_STARTED', ref: 'early' });
    await client.start();
    client.send({ id: 'x1', speaking: true });
    expect(await client.next('error')).toMatchObject({ code: 'BAD_MESSAGE', ref: 'x1', message: expect.stringMatching(/type/) });
    client.send({ type: 'caller.dance', id: 'x2' });
    expect(await client.next('error')).toMatchObject({ code: 'UNKNOWN_TYPE', ref: 'x2', message: expect.stringMatching(/caller\.dance/) });
    client.send({ type: 'caller.activity', speaking: 'yes' });
    expect(await client.next('error')).toMatchObject({ code: 'BAD_MESSAGE', message: expect.stringMatching(/speaking/) });
    client.send({ type: 'tool.call', id: 'x3', name: 'check_availability' , arguments: [1, 2] });
    expect(await client.next('error')).toMatchObject({ code: 'BAD_MESSAGE', ref: 'x3', message: expect.stringMatching(/arguments/) });
    client.sendRaw('[1,2,3]');
    expect(await client.next('error')).toMatchObject({ code: 'BAD_MESSAGE' });
    // Text PostgreSQL cannot store is refused at the door, naming where it was.
    client.send({ type: 'transcript', role: 'caller', text: 'ja\u0000bitte', final: true });
    expect(await client.next('error')).toMatchObject({ code: 'BAD_MESSAGE', message: expect.stringMatching(/^text: .*NUL/) });
    client.sendRaw('{"type":"tool.call","id":"x4","name":"book_appointment","arguments":{"customer_name":"\\udc00Ida"}}');
    expect(await client.next('error')).toMatchObject({ code: 'BAD_MESSAGE', ref: 'x4', message: expect.stringMatching(/^arguments\.customer_name: .*surrogates/) });
    client.send({ type: 'tool.call', id: 'x5', name: 'book_appointment', arguments: JSON.stringify({ customer_name: 'Ida\u0000' }) });
    expect(await client.next('error')).toMatchObject({ code: 'BAD_MESSAGE', ref: 'x5', message: expect.stringMatching(/^arguments\.customer_name: .*NUL/) });
    // Every frame in is in the session's log, the unreadable ones as the text that came (escapes and all).
    await expect
      .poll(async () => {
        const detail = await broker.admin('GET', `/v1/sessions/sonnenschein/${id}`);
        return (detail.body.events as Array<{ direction: string; type: string; payload: { text?: string } }>)
          .filter((event) => event.direction === 'in' && event.type === 'unreadable')
          .map((event) => event.payload.text);
      })
      .toEqual(expect.arrayContaining(['[1,2,3]', expect.stringContaining('ja\\u0000bitte')]));

    const unknownTool = await client.tool('summon_stylist', {});
    expect(unknownTool).toMatchObject({ ok: false, error: { code: 'UNKNOWN_TOOL' } });
    const wrongShape = await client.tool('check_availability', { service: 'Dauerwelle', date: upcoming('fri'), time: { hour: 10 } });
    expect(wrongShape).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^time/) } });
    const unknownService = await client.tool('check_availability', { service: 'Nagelstudio', date: upcoming('fri'), time: '10:00' });
    expect(unknownService).toMatchObject({ ok: false, error: { code: 'UNKNOWN_SERVICE' }, result: { services: expect.arrayContaining(['Dauerwelle']) } });

    client.send({ type: 'ping', id: 'p1' });
    expect(await client.next('pong')).toEqual({ type: 'pong', id: 'p1' });
    const still = await client.tool('list_services');
    expect(still).toMatchObject({ ok: true, result: { services: expect.arrayContaining([{ id: 'dauerwelle', name: 'Dauerwelle', duration_min: 105 }]) } });
    client.close();
  });

  it('closes the connection with 1009 for a frame over 64 KiB', async () => {
    const client = await connect();
    await client.start();
    client.send({ type: 'transcript', role: 'caller', final: true, text: 'a'.repeat(70 * 1024) });
    expect((await client.waitClosed()).code).toBe(1009);
  });

  it('gives one of 20 racing callers the hold and the other 19 alternatives in the same answer', async () => {
    const friday = upcoming('fri');
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect()));
    await Promise.all(clients.map((client) => client.start()));
    const answers = await Promise.all(clients.map((client) => client.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '11:00', staff: 'Fabian' })));
    const winners = answers.filter((answer) => answer.result.available === true);
    expect(winners).toHaveLength(1);
    for (const loser of answers.filter((answer) => answer.result.available === false)) {
      expect(loser).toMatchObject({ ok: true, result: { reason: 'SLOT_TAKEN' } });
      const alternatives = loser.result.alternatives as Array<{ start: string; staff: string }>;
      expect(alternatives.length).toBeGreaterThan(0);
      expect(alternatives.every((alternative) => !(alternative.start === berlin(friday, '11:00') && alternative.staff === 'fabian'))).toBe(true);
    }
    clients.forEach((client) => client.close());
  });

  it('lets a second caller in after a silent caller’s hold expires; the late booking gets SLOT_TAKEN and alternatives', async () => {
    const friday = upcoming('fri');
    const slow = await connect();
    await slow.start();
    const held = await slow.tool('check_availability', { service: 'Damenschnitt', date: friday, time: '14:00', staff: 'Lena' });
    expect(held.result.available).toBe(true);
    const expired = await slow.next((frame) => frame.type === 'hold.updated' && holdStatus(frame) === 'expired', { timeoutMs: 6000 });
    expect(expired).toMatchObject({ hold: { id: (held.result.hold as { id: string }).id } });

    const quick = await connect();
    await quick.start({ from: '+4917000000001' });
    const taken = await quick.tool('check_availability', { service: 'Damenschnitt', date: friday, time: '14:00', staff: 'Lena' });
    expect(taken.result.available).toBe(true);
    expect((await quick.tool('book_appointment', { customer_name: 'Erika Muster' })).result.booked).toBe(true);

    const late = await slow.tool('book_appointment', { customer_name: 'Siegfried Reu' });
    expect(late).toMatchObject({ ok: false, error: { code: 'SLOT_TAKEN' } });
    expect((late.result.alternatives as unknown[]).length).toBeGreaterThan(0);
    expect(late.result.message).toEqual(expect.any(String));
    slow.close();
    quick.close();
  });

  it('keeps the slot for a caller who keeps talking past the TTL, then books it', async () => {
    const friday = upcoming('fri');
    const talker = await connect();
    await talker.start();
    const held = await talker.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '15:00', staff: 'Fabian' });
    expect(held.result.available).toBe(true);
    talker.send({ type: 'caller.activity', speaking: true });
    for (let i = 0; i < 20; i++) {
      talker.send({ type: 'transcript', role: 'caller', text: 'und dann wollte ich noch sagen', final: false });
      await sleep(250);
    }
    const rival = await connect();
    await rival.start({ from: '+4917000000002' });
    const refused = await rival.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '15:00', staff: 'Fabian' });
    expect(refused.result).toMatchObject({ available: false, reason: 'SLOT_TAKEN' });

    const booked = await talker.tool('book_appointment', { customer_name: 'Siegfried Reu' });
    expect(booked.result.booked).toBe(true);
    const updates = talker.frames.filter((frame) => frame.type === 'hold.updated').map(holdStatus);
    expect(updates[0]).toBe('held');
    expect(updates).toContain('extended');
    expect(updates).not.toContain('expired');
    expect(updates.at(-1)).toBe('booked');
    talker.close();
    rival.close();
  });

  it('resumes a dropped call with its hold within the grace period, and ends it as dropped after', async () => {
    const friday = upcoming('fri');
    const id = callId();
    const first = await connect(id);
    await first.start();
    const held = await first.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '16:00', staff: 'Fabian' });
    first.drop();
    await sleep(300);
    const again = await connect(id);
    const ready = await again.start();
    expect(ready).toMatchObject({ resumed: true, hold: { id: (held.result.hold as { id: string }).id, status: 'held' } });
    again.drop();

    const hold = (held.result.hold as { id: string }).id;
    await sleep(2500);
    const rival = await connect();
    await rival.start();
    const free = await rival.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '16:00', staff: 'Fabian' });
    expect(free.result.available).toBe(true);
    expect((free.result.hold as { id: string }).id).not.toBe(hold);
    const late = await connect(id);
    late.send({ type: 'session.start', call: {} });
    expect(await late.next('session.ended')).toMatchObject({ outcome: 'dropped' });
    expect((await late.waitClosed()).code).toBe(1000);
    rival.close();
  });

  it('closes the older connection with 4000 when a second one takes the call over', async () => {
    const id = callId();
    const first = await connect(id);
    await first.start();
    const second = await connect(id);
    const ready = await second.start();
    expect(ready).toMatchObject({ resumed: true });
    expect((await first.waitClosed()).code).toBe(4000);
    expect((await second.tool('list_services')).ok).toBe(true);
    second.close();
  });

  /** A call another broker instance opened a moment ago, holding a slot, its snapshot not stored yet. */
  async function openedElsewhere(instanceId: string, time: string): Promise<{ id: string; holdId: string }> {
    const id = callId();
    const { session } = await new DrizzleSessionStore(broker.database.db).openSession('sonnenschein', id, CALL_SESSION_MACHINE_VERSION, { instanceId, heldEpoch: null });
    const catalog = (await new DrizzleCatalogStore(broker.database.db).loadCatalog('sonnenschein'))!;
    const service = catalog.services.find((candidate) => candidate.id === 'herrenschnitt')!;
    const { span, busy } = layOut(service, localInstant(upcoming('thu'), time, catalog.timezone)!);
    const placed = await new DrizzleBookingStore(broker.database.db).placeHold({
      tenantId: 'sonnenschein', staffId: 'fabian', serviceId: service.id, span, busy,
      sessionId: session.id, epoch: session.ownerEpoch, callId: id, ttlMs: 30_000, maxMs: 30_000,
    });
    if (!placed.placed) throw new Error(`expected a hold at ${time}`);
    return { id, holdId: placed.hold.id };
  }

  it('takes over a call another instance opened a moment ago, before it stored a snapshot, with the hold storage has for it', async () => {
    const { id, holdId } = await openedElsewhere('another-instance', '15:00');
    const client = await connect(id);
    expect(await client.start()).toMatchObject({ resumed: true, hold: { id: holdId, status: 'held' } });
    expect(await client.tool('book_appointment', { customer_name: 'Ida Übernahme' })).toMatchObject({ ok: true, result: { booked: true } });
    client.close();
  });

  it('adopts a call whose instance died before storing its snapshot, and ends it as dropped with its hold released', async () => {
    const { id, holdId } = await openedElsewhere('instance-that-died', '16:00');
    // The dead instance never had a lease row: its sessions are anyone's to adopt, at once here or at the broker's next lease beat.
    await broker.app.broker.sessions.adopt();
    const stored = () => new DrizzleSessionStore(broker.database.db).findSession('sonnenschein', id);
    await expect.poll(async () => (await stored())?.outcome, { timeout: 6000, interval: 200 }).toBe('dropped');
    expect(await new DrizzleBookingStore(broker.database.db).getHold('sonnenschein', holdId)).toMatchObject({ status: 'released' });
  });

  it('replays a repeated tool id without doing the work twice', async () => {
    const friday = upcoming('fri');
    const client = await connect();
    await client.start({ from: '+4917000000003' });
    await client.tool('check_availability', { service: 'Färben', date: friday, time: '09:00', staff: 'Lena' });
    const first = await client.tool('book_appointment', { customer_name: 'Ida Wiederholt' }, 'book-1');
    const again = await client.tool('book_appointment', { customer_name: 'Ida Wiederholt' }, 'book-1');
    expect(again).toEqual(first);
    const list = await broker.admin('GET', `/v1/admin/tenants/sonnenschein/appointments?date=${friday}`);
    expect(list.body.filter((appointment: { customer_name: string }) => appointment.customer_name === 'Ida Wiederholt')).toHaveLength(1);
    client.close();
  });

  it('answers the other tools as PROTOCOL §4 says: context, NO_HOLD, release_hold, check_customer, cancel_appointment', async () => {
    const tuesday = upcoming('tue');
    const id = callId();
    const client = await connect(id);
    await client.start({ from: '+4917000000009' });
    const context = await client.tool('get_current_context', { call_id: 'placeholder-from-the-model' });
    expect(context.result).toMatchObject({
      call_id: id,
      timezone: 'Europe/Berlin',
      caller_phone: '+4917000000009',
      business: 'Salon Sonnenschein',
      date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      time: expect.stringMatching(/^\d{2}:\d{2}$/),
      weekday: expect.any(String),
      now: expect.any(String),
    });
    expect(await client.tool('book_appointment', { customer_name: 'Ida Storno' })).toMatchObject({ ok: false, error: { code: 'NO_HOLD' } });
    expect(await client.tool('release_hold')).toMatchObject({ ok: true, result: { released: false } });
    const held = await client.tool('check_availability', { service: 'Herrenschnitt', date: tuesday, time: '15:00', staff: 'Fabian' });
    expect(held.result.available).toBe(true);
    expect(await client.tool('release_hold')).toMatchObject({ ok: true, result: { released: true, message: expect.any(String) } });

    const booked = await client.tool('book_appointment', { customer_name: 'Ida Storno', service: 'Herrenschnitt', date: tuesday, time: '15:00', staff: 'Fabian' });
    const appointmentId = (booked.result.appointment as { id: string }).id;
    const customer = await client.tool('check_customer');
    expect(customer.result).toMatchObject({ known: true, customer: { name: 'Ida Storno', phone: '+4917000000009' }, upcoming: [expect.objectContaining({ id: appointmentId })] });
    expect(await client.tool('cancel_appointment', { appointment_id: appointmentId })).toMatchObject({ ok: true, result: { cancelled: true, appointment: { id: appointmentId } } });
    expect(await client.tool('cancel_appointment', { appointment_id: appointmentId })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    // The call cancelled what it booked: it ends without a booking.
    expect(await client.end()).toMatchObject({ outcome: 'no_booking', appointment: null });
  });

  it('answers a booking still running when session.end comes before it ends the call', async () => {
    const client = await connect();
    await client.start();
    client.send({ type: 'tool.call', id: 'book-then-hang-up', name: 'book_appointment', arguments: { customer_name: 'Eilig', service: 'Herrenschnitt', date: upcoming('tue'), time: '16:00', staff: 'Fabian' } });
    client.send({ type: 'session.end' });
    expect(await client.next((frame) => frame.type === 'tool.result' && frame.id === 'book-then-hang-up')).toMatchObject({ ok: true, result: { booked: true } });
    expect(await client.next('session.ended', { fromStart: true })).toMatchObject({ outcome: 'booked', appointment: { service: 'herrenschnitt' } });
  });

  it('releases an unbooked hold on session.end and says no_booking', async () => {
    const friday = upcoming('fri');
    const client = await connect();
    await client.start();
    await client.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '17:00', staff: 'Fabian' });
    expect(await client.end()).toMatchObject({ outcome: 'no_booking', appointment: null });
    expect((await client.waitClosed()).code).toBe(1000);
    const rival = await connect();
    await rival.start();
    expect((await rival.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '17:00', staff: 'Fabian' })).result.available).toBe(true);
    rival.close();
  });

  it('answers UNAVAILABLE within 2 s when storage does not answer, and the call goes on', async () => {
    const friday = upcoming('fri');
    const stuckCall = callId();
    const client = await connect(stuckCall);
    await client.start();
    // Another transaction holds Aylin's claim lock for that day (on PGlite: its only connection) for 3 s.
    let release: () => void = () => {};
    const lockKey = claimLockKey('sonnenschein', 'aylin', new Date(berlin(friday, '12:00')));
    const blocker = broker.database.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${lockKey}))`);
      await new Promise<void>((resolve) => {
        release = resolve;
        setTimeout(resolve, 3000);
      });
    });
    await sleep(100);
    const stuck = await client.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '12:00', staff: 'Aylin' }, 'stuck', 2000);
    expect(stuck).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' }, result: { message: expect.any(String) } });
    client.send({ type: 'ping', id: 'alive' });
    expect(await client.next('pong')).toMatchObject({ id: 'alive' });
    // The runtime retries the same id while the first check is still waiting for storage:
    // the retry waits for it. That check then holds the slot after all; the session takes
    // the hold (PROTOCOL §3), tells the runtime, and the retry returns that first answer.
    const mark = client.frames.length;
    const retry = client.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '12:00', staff: 'Aylin' }, 'stuck');
    await sleep(100);
    release();
    await blocker;
    const answer = await retry;
    expect(answer).toMatchObject({ ok: true, result: { available: true, hold: { status: 'held' } } });
    const heldId = (answer.result.hold as { id: string }).id;
    expect(await client.next((frame) => frame.type === 'hold.updated', { after: mark })).toMatchObject({ hold: { id: heldId, status: 'held' } });
    const holds = await broker.database.db.execute(sql`SELECT id, status FROM holds WHERE call_id = ${stuckCall} ORDER BY placed_at`);
    expect(rowsOf<{ id: string; status: string }>(holds)).toEqual([{ id: heldId, status: 'held' }]);
    expect((await client.tool('list_services')).ok).toBe(true);
    client.close();
  });

  it('offers alternatives when the requested time is outside opening hours or in the past', async () => {
    const client = await connect();
    await client.start({ locale: 'en-US' });
    const closed = await client.tool('check_availability', { service: 'Herrenschnitt', date: upcoming('sun'), time: '10:00' });
    expect(closed.result).toMatchObject({ available: false, reason: 'OUTSIDE_HOURS' });
    expect((closed.result.alternatives as unknown[]).length).toBe(3);
    const past = await client.tool('check_availability', { service: 'Herrenschnitt', date: '2020-01-03', time: '10:00' });
    expect(past.result).toMatchObject({ available: false, reason: 'IN_THE_PAST' });
    // A date already past is searched from today: there is something to offer.
    expect((past.result.alternatives as Array<{ start: string }>).length).toBe(3);
    expect((past.result.alternatives as Array<{ start: string }>).every((slot) => new Date(slot.start) > new Date())).toBe(true);
    const bookPast = await client.tool('book_appointment', { customer_name: 'Late Larry', service: 'Herrenschnitt', date: '2020-01-03', time: '10:00' });
    expect(bookPast).toMatchObject({ ok: false, error: { code: 'SLOT_TAKEN', message: 'the slot is in the past' }, result: { reason: 'IN_THE_PAST', message: expect.stringMatching(/already passed/) } });
    client.close();
  });
});
