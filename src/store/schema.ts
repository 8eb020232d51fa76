/**
 * The drizzle schema: the one description of every table callhold keeps.
 *
 * The exclusion constraint on `staff_claims` (no two live claims of one staff member
 * overlap) cannot be expressed in drizzle 0.45; it lives in the hand-written migration
 * `drizzle/0001_staff_claims_exclusion.sql`, next to the generated one.
 *
 * Ready to be distributed by `tenant_id` (Citus, drizzle/0012): every table but the
 * reference tables `tenants`, `broker_instances` and `runtime_tokens` has a `tenant_id`,
 * and every primary key, unique and exclusion constraint and every foreign key between
 * such tables includes it. `test/integration/tenant-keys.test.ts` checks it in the catalog.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import type { Phase, WeeklyHours } from '../booking/catalog.js';
import { appointmentSources, blockSources, holdStatuses, type AppointmentSource, type BlockSource, type HoldStatus, type InstantRange } from '../booking/ports.js';

import type { IntegrationKind, SessionRuntime } from '../integrations/settings.js';
import { sessionOutcomes, sessionStatuses, type SessionOutcome, type SessionStatus } from '../sessions/ports.js';

// The domain and the session host own these types; the schema stores them.
export { appointmentSources, blockSources, holdStatuses, sessionOutcomes, sessionStatuses };
export type { AppointmentSource, BlockSource, HoldStatus, InstantRange, Phase, SessionOutcome, SessionStatus, WeeklyHours };


const tstzrange = customType<{ data: InstantRange; driverData: string }>({
  dataType: () => 'tstzrange',
  toDriver: (range) => `[${range.start.toISOString()},${range.end.toISOString()})`,
  fromDriver: (value) => {
    const [start, end] = value.slice(1, -1).split(',').map((bound) => new Date(bound.replaceAll('"', '')));
    return { start: start!, end: end! };
  },
});

const instant = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const tenants = pgTable('tenants', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  timezone: text('timezone').notNull(),
  slotStepMin: integer('slot_step_min').notNull(),
  openingHours: jsonb('opening_hours').$type<WeeklyHours>().notNull(),
  closedDates: jsonb('closed_dates').$type<string[]>().notNull(),
  updatedAt: instant('updated_at').notNull().defaultNow(),
});

export const staff = pgTable(
  'staff',
  {
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    name: text('name').notNull(),
    openingHours: jsonb('opening_hours').$type<WeeklyHours>(),
    position: integer('position').notNull(),
    /** Staff dropped from the catalog stay as rows so their appointments keep a name. */
    active: boolean('active').notNull().default(true),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] })],
);

export const services = pgTable(
  'services',
  {
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    name: text('name').notNull(),
    aliases: jsonb('aliases').$type<string[]>().notNull(),
    /** Ordered phases; only `staff_busy` ones claim the staff member's time. */
    phases: jsonb('phases').$type<Phase[]>().notNull(),
    position: integer('position').notNull(),
    active: boolean('active').notNull().default(true),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] })],
);

export const staffServices = pgTable(
  'staff_services',
  {
    tenantId: text('tenant_id').notNull(),
    staffId: text('staff_id').notNull(),
    serviceId: text('service_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.staffId, t.serviceId] })],
);

export const customers = pgTable(
  'customers',
  {
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    phone: text('phone').notNull(),
    name: text('name').notNull(),
    createdAt: instant('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.phone] })],
);

export const runtimeTokens = pgTable('runtime_tokens', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
  /** SHA-256 of the token; the token itself is shown once and never stored. */
  tokenHash: text('token_hash').notNull().unique(),
  createdAt: instant('created_at').notNull().defaultNow(),
});


export const holds = pgTable(
  'holds',
  {
    id: uuid('id').notNull().defaultRandom(),
    tenantId: text('tenant_id').notNull(),
    sessionId: uuid('session_id'),
    callId: text('call_id'),
    staffId: text('staff_id').notNull(),
    serviceId: text('service_id').notNull(),
    startAt: instant('start_at').notNull(),
    endAt: instant('end_at').notNull(),
    status: text('status').$type<HoldStatus>().notNull(),
    placedAt: instant('placed_at').notNull().defaultNow(),
    /** Moves with caller activity, never past `max_expires_at`; compared with the database's `now()`. */
    expiresAt: instant('expires_at').notNull(),
    maxExpiresAt: instant('max_expires_at').notNull(),
    extensions: integer('extensions').notNull().default(0),
    endedAt: instant('ended_at'),
    /** The tool call that placed it (session and call id): the same call again finds this hold instead of placing another. */
    idempotencyKey: text('idempotency_key'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('holds_idempotency_key_unique').on(t.tenantId, t.idempotencyKey),
    index('holds_live_idx').on(t.tenantId, t.staffId).where(sql`status = 'held'`),
    index('holds_expiry_idx').on(t.expiresAt).where(sql`status = 'held'`),
    index('holds_session_idx').on(t.tenantId, t.sessionId),
  ],
);

export const appointments = pgTable(
  'appointments',
  {
    id: uuid('id').notNull().defaultRandom(),
    tenantId: text('tenant_id').notNull(),
    staffId: text('staff_id').notNull(),
    serviceId: text('service_id').notNull(),
    startAt: instant('start_at').notNull(),
    endAt: instant('end_at').notNull(),
    customerName: text('customer_name').notNull(),
    phone: text('phone'),
    callId: text('call_id'),
    sessionId: uuid('session_id'),
    holdId: uuid('hold_id'),
    status: text('status').$type<'booked' | 'cancelled'>().notNull().default('booked'),
    /** Who booked it: a call, the salon's front desk, or the calendar of record (PROTOCOL §7). */
    source: text('source').$type<AppointmentSource>().notNull().default('call'),
    /** `session:tool-call-id`: a retried booking finds its appointment instead of booking twice. */
    idempotencyKey: text('idempotency_key'),
    createdAt: instant('created_at').notNull().defaultNow(),
    cancelledAt: instant('cancelled_at'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('appointments_idempotency_key_unique').on(t.tenantId, t.idempotencyKey),
    index('appointments_day_idx').on(t.tenantId, t.startAt),
    index('appointments_phone_idx').on(t.tenantId, t.phone),
  ],
);


/**
 * A stretch a staff member is busy outside any appointment (a break, an absence, an
 * entry of an external calendar). Its id is the salon's own, so a PUT is idempotent.
 * It claims its whole range in `staff_claims` like an appointment's busy stretch.
 */
export const blocks = pgTable(
  'blocks',
  {
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    staffId: text('staff_id').notNull(),
    startAt: instant('start_at').notNull(),
    endAt: instant('end_at').notNull(),
    reason: text('reason'),
    source: text('source').$type<BlockSource>().notNull().default('front_desk'),
    createdAt: instant('created_at').notNull().defaultNow(),
    updatedAt: instant('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('blocks_day_idx').on(t.tenantId, t.startAt)],
);

/**
 * One row per staff-busy stretch of a live hold or appointment, or per block. The exclusion constraint
 * over (tenant_id, staff_id, during) is what makes double booking impossible.
 */
export const staffClaims = pgTable(
  'staff_claims',
  {
    id: bigserial('id', { mode: 'number' }).notNull(),
    tenantId: text('tenant_id').notNull(),
    staffId: text('staff_id').notNull(),
    during: tstzrange('during').notNull(),
    holdId: uuid('hold_id'),
    appointmentId: uuid('appointment_id'),
    blockId: text('block_id'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    check('staff_claims_one_owner', sql`num_nonnulls(hold_id, appointment_id, block_id) = 1`),
    foreignKey({ columns: [t.tenantId, t.holdId], foreignColumns: [holds.tenantId, holds.id], name: 'staff_claims_hold_fk' }).onDelete('cascade'),
    foreignKey({ columns: [t.tenantId, t.appointmentId], foreignColumns: [appointments.tenantId, appointments.id], name: 'staff_claims_appointment_fk' }).onDelete('cascade'),
    foreignKey({ columns: [t.tenantId, t.blockId], foreignColumns: [blocks.tenantId, blocks.id], name: 'staff_claims_block_fk' }).onDelete('cascade'),
    index('staff_claims_hold_idx').on(t.tenantId, t.holdId),
    index('staff_claims_appointment_idx').on(t.tenantId, t.appointmentId),
    index('staff_claims_block_idx').on(t.tenantId, t.blockId),
  ],
);


export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').notNull().defaultRandom(),
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    callId: text('call_id').notNull(),
    status: text('status').$type<SessionStatus>().notNull().default('live'),
    outcome: text('outcome').$type<SessionOutcome>(),
    state: jsonb('state'),
    startedAt: instant('started_at').notNull().defaultNow(),
    endedAt: instant('ended_at'),
    /** XState persisted snapshot, restored after a restart; `machine_version` guards its shape. */
    snapshot: jsonb('snapshot'),
    machineVersion: integer('machine_version').notNull(),
    /** Which runtime carries the call (PROTOCOL §5): `callhold` for our WebSocket, else the integration's kind. */
    runtime: text('runtime').$type<SessionRuntime>().notNull().default('callhold'),
    updatedAt: instant('updated_at').notNull().defaultNow(),
    /**
     * Ownership (PROTOCOL §3): the broker instance holding the call's newest connection, and
     * an epoch every takeover increments. Each write for the session is fenced by the epoch
     * its instance holds (`callhold_fence`, drizzle/0011), so an instance that lost the
     * session can never write for it again. Null owner: not owned (rows from before 0010).
     */
    ownerInstance: text('owner_instance'),
    ownerEpoch: bigint('owner_epoch', { mode: 'number' }).notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('sessions_tenant_call_unique').on(t.tenantId, t.callId),
    index('sessions_status_idx').on(t.status, t.startedAt),
    index('sessions_owner_idx').on(t.ownerInstance).where(sql`status = 'live'`),
  ],
);

/**
 * The broker instances serving this database and their leases, renewed by each
 * instance's heartbeat. A live session whose owner's lease has run out (the instance was
 * killed or is paused) is adopted by a surviving instance (PROTOCOL §3).
 */
export const brokerInstances = pgTable('broker_instances', {
  id: text('id').primaryKey(),
  startedAt: instant('started_at').notNull().defaultNow(),
  leaseUntil: instant('lease_until').notNull(),
});

export const sessionEvents = pgTable(
  'session_events',
  {
    id: bigserial('id', { mode: 'number' }).notNull(),
    /** The session's tenant (drizzle/0012): the distribution column, with `session_id` the key to the session. */
    tenantId: text('tenant_id').notNull(),
    sessionId: uuid('session_id').notNull(),
    at: instant('at').notNull(),
    direction: text('direction').$type<'in' | 'out'>().notNull(),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull(),
    toolCallId: text('tool_call_id'),
    latencyMs: real('latency_ms'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.sessionId], foreignColumns: [sessions.tenantId, sessions.id], name: 'session_events_session_fk' }).onDelete('cascade'),
    index('session_events_session_idx').on(t.tenantId, t.sessionId, t.id),
  ],
);

/** The first answer to each tool call id of a session, replayed when the id comes again. */
export const toolResults = pgTable(
  'tool_results',
  {
    /** As for `session_events`. */
    tenantId: text('tenant_id').notNull(),
    sessionId: uuid('session_id').notNull(),
    toolCallId: text('tool_call_id').notNull(),
    name: text('name').notNull(),
    response: jsonb('response').notNull(),
    createdAt: instant('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.sessionId, t.toolCallId] }),
    foreignKey({ columns: [t.tenantId, t.sessionId], foreignColumns: [sessions.tenantId, sessions.id], name: 'tool_results_session_fk' }).onDelete('cascade'),
  ],
);

/** The calendar of record's kinds (PROTOCOL §7). */
export const calendarKinds = ['webhook', 'calcom'] as const;
export type CalendarKind = (typeof calendarKinds)[number];

/**
 * One calendar of record per tenant, secrets included (they sign and authenticate what
 * goes out and comes in; the admin API shows them as `***`).
 */
export const calendarIntegrations = pgTable('calendar_integrations', {
  tenantId: text('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  kind: text('kind').$type<CalendarKind>().notNull(),
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull(),
  updatedAt: instant('updated_at').notNull().defaultNow(),
});

export const outboxTypes = ['appointment.booked', 'appointment.cancelled', 'appointment.moved', 'hold.placed', 'hold.ended'] as const;
export type OutboxType = (typeof outboxTypes)[number];

/**
 * Changes still to tell the calendar of record, written by a trigger in the very
 * transaction that changed the appointment (drizzle/0006_calendar_outbox_trigger.sql).
 * `id` is the change's id (`webhook-id`); `seq` orders the changes of one `subject_id`
 * (the appointment), which are delivered one after the other.
 */
export const calendarOutbox = pgTable(
  'calendar_outbox',
  {
    id: uuid('id').notNull().defaultRandom(),
    /** One sequence for all tenants; unique per tenant, which is all ordering needs (a subject belongs to one tenant). */
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    tenantId: text('tenant_id').notNull(),
    subjectId: text('subject_id').notNull(),
    type: text('type').$type<OutboxType>().notNull(),
    /** The appointment row (for `hold.*`, the hold row) as the change left it (`to_jsonb`, snake_case). */
    appointment: jsonb('appointment').$type<Record<string, unknown>>().notNull(),
    occurredAt: instant('occurred_at').notNull().defaultNow(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: instant('next_attempt_at').notNull().defaultNow(),
    /** A worker that claimed the row delivers it until then; after that another may. */
    leasedUntil: instant('leased_until'),
    deliveredAt: instant('delivered_at'),
    /** Set when the row is dropped instead of delivered (its tenant's calendar was removed). */
    discardedAt: instant('discarded_at'),
    lastError: text('last_error'),
    lastErrorAt: instant('last_error_at'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('calendar_outbox_seq_unique').on(t.tenantId, t.seq),
    index('calendar_outbox_due_idx').on(t.nextAttemptAt).where(sql`delivered_at IS NULL AND discarded_at IS NULL`),
    index('calendar_outbox_subject_idx').on(t.tenantId, t.subjectId, t.seq).where(sql`delivered_at IS NULL AND discarded_at IS NULL`),
    index('calendar_outbox_tenant_idx').on(t.tenantId),
  ],
);

/** Our appointment's booking on the external calendar (a Cal.com `uid`), to cancel it and to recognise its echo. */
export const calendarLinks = pgTable(
  'calendar_links',
  {
    tenantId: text('tenant_id').notNull(),
    appointmentId: uuid('appointment_id').notNull(),
    externalUid: text('external_uid').notNull(),
    startAt: instant('start_at').notNull(),
    createdAt: instant('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.appointmentId] }), unique('calendar_links_uid_unique').on(t.tenantId, t.externalUid)],
);

/**
 * An external booking that could not become a block: it overlaps one of our appointments
 * (or names no staff member we know). Kept, and listed in `/sync`, never dropped.
 */
export const calendarConflicts = pgTable(
  'calendar_conflicts',
  {
    tenantId: text('tenant_id').notNull(),
    externalId: text('external_id').notNull(),
    staffId: text('staff_id'),
    startAt: instant('start_at').notNull(),
    endAt: instant('end_at').notNull(),
    appointmentId: uuid('appointment_id'),
    createdAt: instant('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.externalId] })],
);

/** A caller's hold mirrored as a Cal.com slot reservation while it lasts (PROTOCOL §7). */
export const calendarReservations = pgTable(
  'calendar_reservations',
  {
    holdId: uuid('hold_id').notNull(),
    tenantId: text('tenant_id').notNull(),
    reservationUid: text('reservation_uid').notNull(),
    createdAt: instant('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.holdId] })],
);

/**
 * Each tenant's settings for one runtime integration (PROTOCOL §6), as validated by
 * `src/integrations/settings.ts`. Secrets are kept as given: the broker needs them to
 * compute HMACs, so they cannot be hashed like runtime tokens.
 */
export const integrationSettings = pgTable(
  'integration_settings',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<IntegrationKind>().notNull(),
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull(),
    updatedAt: instant('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.kind] })],
);
