/**
 * Delivers the calendar outbox (PROTOCOL §7): at least once, retried with backoff, in
 * order per appointment, from rows in the database (so a restart loses nothing), by as
 * many broker instances as run it (rows are leased with `FOR UPDATE SKIP LOCKED`).
 *
 * Deliveries run beside everything else and outside any transaction: a booking commits
 * its outbox row and answers; the worker wakes on NOTIFY (PostgreSQL) or its next poll
 * and delivers on its own time. A slow receiver ties up one delivery slot, never a lock,
 * a connection or a tool answer.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { CalendarStore, OutboxRow } from './ports.js';

/** What became of one change. A delivery that fails throws; its message is kept as `last_error`. */
export type DeliveryResult = { delivered: true } | { delivered: false; discarded: string };

export interface OutboxDelivery {
  deliver(row: OutboxRow, signal: AbortSignal): Promise<DeliveryResult>;
}

/**
 * Wait before attempt n+1 after attempt n failed. With `REQUEST_TIMEOUT_MS` per attempt
 * the first three attempts start within 0, ≤ 6 and ≤ 14 s of the change (inside the
 * contract's 30 s); later ones are spaced out up to, never beyond, 10 minutes.
 */
export const RETRY_DELAYS_MS = [1_000, 3_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000] as const;
export const MAX_RETRY_DELAY_MS = 600_000;
export const retryDelayMs = (attempts: number) => RETRY_DELAYS_MS[Math.max(0, attempts - 1)] ?? MAX_RETRY_DELAY_MS;

export interface OutboxWorkerOptions {
  store: CalendarStore;
  delivery: OutboxDelivery;
  logger: FastifyBaseLogger;
  /** Longest wait between looks at the outbox when no NOTIFY comes (the fallback, and PGlite's only way). */
  pollMs: number;
  /** Subscribes to the outbox's NOTIFY channel; returns an unsubscribe. Absent on PGlite. */
  listen?: ((onNotify: () => void) => Promise<() => Promise<void>>) | undefined;
  /** How long a claimed row is this worker's; after that another instance may deliver it again. */
  leaseMs?: number;
  /** Deliveries in flight at once, across tenants and appointments. */
  concurrency?: number;
  /** How long `stop()` waits for deliveries in flight after aborting them. */
  stopWaitMs?: number;
}

export class OutboxWorker {
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private looking: Promise<void> | null = null;
  private lookAgain = false;
  private unlisten: (() => Promise<void>) | null = null;
  private readonly inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();

  constructor(private readonly options: OutboxWorkerOptions) {}

  async start(): Promise<void> {
    this.stopped = false;
    if (this.options.listen) {
      try {
        this.unlisten = await this.options.listen(() => this.wake());
      } catch (error) {
        this.options.logger.warn({ err: error }, 'calendar outbox: LISTEN failed, polling only');
      }
    }
    this.wake();
  }

  /**
   * Stops looking, aborts deliveries in flight and gives their rows back, so the next
   * worker (this process restarted, or another instance) delivers them without waiting
   * out the lease. Bounded by `stopWaitMs`.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const unlisten = this.unlisten;
    this.unlisten = null;
    const inFlight = [...this.inFlight.values()];
    for (const { abort } of inFlight) abort.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...inFlight.map((entry) => entry.done), this.looking, unlisten?.()]),
      new Promise((resolve) => (timer = setTimeout(resolve, this.options.stopWaitMs ?? 1000))),
    ]);
    clearTimeout(timer);
  }

  /** Looks at the outbox now (a NOTIFY, a delivery done, a timer). */
  wake(): void {
    if (this.stopped) return;
    if (this.looking) {
      this.lookAgain = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.looking = this.look().finally(() => {
      this.looking = null;
      if (this.lookAgain) {
        this.lookAgain = false;
        this.wake();
      }
    });
  }

  private async look(): Promise<void> {
    let nextMs = this.options.pollMs;
    try {
      const room = (this.options.concurrency ?? 16) - this.inFlight.size;
      if (room > 0) {
        const rows = await this.options.store.claimDue(room, this.options.leaseMs ?? 60_000);
        // A claim that answers after stop() (a slow database) is handed straight back.
        if (this.stopped) {
          await this.options.store.releaseLeases(rows);
          return;
        }
        for (const row of rows) this.startDelivery(row);
      }
      const dueMs = await this.options.store.msUntilNextDue();
      if (dueMs !== null) nextMs = Math.min(nextMs, Math.max(dueMs, 20));
    } catch (error) {
      this.options.logger.warn({ err: error }, 'calendar outbox: could not read the outbox');
    }
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), nextMs);
    this.timer.unref();
  }

  private startDelivery(row: OutboxRow): void {
    const abort = new AbortController();
    const done = this.deliverOne(row, abort.signal).finally(() => {
      this.inFlight.delete(row.id);
      this.wake();
    });
    this.inFlight.set(row.id, { abort, done });
  }

  private async deliverOne(row: OutboxRow, signal: AbortSignal): Promise<void> {
    const { store, delivery, logger } = this.options;
    const log = logger.child({ change_id: row.id, tenant: row.tenantId, appointment_id: row.appointment.id, attempt: row.attempts });
    let result: DeliveryResult | undefined;
    let failure: unknown;
    try {
      result = await delivery.deliver(row, signal);
    } catch (error) {
      failure = error;
    }
    try {
      if (this.stopped && signal.aborted) {
        await store.releaseLeases([row]);
      } else if (result?.delivered) {
        await store.markDelivered(row);
      } else if (result) {
        log.warn({ reason: result.discarded }, 'calendar change discarded');
        await store.markDiscarded(row, result.discarded);
      } else {
        const message = failure instanceof Error ? failure.message : String(failure);
        const retryInMs = retryDelayMs(row.attempts);
        log.warn({ err: failure, retry_in_ms: retryInMs }, 'calendar delivery failed');
        await store.markFailed(row, message, retryInMs);
      }
    } catch (error) {
      // The lease runs out and the row is delivered again: at least once.
      log.warn({ err: error }, 'calendar outbox: could not record a delivery');
    }
  }
}
