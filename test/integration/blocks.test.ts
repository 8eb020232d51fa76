/**
 * Blocks (PROTOCOL §7) on a started broker: a staff member marked busy is a staff claim
 * under the same exclusion constraint as holds and appointments, so the phone line
 * offers neither the blocked time nor alternatives inside it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { drivers } from '../fixtures/database.js';
import { berlin, upcoming } from '../fixtures/dates.js';

const overlaps = (a: { start: string; end: string }, b: { start: string; end: string }) => Date.parse(a.start) < Date.parse(b.end) && Date.parse(b.start) < Date.parse(a.end);

describe.each(drivers)('blocks on %s', (driver) => {
  let broker: TestBroker;
  let token: string;
  const friday = upcoming('fri');
  const blocks = (tenant = 'blocks') => `/v1/admin/tenants/${tenant}/blocks`;

  beforeAll(async () => {
    broker = await startBroker(driver);
    token = await broker.tenant('blocks');
  });
  afterAll(() => broker.close());

  it('places a block idempotently by id, moves it with a new PUT, lists it by day and frees it on DELETE', async () => {
    const body = { staff: 'lena', start: berlin(friday, '12:00'), end: berlin(friday, '13:00'), reason: 'Mittagspause' };
    const first = await broker.admin('PUT', `${blocks()}/lunch-lena`, body);
    expect(first).toMatchObject({ status: 200, body: { id: 'lunch-lena', staff: 'lena', start: body.start, end: body.end, reason: 'Mittagspause', source: 'front_desk' } });
    expect(await broker.admin('PUT', `${blocks()}/lunch-lena`, body)).toEqual(first);
    expect((await broker.admin('GET', `${blocks()}?date=${friday}`)).body).toEqual([first.body]);

    const later = { ...body, start: berlin(friday, '13:00'), end: berlin(friday, '14:00'), source: 'calendar' };
    expect(await broker.admin('PUT', `${blocks()}/lunch-lena`, later)).toMatchObject({ status: 200, body: { start: later.start, end: later.end, source: 'calendar' } });
    expect((await broker.admin('GET', `${blocks()}?date=${friday}`)).body).toEqual([expect.objectContaining({ id: 'lunch-lena', start: later.start })]);
    // Moved, not copied: the old time is free again, the new one taken.
    const call = await RuntimeClient.connect(broker.url, 'block-move-check', token);
    await call.start();
    expect((await call.tool('check_availability', { service: 'Damenschnitt', date: friday, time: '12:00', staff: 'Lena' })).result.available).toBe(true);
    expect((await call.tool('check_availability', { service: 'Damenschnitt', date: friday, time: '13:00', staff: 'Lena' })).result.available).toBe(false);
    await call.end();

    expect(await broker.admin('DELETE', `${blocks()}/lunch-lena`)).toMatchObject({ status: 200, body: { id: 'lunch-lena' } });
    expect((await broker.admin('GET', `${blocks()}?date=${friday}`)).body).toEqual([]);
    expect(await broker.admin('DELETE', `${blocks()}/lunch-lena`)).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });

  it('refuses a block over an appointment with 409 SLOT_TAKEN naming it, stores nothing, and fits into a processing gap', async () => {
    const call = await RuntimeClient.connect(broker.url, 'block-perm', token);
    await call.start();
    // A perm at 10:00: Fabian busy 10:00–10:30 and 11:15–11:45, free while it processes.
    const perm = await call.tool('book_appointment', { customer_name: 'Ada', service: 'Dauerwelle', date: friday, time: '10:00', staff: 'Fabian' });
    expect(perm.result.booked).toBe(true);
    await call.end();

    const refused = await broker.admin('PUT', `${blocks()}/fabian-phone`, { staff: 'fabian', start: berlin(friday, '10:15'), end: berlin(friday, '10:45') });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: { code: 'SLOT_TAKEN' }, appointments: [{ id: (perm.result.appointment as { id: string }).id, customer_name: 'Ada', source: 'call' }] });
    expect((await broker.admin('GET', `${blocks()}?date=${friday}`)).body).toEqual([]);

    const inGap = await broker.admin('PUT', `${blocks()}/fabian-gap`, { staff: 'fabian', start: berlin(friday, '10:30'), end: berlin(friday, '11:15'), reason: 'Telefon' });
    expect(inGap.status).toBe(200);

    // A PUT that would move the block onto the appointment keeps it where it was.
    const moveOnto = await broker.admin('PUT', `${blocks()}/fabian-gap`, { staff: 'fabian', start: berlin(friday, '11:00'), end: berlin(friday, '11:30') });
    expect(moveOnto.status).toBe(409);
    expect((await broker.admin('GET', `${blocks()}?date=${friday}`)).body).toEqual([inGap.body]);

    // Another block over it is refused too, and names the block in the way.
    const overBlock = await broker.admin('PUT', `${blocks()}/fabian-other`, { staff: 'fabian', start: berlin(friday, '10:30'), end: berlin(friday, '10:45') });
    expect(overBlock).toMatchObject({ status: 409, body: { appointments: [], blocks: [{ id: 'fabian-gap' }] } });
  });

  it('keeps the phone line from offering blocked time or alternatives inside it', async () => {
    const monday = upcoming('mon');
    const block = { staff: 'fabian', start: berlin(monday, '10:00'), end: berlin(monday, '12:00'), reason: 'Fortbildung' };
    expect((await broker.admin('PUT', `${blocks()}/training`, block)).status).toBe(200);

    const call = await RuntimeClient.connect(broker.url, 'block-phone', token);
    await call.start();
    const asked = await call.tool('check_availability', { service: 'Herrenschnitt', date: monday, time: '10:30', staff: 'Fabian' });
    expect(asked).toMatchObject({ ok: true, result: { available: false, reason: 'SLOT_TAKEN' } });
    const alternatives = asked.result.alternatives as Array<{ start: string; end: string; staff: string }>;
    expect(alternatives.length).toBeGreaterThan(0);
    for (const alternative of alternatives) expect(alternative.staff === 'fabian' && overlaps(alternative, block)).toBe(false);
    // The nearest free times around the block: just before it, and the moment it ends.
    expect(alternatives.slice(0, 2)).toEqual([
      expect.objectContaining({ staff: 'fabian', start: berlin(monday, '09:30') }),
      expect.objectContaining({ staff: 'fabian', start: berlin(monday, '12:00') }),
    ]);
    for (const time of ['10:00', '11:45']) {
      expect((await call.tool('check_availability', { service: 'Herrenschnitt', date: monday, time, staff: 'Fabian' })).result.available).toBe(false);
    }
    const atEnd = await call.tool('check_availability', { service: 'Herrenschnitt', date: monday, time: '12:00', staff: 'Fabian' });
    expect(atEnd.result).toMatchObject({ available: true, staff: 'fabian' });
    // Booking straight into the block is refused with alternatives as well.
    const booked = await call.tool('book_appointment', { customer_name: 'Ben', service: 'Herrenschnitt', date: monday, time: '11:00', staff: 'Fabian' });
    expect(booked).toMatchObject({ ok: false, error: { code: 'SLOT_TAKEN' } });
    await call.end();
  });

  it('refuses a block over a caller’s live hold, and takes the time once the hold is released', async () => {
    const tuesday = upcoming('tue');
    const call = await RuntimeClient.connect(broker.url, 'block-hold', token);
    await call.start();
    const held = await call.tool('check_availability', { service: 'Damenschnitt', date: tuesday, time: '15:00', staff: 'Lena' });
    expect(held.result.available).toBe(true);
    const block = { staff: 'lena', start: berlin(tuesday, '15:00'), end: berlin(tuesday, '16:00') };
    const refused = await broker.admin('PUT', `${blocks()}/lena-tue`, block);
    expect(refused).toMatchObject({ status: 409, body: { appointments: [], holds: [{ staff: 'lena', start: berlin(tuesday, '15:00') }] } });
    await call.tool('release_hold');
    expect((await broker.admin('PUT', `${blocks()}/lena-tue`, block)).status).toBe(200);
    await call.end();
  });

  it('validates with field-named 400s and answers 404 for an unknown tenant, 401 without the token', async () => {
    const bad = await broker.admin('PUT', `${blocks()}/bad`, { staff: 'fabian', start: '2026-01-02 10:00', end: berlin(friday, '09:00'), source: 'phone' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_REQUEST');
    expect(bad.body.error.issues).toEqual(expect.arrayContaining([expect.stringMatching(/^start: /), expect.stringMatching(/^source: /)]));
    const backwards = await broker.admin('PUT', `${blocks()}/bad`, { staff: 'fabian', start: berlin(friday, '10:00'), end: berlin(friday, '09:00') });
    expect(backwards).toMatchObject({ status: 400, body: { error: { issues: [expect.stringMatching(/^end: /)] } } });
    const nobody = await broker.admin('PUT', `${blocks()}/bad`, { staff: 'nobody', start: berlin(friday, '10:00'), end: berlin(friday, '11:00') });
    expect(nobody).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/^staff: /) } } });
    expect((await broker.admin('GET', `${blocks()}?date=friday`)).body.error.message).toMatch(/^date: /);
    expect((await broker.admin('GET', `${blocks('nobody')}?date=${friday}`)).status).toBe(404);
    expect((await broker.admin('GET', `${blocks()}?date=${friday}`, undefined, null)).status).toBe(401);
    expect((await broker.admin('PUT', `${blocks()}/x`, { staff: 'fabian', start: berlin(friday, '10:00'), end: berlin(friday, '11:00') }, null)).status).toBe(401);
  });
});
