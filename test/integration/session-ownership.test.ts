/**
 * Session ownership in storage (PROTOCOL §3): a takeover gives the session a new epoch,
 * and every write made under the old one is refused in its own statement: hold writes,
 * bookings, cancellations, snapshots, the event log and tool answers. On PostgreSQL with
 * real concurrent connections: a takeover waits for a fenced write in flight, and
 * adopters never take the same session twice.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layOut, localInstant } from '../../src/booking/availability.js';
import type { Catalog } from '../../src/booking/catalog.js';
import type { SessionFence } from '../../src/booking/ports.js';
import { DrizzleBookingStore, rowsOf } from '../../src/store/booking-store.js';
import { DrizzleCatalogStore } from '../../src/store/catalog-store.js';
import { openPostgres } from '../../src/store/database.js';
import { SESSION_TAKEN_OVER, sqlState } from '../../src/store/postgres-errors.js';
import { DrizzleSessionStore } from '../../src/store/session-store.js';
import { demoCatalog } from '../fixtures/catalogs.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';

const FRIDAY = '2030-11-29';
const opener = (instanceId: string) => ({ instanceId, heldEpoch: null });

describe.each(drivers)('session ownership on %s', (driver) => {
  let database: TestDatabase;
  let sessions: DrizzleSessionStore;
  let bookings: DrizzleBookingStore;
  let catalog: Catalog;

  beforeAll(async () => {
    database = await openTestDatabase(driver);
    sessions = new DrizzleSessionStore(database.db);
    bookings = new DrizzleBookingStore(database.db);
    const catalogs = new DrizzleCatalogStore(database.db);
    const demo = demoCatalog(`salon-${randomUUID().slice(0, 8)}`);
    await catalogs.putCatalog(demo.catalog, demo.customers);
    catalog = (await catalogs.loadCatalog(demo.catalog.tenantId))!;
  });
  afterAll(() => database.close());

  const claimAt = (time: string, staffId = 'fabian') => {
    const service = catalog.services.find((s) => s.id === 'herrenschnitt')!;
    const { span, busy } = layOut(service, localInstant(FRIDAY, time, catalog.timezone)!);
    return { tenantId: catalog.tenantId, staffId, serviceId: service.id, span, busy };
  };
  const placeUnder = (fence: SessionFence, time: string) =>
    bookings.placeHold({ ...claimAt(time), sessionId: fence.sessionId, epoch: fence.epoch, callId: 'c', ttlMs: 60_000, maxMs: 600_000 });
  const holdStatus = async (holdId: string) => (await bookings.getHold(catalog.tenantId, holdId))!.status;

  async function sessionOwnedBy(instanceId: string): Promise<SessionFence & { callId: string }> {
    const callId = `call-${randomUUID()}`;
    const { session } = await sessions.openSession(catalog.tenantId, callId, 1, opener(instanceId));
    return { tenantId: session.tenantId, sessionId: session.id, epoch: session.ownerEpoch, callId };
  }

  it('gives a taken-over session a new epoch and refuses every write made under the old one', async () => {
    const old = await sessionOwnedBy('a');
    expect(old.epoch).toBe(1);
    const placed = await placeUnder(old, '09:00');
    if (!placed.placed) throw new Error('the hold was not placed');
    const holdId = placed.hold.id;

    const { session: taken, created } = await sessions.openSession(catalog.tenantId, old.callId, 1, opener('b'));
    expect(created).toBe(false);
    expect(taken).toMatchObject({ ownerInstance: 'b', ownerEpoch: 2 });

    const refused = { code: 'TAKEN_OVER' };
    await expect(placeUnder(old, '11:00')).rejects.toMatchObject(refused);
    await expect(bookings.extendHold(catalog.tenantId, holdId, 60_000, old)).rejects.toMatchObject(refused);
    await expect(bookings.releaseHold(catalog.tenantId, holdId, old)).rejects.toMatchObject(refused);
    await expect(bookings.expireHold(catalog.tenantId, holdId, old)).rejects.toMatchObject(refused);
    const booking = { customerName: 'Alt', phone: '+491700000001', callId: old.callId, sessionId: old.sessionId, idempotencyKey: null, epoch: old.epoch };
    await expect(bookings.convertHold(catalog.tenantId, holdId, booking)).rejects.toMatchObject(refused);
    await expect(bookings.bookDirect(claimAt('12:00'), booking)).rejects.toMatchObject(refused);
    expect(await sessions.saveSessions([{ fence: old, changes: { state: 'stale' } }])).toEqual([old.sessionId]);
    // Nothing of it happened: the hold is as the new owner found it, no booking, no snapshot.
    expect(await holdStatus(holdId)).toBe('held');
    expect(await bookings.sessionHoldings(catalog.tenantId, old.sessionId)).toMatchObject({ hold: { id: holdId }, appointment: null });
    expect((await sessions.findSession(catalog.tenantId, old.callId))!.state).toBeNull();

    const current = { tenantId: catalog.tenantId, sessionId: old.sessionId, epoch: 2 };
    expect((await bookings.extendHold(catalog.tenantId, holdId, 60_000, current)).extended).toBe(true);
    expect(await bookings.releaseHold(catalog.tenantId, holdId, current)).toBe(true);
    expect(await sessions.saveSessions([{ fence: current, changes: { state: 'current' } }])).toEqual([]);
    expect((await sessions.findSession(catalog.tenantId, old.callId))!.state).toBe('current');
  });

  it('drops event-log rows and tool answers recorded under an old epoch, and keeps the current ones in order', async () => {
    const old = await sessionOwnedBy('a');
    await sessions.openSession(catalog.tenantId, old.callId, 1, opener('b'));
    const row = (epoch: number, type: string) => ({ tenantId: catalog.tenantId, sessionId: old.sessionId, epoch, at: new Date(), direction: 'in' as const, type, payload: { type }, toolCallId: null, latencyMs: null });
    await sessions.appendLog(
      [row(1, 'stale'), row(2, 'first'), row(2, 'second'), row(1, 'stale'), row(2, 'third')],
      [
        { tenantId: catalog.tenantId, sessionId: old.sessionId, epoch: 1, toolCallId: 'stale-id', name: 'check_availability', response: { ok: true } },
        { tenantId: catalog.tenantId, sessionId: old.sessionId, epoch: 2, toolCallId: 'current-id', name: 'check_availability', response: { ok: true } },
      ],
    );
    expect((await sessions.events(catalog.tenantId, old.sessionId)).map((event) => event.type)).toEqual(['first', 'second', 'third']);
    expect(await sessions.findToolResult(catalog.tenantId, old.sessionId, 'stale-id')).toBeNull();
    expect(await sessions.findToolResult(catalog.tenantId, old.sessionId, 'current-id')).toEqual({ ok: true });
  });

  it('keeps the epoch for the instance that holds it, and does not take over an ended session', async () => {
    const own = await sessionOwnedBy('a');
    const again = await sessions.openSession(catalog.tenantId, own.callId, 1, { instanceId: 'a', heldEpoch: 1 });
    expect(again.session.ownerEpoch).toBe(1);
    await sessions.saveSessions([{ fence: own, changes: { status: 'ended', outcome: 'no_booking', ended: true } }]);
    const late = await sessions.openSession(catalog.tenantId, own.callId, 1, opener('b'));
    expect(late.session).toMatchObject({ status: 'ended', ownerInstance: 'a', ownerEpoch: 1 });
  });

  it('names the sessions whose epoch moved on', async () => {
    const [kept, lost] = [await sessionOwnedBy('a'), await sessionOwnedBy('a')];
    await sessions.openSession(catalog.tenantId, lost.callId, 1, opener('b'));
    expect(await sessions.lostSessions([kept, lost])).toEqual([lost.sessionId]);
  });

  it('adopts the live sessions of an instance whose lease ran out, not those of a live one, and its own only when asked', async () => {
    const [dead, alive, self] = [`dead-${randomUUID()}`, `alive-${randomUUID()}`, `self-${randomUUID()}`];
    await sessions.renewLease(dead, 60_000);
    await sessions.renewLease(alive, 60_000);
    await sessions.renewLease(self, 60_000);
    const [orphan, served, mine] = [await sessionOwnedBy(dead), await sessionOwnedBy(alive), await sessionOwnedBy(self)];
    await sessions.endLease(dead);

    const adopted = (await sessions.adoptSessions(self, false, 1000)).map((record) => record.id);
    expect(adopted).toContain(orphan.sessionId);
    expect(adopted).not.toContain(served.sessionId);
    expect(adopted).not.toContain(mine.sessionId);
    expect(await sessions.findSession(catalog.tenantId, orphan.callId)).toMatchObject({ ownerInstance: self, ownerEpoch: 2 });

    const restored = (await sessions.adoptSessions(self, true, 1000)).map((record) => record.id);
    expect(restored).toContain(mine.sessionId);
    expect(restored).not.toContain(served.sessionId);
  });

  it.runIf(driver === 'postgres')('makes a takeover wait for a fenced write in flight, and refuses that write once it is through', async () => {
    const old = await sessionOwnedBy('a');
    const other = await openPostgres(database.url!, { maxConnections: 2 });
    try {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      // A write of the old owner that holds its fence, as a claim statement does until it commits.
      const inFlight = other.db.transaction(async (tx) => {
        await tx.execute(sql`SELECT callhold_fence(${old.tenantId}, ${old.sessionId}::uuid, ${old.epoch}::bigint)`);
        await released;
      });
      await sleep(50);
      let takenOver = false;
      const takeover = sessions.openSession(catalog.tenantId, old.callId, 1, opener('b')).then((result) => {
        takenOver = true;
        return result;
      });
      await sleep(300);
      expect(takenOver).toBe(false);
      release();
      await inFlight;
      expect((await takeover).session.ownerEpoch).toBe(2);
      const refused = await other.db.execute(sql`SELECT callhold_fence(${old.tenantId}, ${old.sessionId}::uuid, ${old.epoch}::bigint)`).catch((error: unknown) => error);
      expect(sqlState(refused)).toBe(SESSION_TAKEN_OVER);
    } finally {
      await other.close();
    }
  });

  it.runIf(driver === 'postgres')('lets concurrent adopters on separate connections take each orphaned session exactly once', async () => {
    const dead = `dead-${randomUUID()}`;
    await sessions.renewLease(dead, 60_000);
    const orphans = await Promise.all(Array.from({ length: 30 }, () => sessionOwnedBy(dead)));
    await sessions.endLease(dead);
    const adopters = await Promise.all(Array.from({ length: 4 }, () => openPostgres(database.url!, { maxConnections: 2 })));
    const names = adopters.map(() => `adopter-${randomUUID()}`);
    for (const name of names) await sessions.renewLease(name, 60_000);
    try {
      const taken = await Promise.all(adopters.map((adopter, index) => new DrizzleSessionStore(adopter.db).adoptSessions(names[index]!, false, 1000)));
      const ids = taken.flat().map((record) => record.id).filter((id) => orphans.some((orphan) => orphan.sessionId === id));
      expect(ids.sort()).toEqual(orphans.map((orphan) => orphan.sessionId).sort());
      const epochs = rowsOf<{ owner_epoch: string }>(
        await database.db.execute(sql`SELECT owner_epoch FROM sessions WHERE id = ANY(${`{${orphans.map((o) => o.sessionId).join(',')}}`}::uuid[])`),
      );
      expect(new Set(epochs.map((row) => Number(row.owner_epoch)))).toEqual(new Set([2]));
    } finally {
      await Promise.all(adopters.map((adopter) => adopter.close()));
    }
  });
});
