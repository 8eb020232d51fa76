/**
 * Wires the broker's parts together: stores on one database, the booking domain, the
 * tool runner and the session host, and offers routes and transports the services they
 * use (never a store). Created once per app (never at module level), so tests can build
 * as many as they like.
 */
import type { FastifyBaseLogger } from 'fastify';
import { AppointmentChangeFeed } from './booking/appointment-changes.js';
import { BookingService } from './booking/booking-service.js';
import { CatalogCache } from './booking/catalog-cache.js';
import { FrontDesk } from './booking/front-desk.js';
import type { Config } from './config.js';
import { CountingSessionStore } from './observability/counting-session-store.js';
import { BrokerMetrics } from './observability/metrics.js';
import { EventLog } from './sessions/event-log.js';
import { InstanceLease, SESSION_OWNER_CHANNEL } from './sessions/instance-lease.js';
import { SessionOwnership } from './sessions/ownership.js';
import { SessionFeed } from './sessions/session-feed.js';
import { provideSessionMachine } from './sessions/session-machine.js';
import { SessionHost } from './sessions/session-host.js';
import { ToolAnswers } from './sessions/tool-answers.js';
import { DrizzleBookingStore } from './store/booking-store.js';
import { DrizzleCalendarStore } from './store/calendar-store.js';
import { CalendarSync } from './sync/calendar-sync.js';
import { DrizzleCatalogStore } from './store/catalog-store.js';
import type { DatabaseHandle } from './store/database.js';
import { OpenAiIncomingCalls } from './integrations/openai-realtime/incoming-calls.js';
import { IntegrationSettings } from './integrations/settings.js';
import { InspectorQueries } from './store/inspector-queries.js';
import { DrizzleIntegrationSettingsStore } from './store/integration-settings-store.js';
import { DrizzleSalonStore } from './store/salon-store.js';
import { ToolRunner } from './tools/tool-runner.js';
import { CatalogAdmin } from './services/catalog-admin.js';
import { InspectorViews } from './services/inspector-views.js';
import { Readiness } from './services/readiness.js';
import { RuntimeAuth } from './services/runtime-auth.js';

/** PROTOCOL §4: a tool whose storage does not answer is answered `UNAVAILABLE` within 2 s. */
export const TOOL_TIMEOUT_MS = 1800;
const HOLD_SWEEP_INTERVAL_MS = 10_000;
/** Calendar outbox polls: the fallback behind NOTIFY on PostgreSQL, the only wake-up on PGlite. */
const OUTBOX_POLL_MS = { postgres: 5_000, pglite: 250 } as const;
/** How long a stop waits for storage; with the database's close it stays inside the process's shutdown deadline (server.ts). */
export const STOP_STORAGE_TIMEOUT_MS = 2500;

export interface BrokerOptions {
  config: Config;
  database: DatabaseHandle;
  logger: FastifyBaseLogger;
  clock?: () => number;
}

export class Broker {
  readonly config: Config;
  /** What routes and transports work with: services, never a store. */
  readonly runtimeAuth: RuntimeAuth;
  readonly catalogAdmin: CatalogAdmin;
  readonly frontDesk: FrontDesk;
  readonly inspector: InspectorViews;
  readonly readiness: Readiness;
  /** Appointments booked, cancelled or moved by the salon (PROTOCOL §7); live sessions subscribe. */
  readonly appointmentChanges: AppointmentChangeFeed;
  /** Each tenant's runtime integrations (PROTOCOL §6). */
  readonly integrationSettings: IntegrationSettings;
  readonly feed = new SessionFeed();
  readonly sessions: SessionHost;
  /** OpenAI Realtime SIP calls (PROTOCOL §6.1): accepts, and the sidebands that carry their sessions. */
  readonly openAiCalls: OpenAiIncomingCalls;
  /** What `/metrics` shows; the call transport reports frames and closes to it. */
  readonly metrics: BrokerMetrics;
  /** The calendar of record (PROTOCOL §7): its settings, outbox and delivery worker. */
  readonly calendarSync: CalendarSync;
  private readonly bookingStore: DrizzleBookingStore;
  private readonly eventLog: EventLog;
  private readonly lease: InstanceLease;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private readonly options: BrokerOptions) {
    const { config, database, logger } = options;
    const clock = options.clock ?? Date.now;
    const now = () => new Date(clock());
    this.config = config;
    const catalogStore = new DrizzleCatalogStore(database.db);
    this.bookingStore = new DrizzleBookingStore(database.db);
    this.metrics = new BrokerMetrics({ liveSessions: () => this.sessions.size });
    this.metrics.observe(this.feed);
    const sessionStore = new CountingSessionStore(database.db, this.metrics);
    const catalogs = new CatalogCache(catalogStore, clock);
    const booking = new BookingService({ store: this.bookingStore, customers: catalogStore, clock: now, holdTtlMs: config.holdTtlMs, holdMaxMs: config.holdMaxMs });
    this.runtimeAuth = new RuntimeAuth(catalogStore);
    this.catalogAdmin = new CatalogAdmin(catalogStore, catalogs, booking);
    this.readiness = new Readiness(database);
    this.integrationSettings = new IntegrationSettings(new DrizzleIntegrationSettingsStore(database.db));
    this.appointmentChanges = new AppointmentChangeFeed((error, change) => logger.error({ err: error, change: change.type }, 'appointment change listener failed'));
    const salonStore = new DrizzleSalonStore(database.db);
    this.frontDesk = new FrontDesk({ booking, store: salonStore, changes: this.appointmentChanges, clock: now });
    const tools = new ToolRunner({ catalogs, booking, clock: now });
    this.eventLog = new EventLog(sessionStore, logger);
    const answers = new ToolAnswers(sessionStore, this.eventLog, logger);
    const ownership = new SessionOwnership(config.instanceId);
    this.sessions = new SessionHost({
      machine: provideSessionMachine({ tools, bookingStore: this.bookingStore, answers, ownership, holdTtlMs: config.holdTtlMs, clock }),
      answers,
      ownership,
      sessionStore,
      catalogs,
      bookingStore: this.bookingStore,
      eventLog: this.eventLog,
      feed: this.feed,
      logger,
      clock,
      holdTtlMs: config.holdTtlMs,
      resumeGraceMs: config.resumeGraceMs,
      toolTimeoutMs: TOOL_TIMEOUT_MS,
    });
    this.inspector = new InspectorViews({
      sessionStore,
      queries: new InspectorQueries(database.db),
      catalogs,
      sessions: this.sessions,
      flushEvents: () => this.flushEvents(),
    });
    this.appointmentChanges.subscribe((change) => this.sessions.appointmentChanged(change));
    this.calendarSync = new CalendarSync({
      store: new DrizzleCalendarStore(database.db),
      salonStore,
      frontDesk: this.frontDesk,
      catalogs,
      logger,
      calcomBaseUrl: config.calcomBaseUrl,
      listen: database.listen ? (onNotify) => database.listen!('callhold_calendar_outbox', onNotify) : undefined,
      pollMs: OUTBOX_POLL_MS[database.driver],
      clock,
    });
    this.openAiCalls = new OpenAiIncomingCalls({
      host: this.sessions,
      settingsOf: (tenantId) => this.integrationSettings.require(tenantId, 'openai_realtime'),
      catalogs,
      logger,
      baseUrl: config.openAiBaseUrl,
      realtimeUrl: config.openAiRealtimeUrl,
      resumeGraceMs: config.resumeGraceMs,
      clock,
    });
    this.lease = new InstanceLease({
      instanceId: config.instanceId,
      leaseMs: config.instanceLeaseMs,
      store: sessionStore,
      host: this.sessions,
      logger,
      onAdopted: (records) => {
        this.openAiCalls.redial(records).then(
          (redialled) => redialled > 0 && logger.info({ redialled }, 'redialled the sidebands of OpenAI calls taken on'),
          (error) => logger.warn({ err: error }, 'redialling OpenAI calls taken on failed'),
        );
      },
      listen: database.listen ? (onNotify) => database.listen!(SESSION_OWNER_CHANNEL, onNotify) : undefined,
    });
  }

  /**
   * Joins the instances on the database (its lease, takeover notices), resumes the sessions
   * it owned before a restart and those nobody serves, and starts the expired-hold sweep.
   */
  async start(): Promise<void> {
    await this.lease.start();
    this.sweeper = setInterval(() => {
      this.bookingStore.sweepExpiredHolds().catch((error) => this.options.logger.warn({ err: error }, 'hold sweep failed'));
    }, HOLD_SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    await this.calendarSync.start();
  }

  /**
   * Leaves live calls resumable: their sockets are told to reconnect (at once) and their
   * snapshots and event log written. A stalled database answers none of those writes and
   * postgres.js would wait for ever, so the stop waits at most `STOP_STORAGE_TIMEOUT_MS`
   * and then gives them up, logged: holds and appointments are stored before their answers
   * go out, so a restarted broker loses at most the newest snapshot change and log lines
   * (and answers, which a retried call gets again from the hold or booking made under its id).
   */
  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.lease.stop();
    this.openAiCalls.stop();
    // Bounded (1 s) on its own, and beside the sessions' writes so the two bounds do not add up.
    const calendarStopped = this.calendarSync.stop().catch((error) => this.options.logger.warn({ err: error }, 'calendar sync did not stop cleanly'));
    let timer: NodeJS.Timeout | undefined;
    const stored = await Promise.race([
      this.sessions
        .shutdown()
        .then(() => this.eventLog.flush())
        .then(() => this.lease.release())
        .then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STOP_STORAGE_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    await calendarStopped;
    if (!stored) this.options.logger.error({ timeout_ms: STOP_STORAGE_TIMEOUT_MS }, 'stopped without storing every session snapshot and event: storage did not answer');
  }

  /** For tests and the inspector: everything logged so far is in the database. */
  flushEvents(): Promise<void> {
    return this.eventLog.flush();
  }
}
