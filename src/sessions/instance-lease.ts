/**
 * This instance's place among the brokers on one database (PROTOCOL §3). It keeps the
 * instance's lease alive, hears takeover notices (LISTEN/NOTIFY on PostgreSQL), and on
 * each beat checks that the sessions held here are still owned here and adopts the live
 * sessions of instances whose lease has run out, so a killed instance's calls still end
 * (as `dropped`, after their grace) unless their runtime reconnects somewhere first.
 * Notices only make a takeover visible sooner: the fences in storage are what keep a
 * stale instance from writing.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { SessionRecord, SessionStore } from './ports.js';
import type { SessionHost } from './session-host.js';

/** The channel `callhold_claim_session` and `callhold_adopt_sessions` notify, with `<session id> <epoch>`. */
export const SESSION_OWNER_CHANNEL = 'callhold_session_owner';

/** Beats per lease: a lease survives a few missed beats (a slow query, a GC pause). */
const BEATS_PER_LEASE = 4;

export interface InstanceLeaseOptions {
  instanceId: string;
  leaseMs: number;
  store: Pick<SessionStore, 'renewLease' | 'endLease'>;
  host: SessionHost;
  logger: FastifyBaseLogger;
  /** Sessions this instance took on (recovered at start or adopted): an integration may need to redial their calls. */
  onAdopted: (records: SessionRecord[]) => void;
  listen?: ((onNotify: (payload: string) => void) => Promise<() => Promise<void>>) | undefined;
}

export class InstanceLease {
  private timers: NodeJS.Timeout[] = [];
  private renewing: Promise<void> | null = null;
  private beating: Promise<void> | null = null;
  private unlisten: (() => Promise<void>) | null = null;

  constructor(private readonly options: InstanceLeaseOptions) {}

  /** Registers the instance, listens for takeovers, and brings back what it owns and what nobody serves. */
  async start(): Promise<void> {
    const { store, host, instanceId, leaseMs, logger } = this.options;
    await store.renewLease(instanceId, leaseMs);
    // Renewal has a timer of its own: a long recovery or adoption must not let the lease lapse.
    this.every(() => (this.renewing ??= this.renew().finally(() => (this.renewing = null))));
    this.unlisten = (await this.options.listen?.((payload) => this.onNotice(payload))) ?? null;
    const recovered = await host.recover();
    if (recovered.length > 0) {
      logger.info({ recovered: recovered.length, instance: instanceId }, 'recovered live sessions');
      this.options.onAdopted(recovered);
    }
    this.every(() => (this.beating ??= this.beat().finally(() => (this.beating = null))));
  }

  /** Stops beating: no beat starts any more (one under way may still finish). */
  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  /**
   * Once the sessions are stored: stops listening and gives the lease up, so other
   * instances adopt at once what nobody resumes elsewhere.
   */
  async release(): Promise<void> {
    this.stop();
    await Promise.all([this.beating, this.renewing]);
    await this.unlisten?.().catch(() => {});
    this.unlisten = null;
    await this.options.store.endLease(this.options.instanceId).catch((error) => this.options.logger.warn({ err: error }, 'giving up the instance lease failed'));
  }

  private every(run: () => unknown): void {
    const timer = setInterval(run, this.options.leaseMs / BEATS_PER_LEASE);
    timer.unref();
    this.timers.push(timer);
  }

  private async renew(): Promise<void> {
    await this.options.store.renewLease(this.options.instanceId, this.options.leaseMs).catch((error) => this.options.logger.warn({ err: error }, 'renewing the instance lease failed'));
  }

  /** Lets go of the sessions this instance lost, and adopts one batch of those nobody serves. */
  private async beat(): Promise<void> {
    const { host, instanceId, logger } = this.options;
    try {
      await host.checkOwnership();
      const adopted = await host.adopt();
      if (adopted.length > 0) {
        logger.info({ adopted: adopted.length, instance: instanceId }, 'adopted the live sessions of an instance whose lease ran out');
        this.options.onAdopted(adopted);
      }
    } catch (error) {
      logger.warn({ err: error }, 'instance lease beat failed');
    }
  }

  private onNotice(payload: string): void {
    const [sessionId, epoch] = payload.split(' ');
    if (sessionId && epoch) this.options.host.ownerMoved(sessionId, Number(epoch));
  }
}
