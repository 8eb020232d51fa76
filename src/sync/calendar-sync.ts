/**
 * Calendar sync, one per broker (PROTOCOL §7): the outbox worker and what it delivers
 * through, by the tenant's calendar kind. The settings are read at each delivery, so a
 * changed URL or key applies to what is still pending.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { CalendarStore, OutboxRow } from './ports.js';
import { OutboxWorker, type DeliveryResult, type OutboxDelivery } from './outbox-worker.js';
import { CalcomDelivery } from './calcom-delivery.js';
import { postChange } from './webhook-delivery.js';

export interface CalendarSyncOptions {
  store: CalendarStore;
  logger: FastifyBaseLogger;
  calcomBaseUrl: string;
  listen?: ((onNotify: () => void) => Promise<() => Promise<void>>) | undefined;
  pollMs: number;
  clock?: () => number;
}

export class CalendarSync implements OutboxDelivery {
  readonly worker: OutboxWorker;
  private readonly calcom: CalcomDelivery;

  constructor(private readonly options: CalendarSyncOptions) {
    this.calcom = new CalcomDelivery(options.store, options.calcomBaseUrl);
    this.worker = new OutboxWorker({ store: options.store, delivery: this, logger: options.logger, pollMs: options.pollMs, listen: options.listen });
  }

  start(): Promise<void> {
    return this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  async deliver(row: OutboxRow, signal: AbortSignal): Promise<DeliveryResult> {
    const calendar = await this.options.store.getCalendar(row.tenantId);
    if (!calendar) return { delivered: false, discarded: 'no calendar configured' };
    const now = new Date((this.options.clock ?? Date.now)());
    if (calendar.kind === 'webhook') {
      await postChange(calendar, row, signal, now);
      return { delivered: true };
    }
    return this.calcom.deliver(calendar, row, signal);
  }
}
