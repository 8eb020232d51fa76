/**
 * Calendar sync, one per broker (PROTOCOL §7): the outbox worker and what it delivers
 * through, by the tenant's calendar kind; Cal.com's inbound side and its periodic
 * reconciliation. Settings are read at each delivery, so a changed URL or key applies to
 * what is still pending.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { CatalogCache } from '../booking/catalog-cache.js';
import type { FrontDesk } from '../booking/front-desk.js';
import type { SalonStore } from '../booking/ports.js';
import { CalcomDelivery } from './calcom-delivery.js';
import { CalcomInbound } from './calcom-inbound.js';
import { OutboxWorker, type DeliveryResult, type OutboxDelivery } from './outbox-worker.js';
import type { CalendarSettings } from './calendar-settings.js';
import type { CalendarStore, OutboxRow, SyncStatus } from './ports.js';
import { postChange } from './webhook-delivery.js';

/** Every broker instance reconciles every Cal.com tenant this often (idempotent: blocks are PUT by id). */
export const RECONCILE_INTERVAL_MS = 5 * 60_000;
/** Delivered and discarded changes are kept this long (what `/sync` counts as delivered), then pruned hourly. */
export const SETTLED_RETENTION_MS = 30 * 86_400_000;
const PRUNE_INTERVAL_MS = 3_600_000;
/** The first reconciliation after a start, so a restarted broker heals soon but not in its first breath. */
const FIRST_RECONCILE_DELAY_MS = 30_000;

export interface CalendarSyncOptions {
  store: CalendarStore;
  salonStore: SalonStore;
  frontDesk: FrontDesk;
  catalogs: CatalogCache;
  logger: FastifyBaseLogger;
  calcomBaseUrl: string;
  listen?: ((onNotify: () => void) => Promise<() => Promise<void>>) | undefined;
  pollMs: number;
  clock?: () => number;
}

export class CalendarSync implements OutboxDelivery {
  readonly worker: OutboxWorker;
  readonly inbound: CalcomInbound;
  private readonly calcom: CalcomDelivery;
  private reconciler: NodeJS.Timeout | null = null;
  private pruner: NodeJS.Timeout | null = null;
  private reconciling: Promise<void> | null = null;
  private readonly stopping = new AbortController();

  constructor(private readonly options: CalendarSyncOptions) {
    this.calcom = new CalcomDelivery(options.store, options.calcomBaseUrl);
    this.inbound = new CalcomInbound({
      store: options.store,
      salonStore: options.salonStore,
      frontDesk: options.frontDesk,
      calcomBaseUrl: options.calcomBaseUrl,
      logger: options.logger,
    });
    this.worker = new OutboxWorker({ store: options.store, delivery: this, logger: options.logger, pollMs: options.pollMs, listen: options.listen });
  }

  /** The tenant's calendar of record, secrets included; null when it has none. */
  settings(tenantId: string): Promise<CalendarSettings | null> {
    return this.options.store.getCalendar(tenantId);
  }

  putSettings(tenantId: string, settings: CalendarSettings): Promise<void> {
    return this.options.store.putCalendar(tenantId, settings);
  }

  /** Removes the settings and what was not yet delivered; false when there were none. */
  deleteSettings(tenantId: string): Promise<boolean> {
    return this.options.store.deleteCalendar(tenantId);
  }

  status(tenantId: string): Promise<SyncStatus> {
    return this.options.store.syncStatus(tenantId);
  }

  /** Forgets changes settled longer ago than `retentionMs`; how many. */
  prune(retentionMs = SETTLED_RETENTION_MS): Promise<number> {
    return this.options.store.pruneSettled(retentionMs);
  }

  async start(): Promise<void> {
    await this.worker.start();
    const schedule = (delayMs: number) => {
      this.reconciler = setTimeout(() => {
        this.reconciling = this.reconcileAll().finally(() => {
          this.reconciling = null;
          if (!this.stopping.signal.aborted) schedule(RECONCILE_INTERVAL_MS);
        });
      }, delayMs);
      this.reconciler.unref();
    };
    schedule(FIRST_RECONCILE_DELAY_MS);
    this.pruner = setInterval(() => {
      this.options.store.pruneSettled(SETTLED_RETENTION_MS).catch((error) => this.options.logger.warn({ err: error }, 'calendar outbox: pruning failed'));
    }, PRUNE_INTERVAL_MS);
    this.pruner.unref();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.reconciler) clearTimeout(this.reconciler);
    if (this.pruner) clearInterval(this.pruner);
    // A reconciliation's Cal.com calls end with the abort; its database calls get the same bound as the worker's.
    let timer: NodeJS.Timeout | undefined;
    const reconciled = Promise.race([this.reconciling?.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
    await Promise.all([this.worker.stop(), reconciled]);
    clearTimeout(timer);
  }

  async deliver(row: OutboxRow, signal: AbortSignal): Promise<DeliveryResult> {
    const calendar = await this.options.store.getCalendar(row.tenantId);
    if (!calendar) return { delivered: false, discarded: 'no calendar configured' };
    if (calendar.kind === 'webhook') {
      // Holds are mirrored only to Cal.com; such a row outlives a switch of kind, and goes nowhere.
      if (row.hold) return { delivered: false, discarded: 'hold reservations are for Cal.com only' };
      await postChange(calendar, row, signal, new Date(this.now()));
      return { delivered: true };
    }
    return this.calcom.deliver(calendar, row, signal);
  }

  /** Pulls one Cal.com tenant's coming bookings into blocks; false when the tenant has no Cal.com calendar. */
  async reconcile(tenantId: string): Promise<{ applied: number; removed: number } | null> {
    const [catalog, calendar] = await Promise.all([this.options.catalogs.get(tenantId), this.options.store.getCalendar(tenantId)]);
    if (!catalog || calendar?.kind !== 'calcom') return null;
    return this.inbound.reconcile(catalog, calendar, new Date(this.now()), this.stopping.signal);
  }

  private async reconcileAll(): Promise<void> {
    try {
      for (const tenantId of await this.options.store.calcomTenants()) {
        if (this.stopping.signal.aborted) return;
        await this.reconcile(tenantId).catch((error) => this.options.logger.warn({ err: error, tenant: tenantId }, 'Cal.com reconciliation failed'));
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, 'Cal.com reconciliation could not list tenants');
    }
  }

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }
}
