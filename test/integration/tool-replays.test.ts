/**
 * A tool call id that comes again (PROTOCOL §4) after its first answer was lost: the
 * hold or booking it made is found by the id, what the session is told agrees with the
 * database, and nothing is claimed twice. On real storage, with the clock fixed on a
 * Sunday evening in Berlin (the incident's moment).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HoldView, SessionView, ToolCall } from '../../machines/call-session.types.js';
import type { DrizzleBookingStore } from '../../src/store/booking-store.js';
import type { ToolRunner } from '../../src/tools/tool-runner.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';
import { toolsOnDemoSalon } from '../fixtures/tool-runner.js';

const NOW = new Date('2025-11-23T21:04:50Z');
const PHONE = '+4915112345678';

describe.each(drivers)('repeated tool call ids on %s', (driver) => {
  let database: TestDatabase;
  let tools: ToolRunner;
  let restarted: () => ToolRunner;
  let bookings: DrizzleBookingStore;
  let tenantId: string;

  beforeAll(async () => {
    database = await openTestDatabase(driver);
    ({ tools, restarted, bookings, tenantId } = await toolsOnDemoSalon(database, NOW, 'replays'));
  });
  afterAll(() => database.close());

  const session = (): SessionView => ({ sessionId: randomUUID(), tenantId, callId: `c-${randomUUID()}`, locale: 'de-DE', callerPhone: PHONE, hold: null, request: null });
  const call = (name: string, args: Record<string, unknown>): ToolCall => ({ id: randomUUID(), name, arguments: args, receivedAt: 0 });
  const placed = (outcome: Awaited<ReturnType<ToolRunner['run']>>): HoldView => {
    if (outcome.hold?.kind !== 'placed') throw new Error(`expected a hold: ${JSON.stringify(outcome.response)}`);
    return outcome.hold.hold;
  };

  it('gives a repeated check the hold its id placed, also when the slot would be refused now, and claims nothing', async () => {
    const view = session();
    const check = call('check_availability', { service: 'Dauerwelle', date: 'Freitag', time: '10 Uhr' });
    const hold = placed(await tools.run(check, view));
    // Meanwhile the hold was let go, and other callers booked the slot with everyone who offers it.
    await bookings.releaseHold(tenantId, hold.id);
    for (const staff of ['fabian', 'lena']) {
      const other = await tools.run(call('book_appointment', { customer_name: 'Ida', service: 'Dauerwelle', date: 'Freitag', time: '10 Uhr', staff }), session());
      expect(other.response).toMatchObject({ ok: true, result: { booked: true } });
    }

    // Asked again of a restarted broker, which has read nothing of that day yet.
    const again = await restarted().run(check, view, null, true);
    expect(again.response).toMatchObject({ ok: true, result: { available: true, hold: { id: hold.id, status: 'released' } } });
    expect(again.hold).toBeUndefined();
    expect(await bookings.findHoldByKey(tenantId, `${view.sessionId}:${check.id}`)).toMatchObject({ id: hold.id, status: 'released' });
  });

  it('gives the session the hold a repeated check placed when its first answer never reached it', async () => {
    const view = session();
    const first = placed(await tools.run(call('check_availability', { service: 'Herrenschnitt', date: 'Freitag', time: '11 Uhr' }), view));
    // The second check placed its hold (releasing the first) but its run failed, so the session still has the first.
    const second = call('check_availability', { service: 'Herrenschnitt', date: 'Freitag', time: '15 Uhr' });
    const lost = placed(await tools.run(second, { ...view, hold: first }));

    const again = await tools.run(second, { ...view, hold: first }, null, true);
    expect(again.hold).toEqual({ kind: 'placed', hold: expect.objectContaining({ id: lost.id }) });
    expect(again.keyedByCall).toBe(true);
    expect(await bookings.getHold(tenantId, first.id)).toMatchObject({ status: 'released' });
    expect(await bookings.getHold(tenantId, lost.id)).toMatchObject({ status: 'held' });
  });

  it('ends the hold a repeated booking booked, and does not give back an appointment cancelled since', async () => {
    const view = session();
    const hold = placed(await tools.run(call('check_availability', { service: 'Damenschnitt', date: 'Freitag', time: '16 Uhr' }), view));
    const book = call('book_appointment', { customer_name: 'Siegfried Reu' });
    const booked = await tools.run(book, { ...view, hold });
    expect(booked.hold).toEqual({ kind: 'ended', status: 'booked' });
    const appointmentId = booked.appointment!.id;

    // Its answer was lost: the session still has the hold it booked.
    const again = await tools.run(book, { ...view, hold });
    expect(again.response).toEqual(booked.response);
    expect(again.hold).toEqual({ kind: 'ended', status: 'booked' });
    expect(again.appointment?.id).toBe(appointmentId);

    await bookings.cancelAppointment(tenantId, appointmentId, PHONE);
    const afterCancel = await tools.run(book, { ...view, hold: null });
    expect(afterCancel.response).toMatchObject({ ok: true, result: { booked: true } });
    expect(afterCancel.appointment).toBeUndefined();
  });
});
