/**
 * Calendar sync's storage (PROTOCOL §7) on drizzle. The outbox rows themselves are
 * written by the database, in the transaction of each appointment change
 * (drizzle/0006_calendar_outbox_trigger.sql); here they are leased, marked and counted.
 * Workers lease rows with `FOR UPDATE SKIP LOCKED` and deliver outside any transaction,
 * so a slow receiver never holds a lock or (on PGlite, one connection) the database.
 */
import { and, asc, desc, eq, isNotNull, sql } from 'drizzle-orm';
import type { CalendarSettings } from '../sync/calendar-settings.js';
import type { CalendarConflict, CalendarLink, CalendarStore, OutboxAppointment, OutboxHold, OutboxKey, OutboxRow, OutboxType, SyncStatus } from '../sync/ports.js';
import { rowsOf, selectRows } from './booking-store.js';
import type { Database } from './database.js';
import { calendarConflicts, calendarIntegrations, calendarLinks, calendarOutbox, calendarReservations, holds } from './schema.js';

const seconds = (ms: number) => sql`make_interval(secs => ${ms / 1000})`;
const undelivered = sql`delivered_at IS NULL AND discarded_at IS NULL`;
const outboxRow = (row: OutboxKey) => and(eq(calendarOutbox.tenantId, row.tenantId), eq(calendarOutbox.id, row.id));

const jsonRow = (raw: unknown) => (typeof raw === 'string' ? JSON.parse(raw) : raw) as Record<string, unknown>;

function toOutboxHold(raw: unknown): OutboxHold {
  const row = jsonRow(raw);
  return {
    id: String(row.id),
    serviceId: String(row.service_id),
    start: new Date(String(row.start_at)),
    end: new Date(String(row.end_at)),
    until: new Date(String(row.max_expires_at)),
  };
}

function toOutboxAppointment(raw: unknown): OutboxAppointment {
  const row = jsonRow(raw);
  return {
    id: String(row.id),
    serviceId: String(row.service_id),
    staffId: String(row.staff_id),
    start: new Date(String(row.start_at)),
    end: new Date(String(row.end_at)),
    customerName: String(row.customer_name ?? ''),
    phone: (row.phone as string | null) ?? null,
    source: String(row.source ?? 'call'),
    status: row.status === 'cancelled' ? 'cancelled' : 'booked',
  };
}

export class DrizzleCalendarStore implements CalendarStore {
  constructor(private readonly db: Database) {}

  async getCalendar(tenantId: string): Promise<CalendarSettings | null> {
    const [row] = await this.db.select().from(calendarIntegrations).where(eq(calendarIntegrations.tenantId, tenantId));
    return row ? ({ ...row.settings, kind: row.kind } as CalendarSettings) : null;
  }

  async calcomTenants(): Promise<string[]> {
    const rows = await this.db.select({ tenantId: calendarIntegrations.tenantId }).from(calendarIntegrations).where(eq(calendarIntegrations.kind, 'calcom'));
    return rows.map((row) => row.tenantId);
  }

  async putCalendar(tenantId: string, settings: CalendarSettings): Promise<void> {
    await this.db
      .insert(calendarIntegrations)
      .values({ tenantId, kind: settings.kind, settings })
      .onConflictDoUpdate({ target: calendarIntegrations.tenantId, set: { kind: settings.kind, settings, updatedAt: sql`now()` } });
  }

  deleteCalendar(tenantId: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const removed = await tx.delete(calendarIntegrations).where(eq(calendarIntegrations.tenantId, tenantId)).returning({ tenantId: calendarIntegrations.tenantId });
      await tx
        .update(calendarOutbox)
        .set({ discardedAt: sql`now()`, lastError: 'calendar removed before delivery', lastErrorAt: sql`now()` })
        .where(and(eq(calendarOutbox.tenantId, tenantId), sql`${undelivered}`));
      return removed.length > 0;
    });
  }

  async claimDue(limit: number, leaseMs: number): Promise<OutboxRow[]> {
    // Only the oldest undelivered change of an appointment is eligible: the next waits
    // until it is delivered. A row another worker has locked is skipped, and so is every
    // later change of its appointment (the older one is still undelivered).
    const rows = await selectRows<{
      id: string; seq: string | number; tenantId: string; type: OutboxType; appointment: unknown; occurredAt: Date; attempts: number; timezone: string | null;
    }>(this.db, sql`
      UPDATE calendar_outbox o SET leased_until = now() + ${seconds(leaseMs)}, attempts = o.attempts + 1
      WHERE (o.tenant_id, o.id) IN (
        SELECT c.tenant_id, c.id FROM calendar_outbox c
        WHERE c.delivered_at IS NULL AND c.discarded_at IS NULL AND c.next_attempt_at <= now()
          AND (c.leased_until IS NULL OR c.leased_until <= now())
          AND NOT EXISTS (
            SELECT 1 FROM calendar_outbox e
            WHERE e.tenant_id = c.tenant_id AND e.subject_id = c.subject_id AND e.seq < c.seq AND e.delivered_at IS NULL AND e.discarded_at IS NULL)
        ORDER BY c.seq
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING o.id, o.seq, o.tenant_id, o.type, o.appointment, o.occurred_at, o.attempts,
        (SELECT t.timezone FROM tenants t WHERE t.id = o.tenant_id) AS timezone`);
    return rows
      .map((row) => ({
        id: row.id,
        seq: Number(row.seq),
        tenantId: row.tenantId,
        timezone: row.timezone ?? 'UTC',
        type: row.type,
        appointment: toOutboxAppointment(row.appointment),
        hold: row.type.startsWith('hold.') ? toOutboxHold(row.appointment) : null,
        occurredAt: row.occurredAt,
        attempts: row.attempts,
      }))
      .sort((a, b) => a.seq - b.seq);
  }

  async markDelivered(row: OutboxKey): Promise<void> {
    await this.db.update(calendarOutbox).set({ deliveredAt: sql`coalesce(${calendarOutbox.deliveredAt}, now())`, leasedUntil: null }).where(outboxRow(row));
  }

  async markFailed(row: OutboxKey, message: string, retryInMs: number): Promise<void> {
    await this.db
      .update(calendarOutbox)
      .set({ lastError: message.slice(0, 1000), lastErrorAt: sql`now()`, nextAttemptAt: sql`now() + ${seconds(retryInMs)}`, leasedUntil: null })
      .where(and(outboxRow(row), sql`${undelivered}`));
  }

  async markDiscarded(row: OutboxKey, reason: string): Promise<void> {
    await this.db
      .update(calendarOutbox)
      .set({ discardedAt: sql`now()`, lastError: reason, lastErrorAt: sql`now()`, leasedUntil: null })
      .where(and(outboxRow(row), sql`${undelivered}`));
  }

  async releaseLeases(rows: OutboxKey[]): Promise<void> {
    if (rows.length === 0) return;
    const keys = JSON.stringify(rows.map(({ tenantId, id }) => ({ tenant_id: tenantId, id })));
    await this.db.execute(sql`
      UPDATE calendar_outbox o SET leased_until = NULL
      FROM jsonb_to_recordset(${keys}::jsonb) AS released(tenant_id text, id uuid)
      WHERE o.tenant_id = released.tenant_id AND o.id = released.id AND ${undelivered}`);
  }

  async msUntilNextDue(): Promise<number | null> {
    const result = await this.db.execute(sql`
      SELECT (EXTRACT(EPOCH FROM (min(greatest(next_attempt_at, coalesce(leased_until, next_attempt_at))) - now())) * 1000)::float8 AS ms
      FROM calendar_outbox WHERE ${undelivered}`);
    const ms = rowsOf<{ ms: number | string | null }>(result)[0]?.ms;
    return ms === null || ms === undefined ? null : Math.max(0, Number(ms));
  }

  async pruneSettled(olderThanMs: number): Promise<number> {
    const pruned = await this.db
      .delete(calendarOutbox)
      .where(sql`coalesce(${calendarOutbox.deliveredAt}, ${calendarOutbox.discardedAt}) <= now() - ${seconds(olderThanMs)}`)
      .returning({ id: calendarOutbox.id });
    return pruned.length;
  }

  async syncStatus(tenantId: string): Promise<SyncStatus> {
    const [counts] = await this.db
      .select({
        pending: sql<number>`count(*) FILTER (WHERE ${undelivered})::int`,
        delivered: sql<number>`count(*) FILTER (WHERE delivered_at IS NOT NULL)::int`,
        failing: sql<number>`count(*) FILTER (WHERE ${undelivered} AND last_error_at IS NOT NULL)::int`,
      })
      .from(calendarOutbox)
      .where(eq(calendarOutbox.tenantId, tenantId));
    const [lastError] = await this.db
      .select({ at: calendarOutbox.lastErrorAt, message: calendarOutbox.lastError })
      .from(calendarOutbox)
      .where(and(eq(calendarOutbox.tenantId, tenantId), isNotNull(calendarOutbox.lastErrorAt)))
      .orderBy(desc(calendarOutbox.lastErrorAt))
      .limit(1);
    const conflicts = await this.db
      .select()
      .from(calendarConflicts)
      .where(eq(calendarConflicts.tenantId, tenantId))
      .orderBy(asc(calendarConflicts.startAt), asc(calendarConflicts.externalId));
    return {
      pending: Number(counts?.pending ?? 0),
      delivered: Number(counts?.delivered ?? 0),
      failing: Number(counts?.failing ?? 0),
      lastError: lastError?.at ? { at: lastError.at, message: lastError.message ?? '' } : null,
      conflicts: conflicts.map((row) => ({ externalId: row.externalId, staffId: row.staffId, start: row.startAt, end: row.endAt, appointmentId: row.appointmentId })),
    };
  }

  async getLink(tenantId: string, appointmentId: string): Promise<CalendarLink | null> {
    const [row] = await this.db.select().from(calendarLinks).where(and(eq(calendarLinks.tenantId, tenantId), eq(calendarLinks.appointmentId, appointmentId)));
    return row ? { appointmentId: row.appointmentId, externalUid: row.externalUid, start: row.startAt } : null;
  }

  async findLinkByUid(tenantId: string, externalUid: string): Promise<CalendarLink | null> {
    const [row] = await this.db.select().from(calendarLinks).where(and(eq(calendarLinks.tenantId, tenantId), eq(calendarLinks.externalUid, externalUid)));
    return row ? { appointmentId: row.appointmentId, externalUid: row.externalUid, start: row.startAt } : null;
  }

  async putLink(tenantId: string, link: CalendarLink): Promise<void> {
    await this.db
      .insert(calendarLinks)
      .values({ tenantId, appointmentId: link.appointmentId, externalUid: link.externalUid, startAt: link.start })
      .onConflictDoUpdate({ target: [calendarLinks.tenantId, calendarLinks.appointmentId], set: { externalUid: link.externalUid, startAt: link.start } });
  }

  async deleteLink(tenantId: string, appointmentId: string): Promise<void> {
    await this.db.delete(calendarLinks).where(and(eq(calendarLinks.tenantId, tenantId), eq(calendarLinks.appointmentId, appointmentId)));
  }

  async getReservation(tenantId: string, holdId: string): Promise<string | null> {
    const [row] = await this.db
      .select()
      .from(calendarReservations)
      .where(and(eq(calendarReservations.tenantId, tenantId), eq(calendarReservations.holdId, holdId)));
    return row?.reservationUid ?? null;
  }

  async putReservation(tenantId: string, holdId: string, reservationUid: string): Promise<void> {
    await this.db
      .insert(calendarReservations)
      .values({ tenantId, holdId, reservationUid })
      .onConflictDoUpdate({ target: [calendarReservations.tenantId, calendarReservations.holdId], set: { reservationUid } });
  }

  async deleteReservation(tenantId: string, holdId: string): Promise<void> {
    await this.db.delete(calendarReservations).where(and(eq(calendarReservations.tenantId, tenantId), eq(calendarReservations.holdId, holdId)));
  }

  async holdIsLive(tenantId: string, holdId: string): Promise<boolean> {
    const [row] = await this.db
      .select({ id: holds.id })
      .from(holds)
      .where(and(eq(holds.tenantId, tenantId), eq(holds.id, holdId), eq(holds.status, 'held'), sql`${holds.expiresAt} > now()`));
    return row !== undefined;
  }

  async putConflict(tenantId: string, conflict: CalendarConflict): Promise<void> {
    const values = { staffId: conflict.staffId, startAt: conflict.start, endAt: conflict.end, appointmentId: conflict.appointmentId };
    await this.db
      .insert(calendarConflicts)
      .values({ tenantId, externalId: conflict.externalId, ...values })
      .onConflictDoUpdate({ target: [calendarConflicts.tenantId, calendarConflicts.externalId], set: values });
  }

  async deleteConflict(tenantId: string, externalId: string): Promise<boolean> {
    const removed = await this.db
      .delete(calendarConflicts)
      .where(and(eq(calendarConflicts.tenantId, tenantId), eq(calendarConflicts.externalId, externalId)))
      .returning({ id: calendarConflicts.externalId });
    return removed.length > 0;
  }
}
