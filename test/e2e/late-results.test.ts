/**
 * PROTOCOL §3, "the session's word always agrees with the database's": with PostgreSQL
 * stalled (accepting, not answering) behind a real TCP proxy, a tool is answered
 * UNAVAILABLE and then commits when the database comes back. The session takes that
 * result, tells the runtime at once, ends with the true outcome, and a retry with the
 * same id returns it. Real PostgreSQL only: PGlite has no socket to stall.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { rowsOf } from '../../src/store/booking-store.js';
import { TcpFaultProxy } from '../fakes/tcp-proxy.js';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { drivers } from '../fixtures/database.js';
import { upcoming } from '../fixtures/dates.js';

describe.runIf(drivers.includes('postgres'))('late results after a stalled database, on postgres', () => {
  let proxy: TcpFaultProxy;
  let broker: TestBroker;
  let token: string;
  let calls = 0;

  beforeAll(async () => {
    proxy = await TcpFaultProxy.start({ port: 5432 });
    broker = await startBroker('postgres', { HOLD_TTL_S: '60' }, { connectVia: (url) => proxy.urlFor(url) });
    token = await broker.tenant('sonnenschein');
  });
  afterAll(async () => {
    proxy.restore();
    await broker.close();
    await proxy.close();
  });

  async function callWithHold() {
    const client = await RuntimeClient.connect(broker.url, `late-${++calls}-${Date.now()}`, token);
    await client.start();
    // Each call its own slot, so no test depends on another's booking.
    const time = `${String(9 + calls).padStart(2, '0')}:00`;
    const check = await client.tool('check_availability', { service: 'Herrenschnitt', date: upcoming('tue'), time, staff: 'Fabian' });
    expect(check.result).toMatchObject({ available: true });
    return { client, holdId: (check.result.hold as { id: string }).id };
  }

  it('adopts a booking that committed after its UNAVAILABLE answer: appointment.updated, hold booked, retry and end agree', async () => {
    const { client, holdId } = await callWithHold();
    proxy.stall();
    const answered = await client.tool('book_appointment', { customer_name: 'Siegfried Reu' }, 'book-1');
    expect(answered).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    const mark = client.frames.length;
    proxy.restore();
    const updated = await client.next('appointment.updated', { after: mark, timeoutMs: 10_000 });
    expect(updated.appointment).toMatchObject({ status: 'booked', service: 'herrenschnitt', staff: 'fabian' });
    expect(await client.next((frame) => frame.type === 'hold.updated' && (frame.hold as { status: string }).status === 'booked', { after: mark })).toMatchObject({
      hold: { id: holdId },
    });
    const retry = await client.tool('book_appointment', { customer_name: 'Siegfried Reu' }, 'book-1');
    expect(retry).toMatchObject({ ok: true, result: { booked: true, appointment: { id: (updated.appointment as { id: string }).id } } });
    expect(await client.end()).toMatchObject({ outcome: 'booked', appointment: { id: (updated.appointment as { id: string }).id } });
    const stored = rowsOf<{ status: string }>(await broker.database.db.execute(sql`SELECT status FROM appointments WHERE hold_id = ${holdId}`));
    expect(stored).toEqual([{ status: 'booked' }]);
  });

  it('ends a call with the outcome of a booking still in flight when session.end came', async () => {
    const { client } = await callWithHold();
    proxy.stall();
    expect(await client.tool('book_appointment', { customer_name: 'Siegfried Reu' }, 'book-2')).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    const mark = client.frames.length;
    client.send({ type: 'session.end', reason: 'caller hung up' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    proxy.restore();
    const ended = await client.next('session.ended', { after: mark, timeoutMs: 10_000 });
    expect(ended).toMatchObject({ outcome: 'booked', appointment: { service: 'herrenschnitt' } });
    expect(client.frames.slice(mark).map((frame) => frame.type)).toContain('appointment.updated');
  });

  it('tells the runtime of a release that committed after its UNAVAILABLE answer', async () => {
    const { client, holdId } = await callWithHold();
    proxy.stall();
    expect(await client.tool('release_hold', {}, 'release-1')).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    const mark = client.frames.length;
    proxy.restore();
    const released = await client.next((frame) => frame.type === 'hold.updated', { after: mark, timeoutMs: 10_000 });
    expect(released.hold).toMatchObject({ id: holdId, status: 'released' });
    expect(await client.end()).toMatchObject({ outcome: 'no_booking' });
    const stored = rowsOf<{ status: string }>(await broker.database.db.execute(sql`SELECT status FROM holds WHERE id = ${holdId}`));
    expect(stored).toEqual([{ status: 'released' }]);
  });
});
