/**
 * From a verified `realtime.call.incoming` webhook to a live session (PROTOCOL §6.1):
 * de-duplicates deliveries by `webhook-id`, accepts the call with our tools, and opens the
 * call's sideband, which then carries the session. One per app (no module state).
 *
 * Deliveries are remembered in memory for twice the signature's timestamp window: a
 * delivery older than the window fails verification anyway, so nothing older needs
 * remembering. The memory is per broker instance; a repeat that reaches another instance
 * is still caught by the call itself (its session exists, and OpenAI refuses a second
 * accept of one call) but would be accepted a second time there (README: limitations).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { CatalogCache } from '../../booking/catalog-cache.js';
import { languageOf } from '../../language/index.js';
import {
  acceptBody,
  callerNumberOf,
  DEFAULT_REALTIME_MODEL,
  DEFAULT_TRANSCRIPTION_MODEL,
  defaultInstructions,
} from '../../protocol/openai-realtime/codec.js';
import type { IncomingCall } from '../../protocol/openai-realtime/events.js';
import type { SessionOpening, SessionRecord } from '../../sessions/ports.js';
import type { SessionHost } from '../../sessions/session-host.js';
import type { IntegrationSettingsOf } from '../settings.js';
import { acceptCall } from './calls-api.js';
import { SidebandClient, type Backoff, type SidebandOptions } from './sideband-client.js';

export type OpenAiRealtimeSettings = IntegrationSettingsOf<'openai_realtime'>;

/** Standard Webhooks' timestamp window (PROTOCOL §6: ±300 s). */
export const WEBHOOK_TOLERANCE_MS = 300_000;

export interface IncomingCallsOptions {
  host: SessionHost;
  /** One tenant's `openai_realtime` settings, secrets included (rejects when it has none). */
  settingsOf(tenantId: string): Promise<OpenAiRealtimeSettings>;
  catalogs: CatalogCache;
  logger: FastifyBaseLogger;
  baseUrl: string;
  realtimeUrl: string;
  resumeGraceMs: number;
  clock?: () => number;
  backoff?: Backoff;
}

export class OpenAiIncomingCalls {
  /** `tenant \0 webhook-id` → when it was first seen, oldest first. */
  private readonly deliveries = new Map<string, number>();
  private readonly sidebands = new Map<string, SidebandClient>();
  private readonly accepting = new Set<string>();
  private readonly aborts = new AbortController();
  private readonly clock: () => number;
  private stopped = false;

  constructor(private readonly options: IncomingCallsOptions) {
    this.clock = options.clock ?? Date.now;
  }

  get liveSidebands(): number {
    return this.sidebands.size;
  }

  /** True the first time a delivery id is seen for the tenant, false for a repeat. */
  firstDelivery(tenantId: string, webhookId: string): boolean {
    const now = this.clock();
    for (const [key, seenAt] of this.deliveries) {
      if (now - seenAt <= 2 * WEBHOOK_TOLERANCE_MS) break;
      this.deliveries.delete(key);
    }
    const key = `${tenantId}\u0000${webhookId}`;
    if (this.deliveries.has(key)) return false;
    this.deliveries.set(key, now);
    return true;
  }

  /** Accepts the call and opens its sideband, in the background; failures are logged, never thrown. */
  handle(tenantId: string, call: IncomingCall, settings: OpenAiRealtimeSettings): void {
    void this.answer(tenantId, call, settings).catch((error) => this.options.logger.error({ err: error, tenant: tenantId, call_id: call.data.call_id }, 'answering an OpenAI call failed'));
  }

  private async answer(tenantId: string, call: IncomingCall, settings: OpenAiRealtimeSettings): Promise<void> {
    const callId = call.data.call_id;
    const key = `${tenantId}\u0000${callId}`;
    const logger = this.options.logger.child({ tenant: tenantId, call_id: callId, runtime: 'openai_realtime' });
    // Another delivery of the same call (a new webhook id for it) while it is being answered or live.
    if (this.stopped || this.accepting.has(key) || this.sidebands.has(key)) return;
    this.accepting.add(key);
    try {
      const locale = settings.locale ?? null;
      const language = languageOf(locale ?? undefined);
      const catalog = await this.options.catalogs.get(tenantId);
      const body = acceptBody({
        model: settings.model ?? DEFAULT_REALTIME_MODEL,
        voice: settings.voice ?? null,
        instructions: settings.instructions ?? defaultInstructions(language, catalog?.name ?? tenantId),
        locale,
        transcriptionModel: DEFAULT_TRANSCRIPTION_MODEL,
      });
      const accepted = await acceptCall({ baseUrl: this.options.baseUrl, apiKey: settings.api_key, callId, body, signal: this.aborts.signal });
      if (!accepted.ok) {
        logger.error({ status: accepted.status, attempts: accepted.attempts, message: accepted.message }, 'OpenAI refused to accept the call');
        return;
      }
      if (this.stopped) return;
      logger.info({ attempts: accepted.attempts }, 'OpenAI call accepted; opening the sideband');
      this.openSideband(tenantId, callId, settings, { callerPhone: callerNumberOf(call), locale, runtime: 'openai_realtime' }, logger, [
        { direction: 'in', type: call.type, payload: call },
        { direction: 'out', type: 'realtime.call.accept', payload: body },
      ]);
    } finally {
      this.accepting.delete(key);
    }
  }

  private openSideband(tenantId: string, callId: string, settings: OpenAiRealtimeSettings, opening: SessionOpening, logger: FastifyBaseLogger, prelude: SidebandOptions['prelude']): void {
    const key = `${tenantId}\u0000${callId}`;
    const url = new URL(this.options.realtimeUrl);
    url.searchParams.set('call_id', callId);
    const sideband = new SidebandClient({
      url: url.toString(),
      apiKey: settings.api_key,
      host: this.options.host,
      tenantId,
      callId,
      opening,
      language: languageOf(settings.locale),
      resumeGraceMs: this.options.resumeGraceMs,
      logger,
      ...(this.options.clock ? { clock: this.options.clock } : {}),
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
      prelude,
      onFinished: () => {
        if (this.sidebands.get(key) === sideband) this.sidebands.delete(key);
      },
    });
    this.sidebands.set(key, sideband);
    sideband.start();
  }

  /**
   * Sessions this instance took on (recovered after a restart, or adopted from an instance
   * that died): redials the sideband of each OpenAI call among them, so its session resumes
   * with its hold instead of waiting out its grace. A call OpenAI ended meanwhile refuses the
   * redial, and its session ends as `dropped` when the grace is over, as any lost call's.
   */
  async redial(taken: SessionRecord[]): Promise<number> {
    const records = taken.filter((record) => record.runtime === 'openai_realtime');
    let redialled = 0;
    for (const record of records) {
      const key = `${record.tenantId}\u0000${record.callId}`;
      if (this.stopped || this.sidebands.has(key)) continue;
      const logger = this.options.logger.child({ tenant: record.tenantId, call_id: record.callId, runtime: 'openai_realtime' });
      let settings: OpenAiRealtimeSettings;
      try {
        settings = await this.options.settingsOf(record.tenantId);
      } catch (error) {
        logger.warn({ err: error }, 'not redialling a recovered OpenAI call: no settings');
        continue;
      }
      // The opening is the machine's already (caller, locale): a recovered session keeps its own.
      this.openSideband(record.tenantId, record.callId, settings, { callerPhone: null, locale: settings.locale ?? null, runtime: 'openai_realtime' }, logger, undefined);
      redialled++;
    }
    return redialled;
  }

  /** Stops accepting and redialling; sessions stay resumable (the host's shutdown closes their ports). */
  stop(): void {
    this.stopped = true;
    this.aborts.abort();
    for (const sideband of this.sidebands.values()) sideband.stop();
    this.sidebands.clear();
  }
}
