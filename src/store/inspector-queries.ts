/**
 * Read-only queries for the session state inspector: how many sessions a filter matches
 * (for pagination), the life of every hold a session placed, and per-tenant hold
 * statistics. Nothing here writes; the booking and session stores own every change.
 */
import { and, asc, eq, gte, lt, sql } from 'drizzle-orm';
import type { Database } from './database.js';
import { holds, sessions, type HoldStatus } from './schema.js';
import { sessionConditions, type SessionFilter } from './session-store.js';

/** One hold as the inspector shows it: where it stands and when it moved. */
export interface InspectedHold {
  id: string;
  status: HoldStatus;
  serviceId: string;
  staffId: string;
  start: Date;
  end: Date;
  placedAt: Date;
  expiresAt: Date;
  maxExpiresAt: Date;
  endedAt: Date | null;
  extensions: number;
}

/** What became of a tenant's holds. `placed` counts every hold, whatever its status now. */
export interface HoldStatistics {
  tenantId: string;
  placed: number;
  held: number;
  booked: number;
  expired: number;
  lost: number;
  released: number;
}

export interface HoldStatisticsFilter {
  tenantId?: string | undefined;
  placedFrom?: Date | undefined;
  placedBefore?: Date | undefined;
}

const countWhere = (status: HoldStatus) => sql<number>`count(*) filter (where ${holds.status} = ${status})`.mapWith(Number);

export class InspectorQueries {
  constructor(private readonly db: Database) {}

  /** How many sessions `DrizzleSessionStore.listSessions` would return without limit and offset. */
  async countSessions(filter: Omit<SessionFilter, 'limit' | 'offset'>): Promise<number> {
    const [row] = await this.db
      .select({ total: sql<number>`count(*)`.mapWith(Number) })
      .from(sessions)
      .where(sessionConditions(filter));
    return row?.total ?? 0;
  }

  /** Every hold the session placed, oldest first: the hold's life beyond the one held now. */
  async sessionHolds(tenantId: string, sessionId: string): Promise<InspectedHold[]> {
    return this.db
      .select({
        id: holds.id,
        status: holds.status,
        serviceId: holds.serviceId,
        staffId: holds.staffId,
        start: holds.startAt,
        end: holds.endAt,
        placedAt: holds.placedAt,
        expiresAt: holds.expiresAt,
        maxExpiresAt: holds.maxExpiresAt,
        endedAt: holds.endedAt,
        extensions: holds.extensions,
      })
      .from(holds)
      .where(and(eq(holds.tenantId, tenantId), eq(holds.sessionId, sessionId)))
      .orderBy(asc(holds.placedAt), asc(holds.id));
  }

  /** Hold outcomes per tenant, for holds placed in the optional time range. */
  async holdStatistics(filter: HoldStatisticsFilter = {}): Promise<HoldStatistics[]> {
    return this.db
      .select({
        tenantId: holds.tenantId,
        placed: sql<number>`count(*)`.mapWith(Number),
        held: sql<number>`count(*) filter (where ${holds.status} = 'held' and ${holds.expiresAt} > now())`.mapWith(Number),
        booked: countWhere('booked'),
        // A hold past its expiry is expired even before the sweep has written so (the database's clock decides).
        expired: sql<number>`count(*) filter (where ${holds.status} = 'expired' or (${holds.status} = 'held' and ${holds.expiresAt} <= now()))`.mapWith(Number),
        lost: countWhere('lost'),
        released: countWhere('released'),
      })
      .from(holds)
      .where(
        and(
          filter.tenantId ? eq(holds.tenantId, filter.tenantId) : undefined,
          filter.placedFrom ? gte(holds.placedAt, filter.placedFrom) : undefined,
          filter.placedBefore ? lt(holds.placedAt, filter.placedBefore) : undefined,
        ),
      )
      .groupBy(holds.tenantId)
      .orderBy(asc(holds.tenantId));
  }
}
