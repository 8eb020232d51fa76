/**
 * The schema is ready to be distributed by tenant (Citus, drizzle/0012): read from the
 * catalog after every migration, so a later migration that adds a key or a foreign key
 * without `tenant_id` fails here. Citus accepts a unique, primary-key or exclusion
 * constraint on a distributed table only if it includes the distribution column (with `=`
 * in an exclusion constraint), and a foreign key between distributed tables only if it
 * joins them on it. Reference tables (copied to every node) keep their keys as they are.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { localInstant } from '../../src/booking/availability.js';
import { BookingService, type SlotRequest } from '../../src/booking/booking-service.js';
import type { Catalog } from '../../src/booking/catalog.js';
import { DrizzleBookingStore, rowsOf } from '../../src/store/booking-store.js';
import { DrizzleCatalogStore } from '../../src/store/catalog-store.js';
import { demoCatalog } from '../fixtures/catalogs.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';

/**
 * Tables that would be Citus reference tables, with why (the README's "Past one primary"):
 * `tenants` is small and read by every tenant's statements (the outbox trigger, the outbox
 * claim's time zone); `broker_instances` belongs to no tenant (the leases of the brokers);
 * `runtime_tokens` is looked up by the token's hash before the tenant is known (the call
 * URL does not name it).
 */
const REFERENCE_TABLES = ['tenants', 'broker_instances', 'runtime_tokens'];

const NOW = new Date('2025-11-23T21:04:50Z');
const FRIDAY = '2025-11-28';

interface KeyRow {
  table: string;
  name: string;
  kind: 'p' | 'u' | 'x' | 'index';
  columns: string[];
  operators: string[] | null;
}

interface ForeignKeyRow {
  table: string;
  name: string;
  references: string;
  /** Each referencing column with the column it references, in key order. */
  pairs: string[];
}

describe.each(drivers)('tenant keys on %s', (driver) => {
  let database: TestDatabase;
  let bookings: DrizzleBookingStore;
  let catalogs: DrizzleCatalogStore;

  beforeAll(async () => {
    database = await openTestDatabase(driver);
    bookings = new DrizzleBookingStore(database.db);
    catalogs = new DrizzleCatalogStore(database.db);
  });
  afterAll(() => database.close());

  const query = async <T>(statement: ReturnType<typeof sql>) => rowsOf<T>(await database.db.execute(statement));

  const tables = () =>
    query<{ table: string }>(sql`
      SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`);

  /** Every primary key, unique and exclusion constraint, and every unique index not behind one. */
  const keys = () =>
    query<KeyRow>(sql`
      SELECT t.relname AS table, k.conname AS name, k.contype AS kind,
        array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, i)
              JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.i) AS columns,
        CASE WHEN k.contype = 'x' THEN
          array(SELECT o.oprname::text FROM unnest(k.conexclop) WITH ORDINALITY u(op, i) JOIN pg_operator o ON o.oid = u.op ORDER BY u.i)
        END AS operators
      FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND k.contype IN ('p', 'u', 'x')
      UNION ALL
      SELECT t.relname, i.relname, 'index',
        array(SELECT a.attname::text FROM unnest(x.indkey::int2[]) WITH ORDINALITY u(attnum, j)
              JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.attnum ORDER BY u.j),
        NULL
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND x.indisunique
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
      ORDER BY 1, 2`);

  const foreignKeys = () =>
    query<ForeignKeyRow>(sql`
      SELECT t.relname AS table, k.conname AS name, r.relname AS references,
        array(SELECT a.attname::text || '=' || b.attname::text
              FROM unnest(k.conkey, k.confkey) WITH ORDINALITY u(attnum, fattnum, i)
              JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
              JOIN pg_attribute b ON b.attrelid = k.confrelid AND b.attnum = u.fattnum
              ORDER BY u.i) AS pairs
      FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND k.contype = 'f'
      ORDER BY 1, 2`);

  const distributed = async () => (await tables()).map((row) => row.table).filter((table) => !REFERENCE_TABLES.includes(table));

  it('gives every table that is not a reference table a NOT NULL tenant_id', async () => {
    const columns = await query<{ table: string }>(sql`
      SELECT c.relname AS table FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND a.attname = 'tenant_id' AND a.attnotnull AND NOT a.attisdropped`);
    const withTenant = new Set(columns.map((row) => row.table));
    const tablesOf = await distributed();
    expect(tablesOf.length).toBeGreaterThan(10);
    expect(tablesOf.filter((table) => !withTenant.has(table))).toEqual([]);
    // The reference list names real tables: a renamed one would otherwise escape the checks.
    expect((await tables()).map((row) => row.table)).toEqual(expect.arrayContaining(REFERENCE_TABLES));
  });

  it('includes tenant_id in every primary key, unique and exclusion constraint of a distributed table', async () => {
    const tablesOf = new Set(await distributed());
    const found = (await keys()).filter((key) => tablesOf.has(key.table));
    expect(found.map((key) => key.name)).toEqual(
      expect.arrayContaining(['appointments_idempotency_key_unique', 'calendar_outbox_seq_unique', 'sessions_tenant_call_unique', 'staff_claims_no_overlap']),
    );
    const missing = found.filter((key) => !key.columns.includes('tenant_id')).map((key) => `${key.table}.${key.name} (${key.columns.join(', ')})`);
    expect(missing).toEqual([]);
    // Citus needs the distribution column compared with `=` in an exclusion constraint.
    const exclusions = found.filter((key) => key.kind === 'x');
    expect(exclusions.length).toBeGreaterThan(0);
    for (const key of exclusions) expect(key.operators![key.columns.indexOf('tenant_id')], key.name).toBe('=');
  });

  it('joins every foreign key between distributed tables on tenant_id, and none leads from a reference table to a distributed one', async () => {
    const tablesOf = new Set(await distributed());
    const all = await foreignKeys();
    const between = all.filter((fk) => tablesOf.has(fk.table) && tablesOf.has(fk.references));
    expect(between.map((fk) => fk.name)).toEqual(
      expect.arrayContaining(['staff_claims_hold_fk', 'staff_claims_appointment_fk', 'staff_claims_block_fk', 'session_events_session_fk', 'tool_results_session_fk']),
    );
    expect(between.filter((fk) => !fk.pairs.includes('tenant_id=tenant_id')).map((fk) => `${fk.table}.${fk.name} (${fk.pairs.join(', ')})`)).toEqual([]);
    expect(all.filter((fk) => !tablesOf.has(fk.table) && tablesOf.has(fk.references)).map((fk) => fk.name)).toEqual([]);
  });

  async function salon(): Promise<Catalog> {
    const { catalog, customers } = demoCatalog(`salon-${randomUUID().slice(0, 8)}`);
    await catalogs.putCatalog(catalog, customers);
    return (await catalogs.loadCatalog(catalog.tenantId))!;
  }

  const booking = () => new BookingService({ store: bookings, customers: catalogs, clock: () => NOW, holdTtlMs: 60_000, holdMaxMs: 600_000 });
  const request = (catalog: Catalog, time: string): SlotRequest => ({
    catalog,
    service: catalog.services.find((s) => s.id === 'herrenschnitt')!,
    date: FRIDAY,
    start: localInstant(FRIDAY, time, catalog.timezone),
    staff: catalog.staff.find((m) => m.id === 'fabian')!,
  });
  const details = (idempotencyKey: string) => ({ customerName: 'Siegfried Reu', phone: '+4915112345678', callId: 'c1', sessionId: null, idempotencyKey });
  const appointmentsOf = async (tenantId: string) =>
    (await query<{ n: number }>(sql`SELECT count(*)::int AS n FROM appointments WHERE tenant_id = ${tenantId}`))[0]!.n;

  it('books the same idempotency key once per tenant: two tenants get two appointments, a retry in one gets its first', async () => {
    const [north, south] = [await salon(), await salon()];
    const key = `session-${randomUUID()}:tool-1`;
    const first = await booking().book(north.tenantId, null, request(north, '10:00'), details(key));
    const other = await booking().book(south.tenantId, null, request(south, '10:00'), details(key));
    expect(first).toMatchObject({ booked: true, replayed: false, appointment: { tenantId: north.tenantId } });
    expect(other).toMatchObject({ booked: true, replayed: false, appointment: { tenantId: south.tenantId } });
    if (!first.booked || !other.booked) return;
    expect(other.appointment.id).not.toBe(first.appointment.id);

    // Another slot under the same key in the first tenant: its first booking is the answer.
    const retried = await booking().book(north.tenantId, null, request(north, '11:00'), details(key));
    expect(retried).toMatchObject({ booked: true, replayed: true, appointment: { id: first.appointment.id } });
    expect(await bookings.findAppointmentByKey(north.tenantId, key)).toMatchObject({ id: first.appointment.id });
    expect(await bookings.findAppointmentByKey(south.tenantId, key)).toMatchObject({ id: other.appointment.id });
    expect([await appointmentsOf(north.tenantId), await appointmentsOf(south.tenantId)]).toEqual([1, 1]);
  });

  it('converts a hold under a key another tenant has used already, and replays the key only within its tenant', async () => {
    const [north, south] = [await salon(), await salon()];
    const key = `session-${randomUUID()}:tool-2`;
    const first = await booking().book(north.tenantId, null, request(north, '14:00'), details(key));
    expect(first.booked).toBe(true);
    const held = await booking().hold(request(south, '14:00'), { sessionId: null, callId: 'c2', currentHoldId: null });
    if (!held.available) throw new Error('expected a hold');
    const converted = await booking().book(south.tenantId, held.hold, null, details(key));
    expect(converted).toMatchObject({ booked: true, replayed: false, appointment: { tenantId: south.tenantId, holdId: held.hold.id } });
    const again = await booking().book(south.tenantId, held.hold, null, details(key));
    expect(again).toMatchObject({ booked: true, replayed: true });
    // A tenant cannot reach another tenant's hold by its id.
    expect(await bookings.getHold(north.tenantId, held.hold.id)).toBeNull();
    expect(await bookings.getHold(south.tenantId, held.hold.id)).toMatchObject({ status: 'booked' });
  });
});
