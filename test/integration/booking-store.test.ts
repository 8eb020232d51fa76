/**
 * The booking core against real storage: the same suite on PGlite and, when
 * DATABASE_URL is set, on PostgreSQL with real concurrent connections.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { localInstant, gridSlots, layOut } from '../../src/booking/availability.js';
import { BookingService, type SlotRequest } from '../../src/booking/booking-service.js';
import type { Catalog } from '../../src/booking/catalog.js';
import type { InstantRange, StaffClaim } from '../../src/booking/ports.js';
import { DrizzleBookingStore, rowsOf } from '../../src/store/booking-store.js';
import { DrizzleCatalogStore } from '../../src/store/catalog-store.js';
import { demoCatalog, openEveryDayCatalog } from '../fixtures/catalogs.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';

const NOW = new Date('2025-11-23T21:04:50Z');

/** The store, counting the reads of live claims. */
class CountingBookingStore extends DrizzleBookingStore {
  reads = 0;
  override liveClaims(tenantId: string, staffIds: string[], window: InstantRange, ignoreHoldId?: string | null, ignoreAppointmentId?: string | null): Promise<StaffClaim[]> {
    this.reads++;
    return super.liveClaims(tenantId, staffIds, window, ignoreHoldId, ignoreAppointmentId);
  }
}
const FRIDAY = '2025-11-28';

describe.each(drivers)('booking core on %s', (driver) => {
  let database: TestDatabase;
  let bookings: DrizzleBookingStore;
  let catalogs: DrizzleCatalogStore;

  beforeAll(async () => {
    database = await openTestDatabase(driver);
    bookings = new DrizzleBookingStore(database.db);
    catalogs = new DrizzleCatalogStore(database.db);
  });
  afterAll(() => database.close());

  async function salon(make = demoCatalog): Promise<Catalog> {
    const { catalog, customers } = make(`salon-${randomUUID().slice(0, 8)}`);
    await catalogs.putCatalog(catalog, customers);
    return (await catalogs.loadCatalog(catalog.tenantId))!;
  }

  function service(options: { ttlMs?: number; maxMs?: number } = {}) {
    return new BookingService({ store: bookings, customers: catalogs, clock: () => NOW, holdTtlMs: options.ttlMs ?? 60_000, holdMaxMs: options.maxMs ?? 600_000 });
  }

  function request(catalog: Catalog, serviceId: string, time: string, staffId: string | null = 'fabian', date = FRIDAY): SlotRequest {
    return {
      catalog,
      service: catalog.services.find((s) => s.id === serviceId)!,
      date,
      start: localInstant(date, time, catalog.timezone),
      staff: staffId ? catalog.staff.find((m) => m.id === staffId)! : null,
    };
  }

  const owner = () => ({ sessionId: null, callId: `call-${randomUUID()}`, currentHoldId: null });
  const details = (key: string | null = null) => ({ customerName: 'Siegfried Reu', phone: '+4915112345678', callId: 'c1', sessionId: null, idempotencyKey: key });

  it('stores and reloads a catalog, keeping staff order and phases', async () => {
    const catalog = await salon();
    expect(catalog.staff.map((m) => m.id)).toEqual(['fabian', 'lena', 'aylin']);
    expect(catalog.services.find((s) => s.id === 'dauerwelle')!.phases.map((p) => p.minutes)).toEqual([30, 45, 30]);
    expect(catalog.staff.find((m) => m.id === 'aylin')!.openingHours?.mon).toEqual([]);
  });

  it('lets a 30-minute cut into a perm’s processing gap at 10:30, not at 11:00', async () => {
    const catalog = await salon();
    const booking = service();
    const perm = await booking.book(catalog.tenantId, null, request(catalog, 'dauerwelle', '10:00'), details());
    expect(perm.booked).toBe(true);

    const inGap = await booking.hold(request(catalog, 'herrenschnitt', '10:30'), owner());
    expect(inGap.available).toBe(true);
    const overlappingRinse = await booking.hold(request(catalog, 'herrenschnitt', '11:00'), owner());
    expect(overlappingRinse).toMatchObject({ available: false, reason: 'SLOT_TAKEN' });
  });

  it('refuses overlapping claims in the database itself, whatever the application does', async () => {
    const catalog = await salon();
    const start = localInstant(FRIDAY, '15:00', catalog.timezone)!;
    const { span, busy } = layOut(catalog.services[1]!, start);
    const claim = { tenantId: catalog.tenantId, staffId: 'fabian', serviceId: 'herrenschnitt', span, busy };
    expect((await bookings.bookDirect(claim, details())).booked).toBe(true);
    const insert = () =>
      database.db.execute(sql`INSERT INTO staff_claims (tenant_id, staff_id, during, appointment_id)
        SELECT tenant_id, staff_id, during, appointment_id FROM staff_claims WHERE tenant_id = ${catalog.tenantId}`);
    await expect(insert()).rejects.toSatisfy((error: { cause?: { code?: string } }) => error.cause?.code === '23P01');
  });

  it('gives the right local slots on the day Europe/Berlin springs forward', async () => {
    const catalog = await salon(openEveryDayCatalog);
    const cut = catalog.services.find((s) => s.id === 'herrenschnitt')!;
    const member = catalog.staff[0]!;
    const daySlots = (date: string) => gridSlots(catalog, cut, member, date, NOW);
    const [dayBefore, changeDay] = [daySlots('2026-03-28'), daySlots('2026-03-29')];
    expect(dayBefore[0]!.start.toISOString()).toBe('2026-03-28T08:00:00.000Z');
    expect(changeDay[0]!.start.toISOString()).toBe('2026-03-29T07:00:00.000Z');
    expect(changeDay.at(-1)!.start.toISOString()).toBe('2026-03-29T15:30:00.000Z');
    expect(changeDay).toHaveLength(dayBefore.length);
    const held = await service().hold(request(catalog, 'herrenschnitt', '09:00', 'fabian', '2026-03-29'), owner());
    expect(held.available && held.hold.start.toISOString()).toBe('2026-03-29T07:00:00.000Z');
  });

  it('answers a taken slot with up to three free alternatives, nearest first, never the slot itself', async () => {
    const catalog = await salon();
    const booking = service();
    await booking.book(catalog.tenantId, null, request(catalog, 'herrenschnitt', '10:00'), details());
    const refused = await booking.hold(request(catalog, 'herrenschnitt', '10:00'), owner());
    expect(refused.available).toBe(false);
    if (refused.available) return;
    const starts = refused.alternatives.map((slot) => [slot.staff.id, slot.start.toISOString()]);
    expect(starts).toEqual([
      ['fabian', '2025-11-28T08:30:00.000Z'],
      ['fabian', '2025-11-28T09:30:00.000Z'],
      ['aylin', '2025-11-28T09:00:00.000Z'],
    ]);
  });

  it('places exactly one hold when 50 callers race for one slot on separate connections', async () => {
    const catalog = await salon();
    const booking = service();
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => booking.hold(request(catalog, 'dauerwelle', '14:00'), owner())));
    expect(outcomes.filter((o) => o.available)).toHaveLength(1);
    for (const loser of outcomes.filter((o) => !o.available)) {
      expect(loser).toMatchObject({ reason: 'SLOT_TAKEN' });
      expect(loser.available === false && loser.alternatives.length).toBeGreaterThan(0);
    }
    const live = await database.db.execute(sql`SELECT count(*)::int AS n FROM holds WHERE tenant_id = ${catalog.tenantId} AND status = 'held'`);
    expect(rowsOf<{ n: number }>(live)[0]!.n).toBe(1);
  });

  it('books exactly one appointment when 50 direct bookings race for one slot', async () => {
    const catalog = await salon();
    const booking = service();
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => booking.book(catalog.tenantId, null, request(catalog, 'dauerwelle', '15:00'), details(`race-${catalog.tenantId}-${i}`))),
    );
    expect(outcomes.filter((o) => o.booked)).toHaveLength(1);
    expect(outcomes.filter((o) => !o.booked).every((o) => !o.booked && o.code === 'SLOT_TAKEN')).toBe(true);
    const window = { start: new Date('2025-11-28T00:00:00Z'), end: new Date('2025-11-29T00:00:00Z') };
    expect(await bookings.listAppointments(catalog.tenantId, window)).toHaveLength(1);
  });

  it('lets the next request reclaim an expired hold, but not an extended one', async () => {
    const catalog = await salon();
    const shortHolds = service({ ttlMs: 400, maxMs: 5_000 });
    const first = await shortHolds.hold(request(catalog, 'herrenschnitt', '16:00'), owner());
    const kept = await shortHolds.hold(request(catalog, 'damenschnitt', '16:00', 'lena'), owner());
    expect(first.available && kept.available).toBe(true);
    if (!first.available || !kept.available) return;

    await sleep(250);
    expect((await bookings.extendHold(catalog.tenantId, kept.hold.id, 400)).extended).toBe(true);
    await sleep(250);
    const stillKept = await shortHolds.hold(request(catalog, 'damenschnitt', '16:00', 'lena'), owner());
    expect(stillKept.available).toBe(false);
    const reclaimed = await shortHolds.hold(request(catalog, 'herrenschnitt', '16:00', 'fabian'), owner());
    expect(reclaimed.available).toBe(true);
    expect(await bookings.getHold(catalog.tenantId, first.hold.id)).toMatchObject({ status: 'lost' });
  });

  it('never extends a hold past placed + HOLD_MAX_S, and ends it there', async () => {
    const catalog = await salon();
    const capped = service({ ttlMs: 400, maxMs: 600 });
    const held = await capped.hold(request(catalog, 'herrenschnitt', '17:00'), owner());
    if (!held.available) throw new Error('expected a hold');
    await sleep(300);
    const extended = await bookings.extendHold(catalog.tenantId, held.hold.id, 400);
    expect(extended.extended).toBe(true);
    expect(extended.hold!.expiresAt.getTime()).toBe(held.hold.maxExpiresAt.getTime());
    await sleep(350);
    expect((await bookings.extendHold(catalog.tenantId, held.hold.id, 400)).extended).toBe(false);
    expect(await bookings.expireHold(catalog.tenantId, held.hold.id)).toMatchObject({ status: 'expired' });
    expect(await bookings.sweepExpiredHolds()).toBeGreaterThanOrEqual(0);
  });

  it('turns a hold into an appointment once; a retried booking returns the same appointment', async () => {
    const catalog = await salon();
    const booking = service();
    const held = await booking.hold(request(catalog, 'dauerwelle', '12:00', null), owner());
    if (!held.available) throw new Error('expected a hold');
    const first = await booking.book(catalog.tenantId, held.hold, null, details('session-1:tool-7'));
    const retried = await booking.book(catalog.tenantId, held.hold, null, details('session-1:tool-7'));
    expect(first.booked && retried.booked).toBe(true);
    if (!first.booked || !retried.booked) return;
    expect(retried.appointment.id).toBe(first.appointment.id);
    expect(retried.replayed).toBe(true);
    const rows = await database.db.execute(sql`SELECT count(*)::int AS n FROM appointments WHERE tenant_id = ${catalog.tenantId}`);
    expect(rowsOf<{ n: number }>(rows)[0]!.n).toBe(1);
    expect(await bookings.getHold(catalog.tenantId, held.hold.id)).toMatchObject({ status: 'booked' });
  });

  it('places one hold per idempotency key: the same key again gets that hold back, with its staff member, and claims nothing', async () => {
    const catalog = await salon();
    const booking = service();
    const session = { ...owner(), idempotencyKey: `session-2:tool-${randomUUID()}` };
    const first = await booking.hold(request(catalog, 'damenschnitt', '14:00', 'lena'), session);
    if (!first.available) throw new Error('expected a hold');
    expect(first.replayed).toBe(false);
    // As a restored session retries it: holding that hold, and this time naming another staff member.
    const retried = await booking.hold(request(catalog, 'damenschnitt', '14:00', 'fabian'), { ...session, currentHoldId: first.hold.id });
    expect(retried).toMatchObject({ available: true, replayed: true, hold: { id: first.hold.id, staffId: 'lena' }, staff: { id: 'lena' } });
    expect(await bookings.getHold(catalog.tenantId, first.hold.id)).toMatchObject({ status: 'held' });
    // Released since: the key still names that hold and places no other.
    await bookings.releaseHold(catalog.tenantId, first.hold.id);
    const late = await booking.hold(request(catalog, 'damenschnitt', '14:00', 'lena'), session);
    expect(late).toMatchObject({ available: true, replayed: true, hold: { id: first.hold.id, status: 'released' } });
    const rows = await database.db.execute(sql`SELECT count(*)::int AS n FROM holds WHERE tenant_id = ${catalog.tenantId}`);
    expect(rowsOf<{ n: number }>(rows)[0]!.n).toBe(1);
  });

  describe('with no staff member named, a recent read of the day orders the candidates', () => {
    const counting = () => new CountingBookingStore(database.db);
    const serviceOn = (store: DrizzleBookingStore) => new BookingService({ store, customers: catalogs, clock: () => NOW, holdTtlMs: 60_000, holdMaxMs: 600_000 });
    const herrenschnitt = (catalog: Catalog, time: string) => request(catalog, 'herrenschnitt', time, null);

    it('holds a second slot of the day, of another service too, without reading the day again', async () => {
      const catalog = await salon();
      const store = counting();
      const booking = serviceOn(store);
      expect((await booking.hold(herrenschnitt(catalog, '10:00'), owner())).available).toBe(true);
      const reads = store.reads;
      expect((await booking.hold(herrenschnitt(catalog, '14:00'), owner())).available).toBe(true);
      expect((await booking.hold(request(catalog, 'dauerwelle', '15:00', null), owner())).available).toBe(true);
      expect(store.reads).toBe(reads);
    });

    it('never refuses on a stale read: a slot freed since is read again and held', async () => {
      const catalog = await salon();
      const booking = serviceOn(counting());
      const first = await booking.book(catalog.tenantId, null, herrenschnitt(catalog, '11:00'), details());
      const second = await booking.book(catalog.tenantId, null, herrenschnitt(catalog, '11:00'), details());
      expect(first.booked && second.booked).toBe(true);
      // The front desk (another process) cancels one of them; this service's last read still has both.
      if (!first.booked) return;
      await bookings.cancelAppointment(catalog.tenantId, first.appointment.id, '+4915112345678');
      const held = await booking.hold(herrenschnitt(catalog, '11:00'), owner());
      expect(held).toMatchObject({ available: true, staff: { id: first.appointment.staffId } });
    });

    it('tries the others when the staff member it proposes was taken elsewhere meanwhile, and refuses with alternatives once all are', async () => {
      const catalog = await salon();
      const booking = serviceOn(counting());
      const elsewhere = serviceOn(new DrizzleBookingStore(database.db));
      expect((await booking.hold(herrenschnitt(catalog, '09:00'), owner())).available).toBe(true);
      // Another broker takes one qualified staff member at 15:00, then the other.
      const taken = await elsewhere.hold(request(catalog, 'herrenschnitt', '15:00', 'fabian'), owner());
      expect(taken.available).toBe(true);
      const held = await booking.hold(herrenschnitt(catalog, '15:00'), owner());
      expect(held).toMatchObject({ available: true });
      expect(held.available && held.staff.id).not.toBe('fabian');
      const refused = await booking.hold(herrenschnitt(catalog, '15:00'), owner());
      expect(refused).toMatchObject({ available: false, reason: 'SLOT_TAKEN' });
      expect(refused.available === false && refused.alternatives.length).toBeGreaterThan(0);
      const live = await database.db.execute(sql`SELECT count(*)::int AS n FROM holds WHERE tenant_id = ${catalog.tenantId} AND status = 'held' AND start_at = ${localInstant(FRIDAY, '15:00', catalog.timezone)!.toISOString()}::timestamptz`);
      expect(rowsOf<{ n: number }>(live)[0]!.n).toBe(2);
    });
  });

  it('keeps the earlier hold when the newly asked slot is not free', async () => {
    const catalog = await salon();
    const booking = service();
    await booking.book(catalog.tenantId, null, request(catalog, 'herrenschnitt', '11:00'), details());
    const session = owner();
    const first = await booking.hold(request(catalog, 'herrenschnitt', '09:00'), session);
    if (!first.available) throw new Error('expected a hold');
    const refused = await booking.hold(request(catalog, 'herrenschnitt', '11:00'), { ...session, currentHoldId: first.hold.id });
    expect(refused.available).toBe(false);
    expect(await bookings.getHold(catalog.tenantId, first.hold.id)).toMatchObject({ status: 'held' });
    const moved = await booking.hold(request(catalog, 'herrenschnitt', '12:00'), { ...session, currentHoldId: first.hold.id });
    expect(moved.available).toBe(true);
    expect(await bookings.getHold(catalog.tenantId, first.hold.id)).toMatchObject({ status: 'released' });
  });
});
