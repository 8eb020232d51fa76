/**
 * Holds, appointments and the staff claims behind them, on drizzle.
 *
 * Every invariant is kept by the database: the exclusion constraint refuses overlapping
 * claims, hold expiry is compared with the database's `now()`, and every state change of
 * a hold is a compare-and-swap on its status. Claim transactions first take an advisory
 * lock per staff member, which keeps many callers on one slot from deadlocking on the
 * exclusion constraint (STACK.md); the constraint stays the guarantee.
 */
import { and, asc, desc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
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
  PlaceHoldResult,
  SlotClaim,
  StaffClaim,
} from '../booking/ports.js';
import type { Database } from './database.js';
import { EXCLUSION_VIOLATION, retryTransient, sqlState } from './postgres-errors.js';
import { appointments, customers, holds, staffClaims } from './schema.js';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
type Executor = Database | Transaction;

const rangeLiteral = (range: InstantRange) => `[${range.start.toISOString()},${range.end.toISOString()})`;
const interval = (ms: number) => sql`make_interval(secs => ${ms / 1000})`;

function toHold(row: typeof holds.$inferSelect): HoldRecord {
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

function toAppointment(row: typeof appointments.$inferSelect): AppointmentRecord {
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

export class DrizzleBookingStore implements BookingStore {
  constructor(private readonly db: Database) {}

  async liveClaims(tenantId: string, staffIds: string[], window: InstantRange, ignoreHoldId?: string | null): Promise<StaffClaim[]> {
    if (staffIds.length === 0) return [];
    const rows = await this.db
      .select({ staffId: staffClaims.staffId, during: staffClaims.during })
      .from(staffClaims)
      .leftJoin(holds, eq(holds.id, staffClaims.holdId))
      .where(
        and(
          eq(staffClaims.tenantId, tenantId),
          inArray(staffClaims.staffId, staffIds),
          sql`${staffClaims.during} && ${rangeLiteral(window)}::tstzrange`,
          sql`(${staffClaims.appointmentId} IS NOT NULL OR (${holds.status} = 'held' AND ${holds.expiresAt} > now()))`,
          ignoreHoldId ? sql`${staffClaims.holdId} IS DISTINCT FROM ${ignoreHoldId}` : undefined,
        ),
      );
    return rows;
  }

  placeHold(request: HoldRequest): Promise<PlaceHoldResult> {
    return this.claim(request, request.replacesHoldId ?? null, async (tx) => {
      const [row] = await tx
        .insert(holds)
        .values({
          tenantId: request.tenantId,
          sessionId: request.sessionId,
          callId: request.callId,
          staffId: request.staffId,
          serviceId: request.serviceId,
          startAt: request.span.start,
          endAt: request.span.end,
          status: 'held',
          expiresAt: sql`now() + ${interval(request.ttlMs)}`,
          maxExpiresAt: sql`now() + ${interval(request.maxMs)}`,
        })
        .returning();
      const hold = toHold(row!);
      return { owner: { holdId: hold.id }, result: { placed: true as const, hold } };
    }).then((outcome) => outcome ?? { placed: false });
  }

  async bookDirect(claim: SlotClaim, details: BookingDetails, releasesHoldId?: string | null): Promise<DirectBookingResult> {
    const outcome = await this.claim(claim, releasesHoldId ?? null, async (tx) => {
      const appointment = await this.insertAppointment(tx, claim, details, null);
      return { owner: { appointmentId: appointment.id }, result: { booked: true as const, appointment } };
    });
    return outcome ?? { booked: false };
  }

  async extendHold(holdId: string, ttlMs: number): Promise<ExtendHoldResult> {
    const [row] = await this.db
      .update(holds)
      .set({
        expiresAt: sql`least(now() + ${interval(ttlMs)}, ${holds.maxExpiresAt})`,
        extensions: sql`${holds.extensions} + 1`,
      })
      .where(and(eq(holds.id, holdId), eq(holds.status, 'held'), sql`${holds.expiresAt} > now()`))
      .returning();
    if (row) return { extended: true, hold: toHold(row) };
    return { extended: false, hold: await this.getHold(holdId) };
  }

  expireHold(holdId: string): Promise<ExpireHoldResult> {
    return this.db.transaction(async (tx) => {
      const [ended] = await tx
        .update(holds)
        .set({ status: 'expired', endedAt: sql`now()` })
        .where(and(eq(holds.id, holdId), eq(holds.status, 'held'), sql`${holds.expiresAt} <= now()`))
        .returning();
      if (ended) {
        await tx.delete(staffClaims).where(eq(staffClaims.holdId, holdId));
        return { status: 'expired' as const, hold: toHold(ended) };
      }
      const [current] = await tx.select().from(holds).where(eq(holds.id, holdId));
      return current ? { status: current.status, hold: toHold(current) } : { status: 'expired' as const, hold: null };
    });
  }

  releaseHold(holdId: string): Promise<boolean> {
    return this.db.transaction((tx) => this.endHold(tx, holdId, 'released'));
  }

  async getHold(holdId: string): Promise<HoldRecord | null> {
    const [row] = await this.db.select().from(holds).where(eq(holds.id, holdId));
    return row ? toHold(row) : null;
  }

  async convertHold(holdId: string, details: BookingDetails): Promise<ConvertHoldResult> {
    return retryTransient(() =>
      this.db.transaction(async (tx) => {
        const [held] = await tx
          .update(holds)
          .set({ status: 'booked', endedAt: sql`now()` })
          .where(and(eq(holds.id, holdId), eq(holds.status, 'held'), sql`${holds.expiresAt} > now()`))
          .returning();
        if (!held) {
          const [current] = await tx.select().from(holds).where(eq(holds.id, holdId));
          return { booked: false as const, hold: current ? toHold(current) : null };
        }
        const slot = { tenantId: held.tenantId, staffId: held.staffId, serviceId: held.serviceId, span: { start: held.startAt, end: held.endAt } };
        const appointment = await this.insertAppointment(tx, slot, details, held.id);
        await tx.update(staffClaims).set({ holdId: null, appointmentId: appointment.id }).where(eq(staffClaims.holdId, held.id));
        return { booked: true as const, appointment };
      }),
    );
  }

  async findAppointmentByKey(idempotencyKey: string): Promise<AppointmentRecord | null> {
    const [row] = await this.db.select().from(appointments).where(eq(appointments.idempotencyKey, idempotencyKey));
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

  cancelAppointment(tenantId: string, appointmentId: string, phone: string): Promise<AppointmentRecord | null> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .update(appointments)
        .set({ status: 'cancelled', cancelledAt: sql`now()` })
        .where(and(eq(appointments.id, appointmentId), eq(appointments.tenantId, tenantId), eq(appointments.phone, phone), eq(appointments.status, 'booked')))
        .returning();
      if (!row) return null;
      await tx.delete(staffClaims).where(eq(staffClaims.appointmentId, appointmentId));
      return toAppointment(row);
    });
  }

  async sessionHoldings(sessionId: string): Promise<{ hold: HoldRecord | null; appointment: AppointmentRecord | null }> {
    const [[hold], [appointment]] = await Promise.all([
      this.db.select().from(holds).where(and(eq(holds.sessionId, sessionId), eq(holds.status, 'held'))).orderBy(desc(holds.placedAt)).limit(1),
      this.db
        .select()
        .from(appointments)
        .where(and(eq(appointments.sessionId, sessionId), eq(appointments.status, 'booked')))
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
        RETURNING id
      ), freed AS (
        DELETE FROM staff_claims WHERE hold_id IN (SELECT id FROM ended) RETURNING 1
      )
      SELECT (SELECT count(*) FROM ended)::int AS swept, (SELECT count(*) FROM freed)::int AS freed`);
    return Number(rowsOf<{ swept: number }>(result)[0]?.swept ?? 0);
  }

  /**
   * The one way time gets claimed: lock the staff member's day, release the session's earlier
   * hold, reclaim expired holds in the way, create the owner row, insert its busy stretches.
   * Returns null when the constraint refuses, in which case nothing (not even the release) happened.
   */
  private async claim<T>(
    slot: SlotClaim,
    releasesHoldId: string | null,
    createOwner: (tx: Transaction) => Promise<{ owner: { holdId: string } | { appointmentId: string }; result: T }>,
  ): Promise<T | null> {
    try {
      return await retryTransient(() =>
        this.db.transaction(async (tx) => {
          await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${claimLockKey(slot.tenantId, slot.staffId, slot.span.start)}))`);
          if (releasesHoldId) await this.endHold(tx, releasesHoldId, 'released');
          await this.reclaimExpired(tx, slot);
          const { owner, result } = await createOwner(tx);
          await tx.insert(staffClaims).values(
            slot.busy.map((during) => ({ tenantId: slot.tenantId, staffId: slot.staffId, during, holdId: null, appointmentId: null, ...owner })),
          );
          return result;
        }),
      );
    } catch (error) {
      if (sqlState(error) === EXCLUSION_VIOLATION) return null;
      throw error;
    }
  }

  /** Expired holds in the way of a new claim end as `lost`: someone else now has their time. */
  private async reclaimExpired(tx: Transaction, slot: SlotClaim): Promise<void> {
    await tx.execute(sql`
      WITH lost AS (
        UPDATE holds SET status = 'lost', ended_at = now()
        WHERE status = 'held' AND expires_at <= now() AND id IN (
          SELECT hold_id FROM staff_claims
          WHERE tenant_id = ${slot.tenantId} AND staff_id = ${slot.staffId} AND hold_id IS NOT NULL
            AND during && ${rangeLiteral(slot.span)}::tstzrange)
        RETURNING id)
      DELETE FROM staff_claims WHERE hold_id IN (SELECT id FROM lost)`);
  }

  private async endHold(tx: Executor, holdId: string, status: 'released'): Promise<boolean> {
    const ended = await tx
      .update(holds)
      .set({ status, endedAt: sql`now()` })
      .where(and(eq(holds.id, holdId), eq(holds.status, 'held')))
      .returning({ id: holds.id });
    if (ended.length === 0) return false;
    await tx.delete(staffClaims).where(eq(staffClaims.holdId, holdId));
    return true;
  }

  private async insertAppointment(tx: Transaction, slot: Omit<SlotClaim, 'busy'>, details: BookingDetails, holdId: string | null): Promise<AppointmentRecord> {
    const [row] = await tx
      .insert(appointments)
      .values({
        tenantId: slot.tenantId,
        staffId: slot.staffId,
        serviceId: slot.serviceId,
        startAt: slot.span.start,
        endAt: slot.span.end,
        customerName: details.customerName,
        phone: details.phone,
        callId: details.callId,
        sessionId: details.sessionId,
        holdId,
        idempotencyKey: details.idempotencyKey,
      })
      .returning();
    if (details.phone) {
      await tx
        .insert(customers)
        .values({ tenantId: slot.tenantId, phone: details.phone, name: details.customerName })
        .onConflictDoUpdate({ target: [customers.tenantId, customers.phone], set: { name: details.customerName } });
    }
    return toAppointment(row!);
  }
}

/** postgres.js returns the rows array itself; PGlite returns `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : ((result as { rows: T[] }).rows ?? []);
}
