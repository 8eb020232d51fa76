/**
 * What the booking domain needs from storage. The drizzle implementation lives in
 * `src/store/`; tests run the same contract against PGlite and PostgreSQL.
 */
import type { Catalog, Customer } from './catalog.js';

/** A half-open `[start, end)` range of instants (PostgreSQL `tstzrange` in storage). */
export interface InstantRange {
  start: Date;
  end: Date;
}

export const holdStatuses = ['held', 'released', 'expired', 'lost', 'booked'] as const;
export type HoldStatus = (typeof holdStatuses)[number];
export const appointmentSources = ['call', 'front_desk', 'calendar'] as const;
export type AppointmentSource = (typeof appointmentSources)[number];
export const blockSources = ['front_desk', 'calendar'] as const;
export type BlockSource = (typeof blockSources)[number];


/**
 * The ownership a live call's session is written under (PROTOCOL §3): its id and the
 * epoch this broker instance holds. Storage checks the epoch in the write's own statement
 * and refuses with `TAKEN_OVER` once another instance has taken the session over. Writes
 * without a fence (the front desk, the calendar) belong to no session.
 */
export interface SessionFence {
  /** The session's tenant: every row of a call is keyed by (tenant, id) (drizzle/0012). */
  tenantId: string;
  sessionId: string;
  epoch: number;
}

export interface HoldRecord {
  id: string;
  tenantId: string;
  sessionId: string | null;
  staffId: string;
  serviceId: string;
  start: Date;
  end: Date;
  status: HoldStatus;
  placedAt: Date;
  expiresAt: Date;
  maxExpiresAt: Date;
}

export interface AppointmentRecord {
  id: string;
  tenantId: string;
  staffId: string;
  serviceId: string;
  start: Date;
  end: Date;
  customerName: string;
  phone: string | null;
  callId: string | null;
  /** The hold this appointment was converted from; null for a direct booking. */
  holdId: string | null;
  status: 'booked' | 'cancelled';
  source: AppointmentSource;
}

/** A live claim on a staff member's time: a booked appointment, an unexpired hold or a block. */
export interface StaffClaim {
  staffId: string;
  during: InstantRange;
}

/** Where a slot lands: which staff member, the whole service span, and the busy stretches it claims. */
export interface SlotClaim {
  tenantId: string;
  staffId: string;
  serviceId: string;
  span: InstantRange;
  busy: InstantRange[];
}

export interface HoldRequest extends SlotClaim {
  sessionId: string | null;
  callId: string | null;
  ttlMs: number;
  maxMs: number;
  /** The ownership epoch of `sessionId` this hold is placed under (see `SessionFence`). */
  epoch?: number | null;
  /** Released in the same transaction, and only if the new hold is placed. */
  replacesHoldId?: string | null;
  /** Who asks (a tool call): the same key again returns the hold placed under it, whatever became of it, and places nothing. */
  idempotencyKey?: string | null;
}

export interface BookingDetails {
  customerName: string;
  phone: string | null;
  callId: string | null;
  sessionId: string | null;
  /** A retried request with the same key returns the first appointment. */
  idempotencyKey: string | null;
  /** The ownership epoch of `sessionId` this booking is made under (see `SessionFence`). */
  epoch?: number | null;
  /** Who books; a call when not said. */
  source?: AppointmentSource;
}

/** `replayed`: the idempotency key had placed this hold already, nothing was claimed now. */
export type PlaceHoldResult = { placed: true; hold: HoldRecord; replayed: boolean } | { placed: false };
export type ExtendHoldResult = { extended: true; hold: HoldRecord } | { extended: false; hold: HoldRecord | null };
export type ConvertHoldResult =
  /** `replayed`: the key had already booked this appointment, nothing was converted now. */
  | { booked: true; appointment: AppointmentRecord; replayed: boolean }
  | { booked: false; hold: HoldRecord | null };
/** `replayed`: the idempotency key had booked this appointment already. */
export type DirectBookingResult = { booked: true; appointment: AppointmentRecord; replayed?: boolean } | { booked: false };
/** `gone`: the appointment is not booked (unknown or cancelled), so nothing could move. */
export type MoveAppointmentResult = { moved: true; appointment: AppointmentRecord } | { moved: false; gone: boolean };
/** `held` means the database clock has not reached the deadline yet. */
export type ExpireHoldResult = { status: HoldStatus; hold: HoldRecord | null };

export interface CatalogStore {
  /** Replaces the tenant's catalog; appointments and their staff/service rows are kept. */
  putCatalog(catalog: Catalog, customers: Customer[]): Promise<void>;
  loadCatalog(tenantId: string): Promise<Catalog | null>;
  /** Changes whenever the catalog is replaced; null for an unknown tenant. */
  catalogVersion(tenantId: string): Promise<string | null>;
  tenantExists(tenantId: string): Promise<boolean>;
  addRuntimeToken(tenantId: string, tokenHash: string): Promise<void>;
  tenantForToken(tokenHash: string): Promise<string | null>;
  findCustomer(tenantId: string, phone: string): Promise<Customer | null>;
}

/**
 * Every method names the tenant of the rows it touches, also where an id alone would
 * find them: keys are (tenant, id), so a lookup uses the primary key and stays on one
 * tenant's shard when the schema is distributed by tenant (drizzle/0012).
 */
export interface BookingStore {
  /** Claims that overlap `window`; a hold or appointment being replaced can be left out. */
  liveClaims(tenantId: string, staffIds: string[], window: InstantRange, ignoreHoldId?: string | null, ignoreAppointmentId?: string | null): Promise<StaffClaim[]>;
  placeHold(request: HoldRequest): Promise<PlaceHoldResult>;
  /** `fence`: the session the hold is extended for, when it is a live call's (see `SessionFence`); likewise below. */
  extendHold(tenantId: string, holdId: string, ttlMs: number, fence?: SessionFence | null): Promise<ExtendHoldResult>;
  /** Ends a hold whose deadline has passed (by the database clock). */
  expireHold(tenantId: string, holdId: string, fence?: SessionFence | null): Promise<ExpireHoldResult>;
  releaseHold(tenantId: string, holdId: string, fence?: SessionFence | null): Promise<boolean>;
  convertHold(tenantId: string, holdId: string, details: BookingDetails): Promise<ConvertHoldResult>;
  /** Claims and books in one transaction, releasing `releasesHoldId` only on success. */
  bookDirect(claim: SlotClaim, details: BookingDetails, releasesHoldId?: string | null): Promise<DirectBookingResult>;
  /**
   * Moves a booked appointment to `claim` in one transaction: its old claims are kept
   * unless the new ones are placed.
   */
  moveAppointment(appointmentId: string, claim: SlotClaim): Promise<MoveAppointmentResult>;
  /** Idempotency keys are the tenant's own: the same key in another tenant is another booking. */
  findAppointmentByKey(tenantId: string, idempotencyKey: string): Promise<AppointmentRecord | null>;
  /** The hold placed under `idempotencyKey` (a tool call), whatever its status now; null when there is none. */
  findHoldByKey(tenantId: string, idempotencyKey: string): Promise<HoldRecord | null>;
  listAppointments(tenantId: string, window: InstantRange): Promise<AppointmentRecord[]>;
  upcomingAppointments(tenantId: string, phone: string, from: Date): Promise<AppointmentRecord[]>;
  /** Cancels only an appointment booked under `phone`; null when there is none. */
  cancelAppointment(tenantId: string, appointmentId: string, phone: string, fence?: SessionFence | null): Promise<AppointmentRecord | null>;
  /** What a session holds according to storage: its hold still `held`, its latest booked appointment. */
  sessionHoldings(tenantId: string, sessionId: string): Promise<{ hold: HoldRecord | null; appointment: AppointmentRecord | null }>;
  /** Expires every hold past its deadline; the backstop behind each session's own timer. */
  sweepExpiredHolds(): Promise<number>;
}

export interface BlockRecord {
  id: string;
  tenantId: string;
  staffId: string;
  start: Date;
  end: Date;
  reason: string | null;
  source: BlockSource;
}

/** What a refused claim ran into: the owners of the live claims overlapping it. */
export interface ClaimConflicts {
  appointments: AppointmentRecord[];
  holds: HoldRecord[];
  blocks: BlockRecord[];
}

export type PutBlockResult = { stored: true; block: BlockRecord } | { stored: false; conflicts: ClaimConflicts };

/** The salon's own writes and reads (PROTOCOL §7): appointments by id, blocks, the day. */
export interface SalonStore {
  getAppointment(tenantId: string, appointmentId: string): Promise<AppointmentRecord | null>;
  /**
   * Cancels a booked appointment whoever booked it. `changed` is false when it was
   * cancelled already; null when there is no such appointment.
   */
  cancelAppointment(tenantId: string, appointmentId: string): Promise<{ appointment: AppointmentRecord; changed: boolean } | null>;
  /** Places or moves the block `block.id` in one transaction; nothing is stored on a clash. */
  putBlock(block: BlockRecord): Promise<PutBlockResult>;
  deleteBlock(tenantId: string, blockId: string): Promise<BlockRecord | null>;
  listBlocks(tenantId: string, window: InstantRange): Promise<BlockRecord[]>;
  /** Busy stretches of the given appointments, as claimed in storage. */
  appointmentClaims(tenantId: string, appointmentIds: string[]): Promise<Array<{ appointmentId: string; during: InstantRange }>>;
  /** Holds still live (held and unexpired by the database clock) overlapping `window`. */
  liveHolds(tenantId: string, window: InstantRange): Promise<Array<HoldRecord & { callId: string | null }>>;
}
