/**
 * What calendar sync needs from storage (PROTOCOL §7): the tenant's settings, the outbox
 * the appointment changes are written to, links to the external bookings, conflicts.
 * The drizzle implementation is `src/store/calendar-store.ts`.
 */
import type { CalendarSettings } from './calendar-settings.js';
import type { OutboxType } from '../store/schema.js';

export type { OutboxType };

/** The appointment as the change left it. */
export interface OutboxAppointment {
  id: string;
  serviceId: string;
  staffId: string;
  start: Date;
  end: Date;
  customerName: string;
  phone: string | null;
  source: string;
  status: 'booked' | 'cancelled';
}

/** For `hold.*` changes: the caller's hold as the change left it. */
export interface OutboxHold {
  id: string;
  serviceId: string;
  start: Date;
  end: Date;
  /** The latest the hold can live (`max_expires_at`). */
  until: Date;
}

/** One change claimed for delivery. `attempts` counts this attempt. */
export interface OutboxRow {
  id: string;
  seq: number;
  tenantId: string;
  timezone: string;
  type: OutboxType;
  /** For `appointment.*` changes; for `hold.*` ones it carries only what a hold has. */
  appointment: OutboxAppointment;
  hold: OutboxHold | null;
  occurredAt: Date;
  attempts: number;
}

export interface SyncStatus {
  pending: number;
  delivered: number;
  failing: number;
  lastError: { at: Date; message: string } | null;
  conflicts: CalendarConflict[];
}

export interface CalendarConflict {
  externalId: string;
  staffId: string | null;
  start: Date;
  end: Date;
  appointmentId: string | null;
}

export interface CalendarLink {
  appointmentId: string;
  externalUid: string;
  start: Date;
}

/** An outbox row's key: rows are keyed by (tenant, id) (drizzle/0012). */
export type OutboxKey = Pick<OutboxRow, 'tenantId' | 'id'>;

/** Rows of one tenant are named by (tenant, id), their key, wherever a tenant is known. */
export interface CalendarStore {
  getCalendar(tenantId: string): Promise<CalendarSettings | null>;
  /** Tenants whose calendar of record is Cal.com (for reconciliation). */
  calcomTenants(): Promise<string[]>;
  putCalendar(tenantId: string, settings: CalendarSettings): Promise<void>;
  /** Removes the settings and discards the changes not yet delivered, in one transaction. */
  deleteCalendar(tenantId: string): Promise<boolean>;
  /**
   * Leases up to `limit` due changes, at most one per appointment and only the oldest
   * undelivered one of it (order per appointment), skipping rows other workers hold.
   */
  claimDue(limit: number, leaseMs: number): Promise<OutboxRow[]>;
  markDelivered(row: OutboxKey): Promise<void>;
  markFailed(row: OutboxKey, message: string, retryInMs: number): Promise<void>;
  markDiscarded(row: OutboxKey, reason: string): Promise<void>;
  /** Gives leased rows back (a stopping worker), so the next worker need not wait out the lease. */
  releaseLeases(rows: OutboxKey[]): Promise<void>;
  /** Milliseconds (by the database clock) until the next change falls due; null when none waits. */
  msUntilNextDue(): Promise<number | null>;
  syncStatus(tenantId: string): Promise<SyncStatus>;
  /** Deletes changes delivered or discarded more than `olderThanMs` ago; returns how many. */
  pruneSettled(olderThanMs: number): Promise<number>;
  getLink(tenantId: string, appointmentId: string): Promise<CalendarLink | null>;
  findLinkByUid(tenantId: string, externalUid: string): Promise<CalendarLink | null>;
  putLink(tenantId: string, link: CalendarLink): Promise<void>;
  deleteLink(tenantId: string, appointmentId: string): Promise<void>;
  getReservation(tenantId: string, holdId: string): Promise<string | null>;
  putReservation(tenantId: string, holdId: string, reservationUid: string): Promise<void>;
  deleteReservation(tenantId: string, holdId: string): Promise<void>;
  /** Whether the hold is still held and unexpired by the database clock. */
  holdIsLive(tenantId: string, holdId: string): Promise<boolean>;
  putConflict(tenantId: string, conflict: CalendarConflict): Promise<void>;
  deleteConflict(tenantId: string, externalId: string): Promise<boolean>;
}
