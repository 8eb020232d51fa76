/**
 * Holds, appointments and the staff claims behind them, on drizzle.
 *
 * Every invariant is kept by the database: the exclusion constraint refuses overlapping
 * claims, hold expiry is compared with the database's `now()`, and every state change of
 * a hold is a compare-and-swap on its status. Claim transactions first take an advisory
 * lock per staff member, which keeps many callers on one slot from deadlocking on the
 * exclusion constraint (STACK.md); the constraint stays the guarantee.
 */
import { and, asc, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import type {
  AppointmentRecord,
  BookingDetails,
  BookingStore,
  ConvertHoldResult,
  DirectBookingResult,
  ExpireHoldResult,
  ExtendHoldResult,
  HoldRecord,
  HoldRequest,
  InstantRange,
  MoveAppointmentResult,
  PlaceHoldResult,
  SessionFence,
  SlotClaim,
  StaffClaim,
} from '../booking/ports.js';
import type { Database } from './database.js';
import { BrokerError } from '../errors.js';
import { EXCLUSION_VIOLATION, retryTransient, SESSION_TAKEN_OVER, sqlState, UNIQUE_VIOLATION } from './postgres-errors.js';
import { appointments, holds, staffClaims } from './schema.js';

export const rangeLiteral = (range: InstantRange) => `[${range.start.toISOString()},${range.end.toISOString()})`;
const interval = (ms: number) => sql`make_interval(secs => ${ms / 1000})`;

export function toHold(row: typeof holds.$inferSelect): HoldRecord {
  return {
    id: row.id,
    tenantId: row.tenantId,
    sessionId: row.sessionId,
    staffId: row.staffId,
    serviceId: row.serviceId,
    start: row.startAt,
    end: row.endAt,
    status: row.status,
    placedAt: row.placedAt,
    expiresAt: row.expiresAt,
    maxExpiresAt: row.maxExpiresAt,
  };
}

export function toAppointment(row: typeof appointments.$inferSelect): AppointmentRecord {
  return {
    id: row.id,
    tenantId: row.tenantId,
    staffId: row.staffId,
    serviceId: row.serviceId,
    start: row.startAt,
    end: row.endAt,
    customerName: row.customerName,
    phone: row.phone,
    callId: row.callId,
    holdId: row.holdId,
    status: row.status,
    source: row.source,
  };
}

/**
 * Claims of one staff member on one (UTC) day queue behind each other; other days and
 * other staff go in parallel. A span crossing midnight UTC may race a claim of the next
 * day without the lock: the exclusion constraint still refuses the loser, at worst after a
 * deadlock that `retryTransient` absorbs.
 */
export const claimLockKey = (tenantId: string, staffId: string, start: Date) =>
  `${tenantId}:${staffId}:${start.toISOString().slice(0, 10)}`;

/** Every lock key a claim of `range` touches (one per UTC day), for claims that may span days. */
export function claimLockKeys(tenantId: string, staffId: string, range: InstantRange): string[] {
  const keys: string[] = [];
  const lastDay = new Date(Math.max(range.start.getTime(), range.end.getTime() - 1)).toISOString().slice(0, 10);
  for (let day = new Date(range.start); ; day = new Date(day.getTime() + 86_400_000)) {
    keys.push(claimLockKey(tenantId, staffId, day));
    if (day.toISOString().slice(0, 10) >= lastDay) return keys;
  }
}

/** A PostgreSQL `text[]` literal, each element quoted. */
export const textArray = (values: string[]) => `{${values.map((value) => `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;

export class DrizzleBookingStore implements BookingStore {
  constructor(private readonly db: Database) {}

  /**
   * Each staff member's claims come back merged (`range_agg`) and as epoch milliseconds:
   * on a day booked solid that is a handful of stretches instead of one row per phase of
   * every appointment, and no range text to parse (measured: decoding was most of the CPU of
   * a check across a fortnight booked solid). Overlap with merged stretches is overlap with
   * one of the claims, so the answer is the same.
   */
  async liveClaims(tenantId: string, staffIds: string[], window: InstantRange, ignoreHoldId?: string | null, ignoreAppointmentId?: string | null): Promise<StaffClaim[]> {
    if (staffIds.length === 0) return [];
    const rows = rowsOf<{ staff_id: string; start_ms: number; end_ms: number }>(
      await this.db.execute(sql`
        SELECT merged.staff_id,
          (extract(epoch FROM lower(merged.stretch)) * 1000)::float8 AS start_ms,
          (extract(epoch FROM upper(merged.stretch)) * 1000)::float8 AS end_ms
        FROM (
          SELECT claim.staff_id, unnest(range_agg(claim.during)) AS stretch
          FROM ${staffClaims} claim
          WHERE claim.tenant_id = ${tenantId} AND claim.staff_id = ANY(${textArray(staffIds)}::text[])
            AND claim.during && ${rangeLiteral(window)}::tstzrange
            -- Appointments and blocks claim until they are removed; a hold only while unexpired.
            -- A subquery, not a join: only a hold's claims look their hold up (a join probed
            -- holds once per claim: 3,777 probes, a fifth of a fortnight's read for 30 staff).
            AND (claim.hold_id IS NULL OR EXISTS (
              SELECT 1 FROM ${holds} hold
              WHERE hold.tenant_id = claim.tenant_id AND hold.id = claim.hold_id AND hold.status = 'held' AND hold.expires_at > now()))
            ${ignoreHoldId ? sql`AND claim.hold_id IS DISTINCT FROM ${ignoreHoldId}::uuid` : sql``}
            ${ignoreAppointmentId ? sql`AND claim.appointment_id IS DISTINCT FROM ${ignoreAppointmentId}::uuid` : sql``}
          GROUP BY claim.staff_id) merged`),
    );
    return rows.map((row) => ({ staffId: row.staff_id, during: { start: new Date(Number(row.start_ms)), end: new Date(Number(row.end_ms)) } }));
  }

  async placeHold(request: HoldRequest): Promise<PlaceHoldResult> {
    let rows: Array<typeof holds.$inferSelect & { replayed: boolean }> | null;
    try {
      // A hold placed by this statement was placed at now(), the transaction's start (as in convertHold).
      rows = await this.claim<typeof holds.$inferSelect & { replayed: boolean }>(sql`
        SELECT *, placed_at < now() AS replayed
        FROM callhold_place_hold(${request.tenantId}, ${request.staffId}, ${request.serviceId},
          ${claimLockKey(request.tenantId, request.staffId, request.span.start)}, ${rangeLiteral(request.span)}::tstzrange,
          ${stretches(request.busy)}::jsonb, ${request.replacesHoldId ?? null}::uuid, ${request.sessionId}::uuid, ${request.callId},
          ${request.ttlMs / 1000}, ${request.maxMs / 1000}, ${request.epoch ?? null}::bigint, ${request.idempotencyKey ?? null})`);
    } catch (error) {
      // The same key placed a hold meanwhile on another connection (the key is looked up before the claim lock): that hold is the answer.
      const earlier = request.idempotencyKey && sqlState(error) === UNIQUE_VIOLATION ? await this.findHoldByKey(request.tenantId, request.idempotencyKey) : null;
      if (!earlier) throw error;
      return { placed: true, hold: earlier, replayed: true };
    }
    return rows ? { placed: true, hold: toHold(rows[0]!), replayed: rows[0]!.replayed } : { placed: false };
  }

  async findHoldByKey(tenantId: string, idempotencyKey: string): Promise<HoldRecord | null> {
    const [row] = await this.db.select().from(holds).where(and(eq(holds.tenantId, tenantId), eq(holds.idempotencyKey, idempotencyKey)));
    return row ? toHold(row) : null;
  }

  async bookDirect(claim: SlotClaim, details: BookingDetails, releasesHoldId?: string | null): Promise<DirectBookingResult> {
    let rows: Array<typeof appointments.$inferSelect> | null;
    try {
      rows = await this.claim<typeof appointments.$inferSelect>(sql`
        SELECT * FROM callhold_book_direct(${claim.tenantId}, ${claim.staffId}, ${claim.serviceId},
          ${claimLockKey(claim.tenantId, claim.staffId, claim.span.start)}, ${rangeLiteral(claim.span)}::tstzrange,
          ${stretches(claim.busy)}::jsonb, ${releasesHoldId ?? null}::uuid, ${details.customerName}, ${details.phone},
          ${details.callId}, ${details.sessionId}::uuid, ${details.idempotencyKey}, ${details.source ?? 'call'}, ${details.epoch ?? null}::bigint)`);
    } catch (error) {
      // The same key booked meanwhile on another connection (another staff member, so no
      // shared lock): that first booking is the answer.
      const earlier = details.idempotencyKey && sqlState(error) === UNIQUE_VIOLATION ? await this.findAppointmentByKey(claim.tenantId, details.idempotencyKey) : null;
      if (!earlier) throw error;
      return { booked: true, appointment: earlier, replayed: true };
    }
    return rows ? { booked: true, appointment: toAppointment(rows[0]!) } : { booked: false };
  }

  async moveAppointment(appointmentId: string, claim: SlotClaim): Promise<MoveAppointmentResult> {
    const rows = await this.claim<typeof appointments.$inferSelect>(sql`
      SELECT * FROM callhold_move_appointment(${claim.tenantId}, ${appointmentId}::uuid, ${claim.staffId},
        ${textArray(claimLockKeys(claim.tenantId, claim.staffId, claim.span))}::text[], ${rangeLiteral(claim.span)}::tstzrange,
        ${stretches(claim.busy)}::jsonb)`);
    if (rows === null) return { moved: false, gone: false };
    return rows[0] ? { moved: true, appointment: toAppointment(rows[0]) } : { moved: false, gone: true };
  }

  async extendHold(tenantId: string, holdId: string, ttlMs: number, fence: SessionFence | null = null): Promise<ExtendHoldResult> {
    const [row] = await this.selectRows<typeof holds.$inferSelect>(sql`
      SELECT * FROM callhold_extend_hold(${tenantId}, ${holdId}::uuid, ${ttlMs / 1000}, ${fence?.sessionId ?? null}::uuid, ${fence?.epoch ?? null}::bigint)`);
    if (row) return { extended: true, hold: toHold(row) };
    return { extended: false, hold: await this.getHold(tenantId, holdId) };
  }

  async expireHold(tenantId: string, holdId: string, fence: SessionFence | null = null): Promise<ExpireHoldResult> {
    const { hold } = await this.endHold(tenantId, holdId, 'expired', fence);
    return hold ? { status: hold.status, hold } : { status: 'expired', hold: null };
  }

  async releaseHold(tenantId: string, holdId: string, fence: SessionFence | null = null): Promise<boolean> {
    return (await this.endHold(tenantId, holdId, 'released', fence)).endedNow;
  }

  async getHold(tenantId: string, holdId: string): Promise<HoldRecord | null> {
    const [row] = await this.db.select().from(holds).where(and(eq(holds.tenantId, tenantId), eq(holds.id, holdId)));
    return row ? toHold(row) : null;
  }

  async convertHold(tenantId: string, holdId: string, details: BookingDetails): Promise<ConvertHoldResult> {
    // now() is the transaction's start, which is also the created_at of an appointment
    // inserted by this very statement: an older one was booked earlier under the same key.
    const rows = await retryTransient(() =>
      this.selectRows<typeof appointments.$inferSelect & { replayed: boolean }>(sql`
        SELECT *, created_at < now() AS replayed
        FROM callhold_convert_hold(${tenantId}, ${holdId}::uuid, ${details.customerName}, ${details.phone}, ${details.callId},
          ${details.sessionId}::uuid, ${details.idempotencyKey}, ${details.epoch ?? null}::bigint)`),
    );
    if (rows[0]) return { booked: true, appointment: toAppointment(rows[0]), replayed: rows[0].replayed };
    return { booked: false, hold: await this.getHold(tenantId, holdId) };
  }

  async findAppointmentByKey(tenantId: string, idempotencyKey: string): Promise<AppointmentRecord | null> {
    const [row] = await this.db
      .select()
      .from(appointments)
      .where(and(eq(appointments.tenantId, tenantId), eq(appointments.idempotencyKey, idempotencyKey)));
    return row ? toAppointment(row) : null;
  }

  async listAppointments(tenantId: string, window: InstantRange): Promise<AppointmentRecord[]> {
    const rows = await this.db
      .select()
      .from(appointments)
      .where(and(eq(appointments.tenantId, tenantId), gte(appointments.startAt, window.start), lt(appointments.startAt, window.end)))
      .orderBy(asc(appointments.startAt), asc(appointments.staffId));
    return rows.map(toAppointment);
  }

  async upcomingAppointments(tenantId: string, phone: string, from: Date): Promise<AppointmentRecord[]> {
    const rows = await this.db
      .select()
      .from(appointments)
      .where(and(eq(appointments.tenantId, tenantId), eq(appointments.phone, phone), eq(appointments.status, 'booked'), gte(appointments.startAt, from)))
      .orderBy(asc(appointments.startAt));
    return rows.map(toAppointment);
  }

  async cancelAppointment(tenantId: string, appointmentId: string, phone: string, fence: SessionFence | null = null): Promise<AppointmentRecord | null> {
    const [row] = await this.selectRows<typeof appointments.$inferSelect>(sql`
      SELECT * FROM callhold_cancel_for_caller(${tenantId}, ${appointmentId}::uuid, ${phone}, ${fence?.sessionId ?? null}::uuid, ${fence?.epoch ?? null}::bigint)`);
    return row ? toAppointment(row) : null;
  }

  async sessionHoldings(tenantId: string, sessionId: string): Promise<{ hold: HoldRecord | null; appointment: AppointmentRecord | null }> {
    const [[hold], [appointment]] = await Promise.all([
      this.db
        .select()
        .from(holds)
        .where(and(eq(holds.tenantId, tenantId), eq(holds.sessionId, sessionId), eq(holds.status, 'held')))
        .orderBy(desc(holds.placedAt))
        .limit(1),
      this.db
        .select()
        .from(appointments)
        .where(and(eq(appointments.tenantId, tenantId), eq(appointments.sessionId, sessionId), eq(appointments.status, 'booked')))
        .orderBy(desc(appointments.createdAt))
        .limit(1),
    ]);
    return { hold: hold ? toHold(hold) : null, appointment: appointment ? toAppointment(appointment) : null };
  }

  async sweepExpiredHolds(): Promise<number> {
    const result = await this.db.execute<{ swept: number }>(sql`
      WITH ended AS (
        UPDATE holds SET status = 'expired', ended_at = now()
        WHERE status = 'held' AND expires_at <= now()
        RETURNING tenant_id, id
      ), freed AS (
        DELETE FROM staff_claims WHERE (tenant_id, hold_id) IN (SELECT tenant_id, id FROM ended) RETURNING 1
      )
      SELECT (SELECT count(*) FROM ended)::int AS swept, (SELECT count(*) FROM freed)::int AS freed`);
    return Number(rowsOf<{ swept: number }>(result)[0]?.swept ?? 0);
  }

  private claim<Row>(statement: SQL): Promise<Row[] | null> {
    return claimRows<Row>(this.db, statement);
  }

  private selectRows<Row>(statement: SQL): Promise<Row[]> {
    return selectRows<Row>(this.db, statement);
  }

  /** Ends a held hold in one statement (`callhold_end_hold`); `endedNow` when this call ended it. */
  private async endHold(tenantId: string, holdId: string, status: 'released' | 'expired', fence: SessionFence | null): Promise<{ hold: HoldRecord | null; endedNow: boolean }> {
    const [row] = await this.selectRows<typeof holds.$inferSelect & { endedNow: boolean }>(sql`
      SELECT *, ended_at IS NOT DISTINCT FROM now() AS ended_now
      FROM callhold_end_hold(${tenantId}, ${holdId}::uuid, ${status}, ${fence?.sessionId ?? null}::uuid, ${fence?.epoch ?? null}::bigint)`);
    return row ? { hold: toHold(row), endedNow: row.endedNow && row.status === status } : { hold: null, endedNow: false };
  }
}

/**
 * The one way time gets claimed: one of the `callhold_*` functions of
 * `drizzle/0002_claim_functions.sql` and `0004_salon_claim_functions.sql`, in one round
 * trip. Null when the exclusion constraint refuses, in which case nothing (not even the
 * release) happened.
 */
export async function claimRows<Row>(db: Database, statement: SQL): Promise<Row[] | null> {
  try {
    return await retryTransient(() => selectRows<Row>(db, statement));
  } catch (error) {
    if (sqlState(error) === EXCLUSION_VIOLATION) return null;
    throw error;
  }
}

/** Rows of a raw statement, in the shape drizzle's own selects give (camelCase keys, instants as Dates). */
export async function selectRows<Row>(db: Database, statement: SQL): Promise<Row[]> {
  let result: unknown;
  try {
    result = await db.execute(statement);
  } catch (error) {
    if (sqlState(error) === SESSION_TAKEN_OVER) throw new BrokerError('TAKEN_OVER', 'another broker instance owns the session now', { cause: error });
    throw error;
  }
  return rowsOf<Record<string, unknown>>(result).map((row) => camelRow(row) as Row);
}

export const stretches = (busy: InstantRange[]) => JSON.stringify(busy.map((stretch) => [stretch.start.toISOString(), stretch.end.toISOString()]));

/** Raw rows come with snake_case keys and, through drizzle's drivers, instants as strings. */
function camelRow(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([key, value]) => [
      key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()),
      key.endsWith('_at') && typeof value === 'string' ? new Date(value) : value,
    ]),
  );
}

/** postgres.js returns the rows array itself; PGlite returns `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : ((result as { rows: T[] }).rows ?? []);
}
