/**
 * The HTTP tool-webhook runtimes (PROTOCOL §6.2): Vapi, Retell, ElevenLabs. Each is a
 * codec in `src/protocol/<runtime>/` and a thin route here; all of them share the raw-body
 * parser, the signature checks (src/integrations/signatures.ts), the derived tool call ids
 * and the HTTP-session transport (src/integrations/http-session.ts). Registered as one
 * encapsulation context, so the raw-body parser applies to these routes only.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Broker } from '../../broker.js';
import { BrokerError } from '../../errors.js';
import { HttpSessions } from '../../integrations/http-session.js';
import type { IntegrationKind, IntegrationSettingsOf } from '../../integrations/settings.js';
import { parseOr400 } from '../admin.js';
import { keepRawBody } from './raw-body.js';
import { vapiRoutes } from './vapi.js';

/** Like the call upgrade (routes/calls.ts): a stalled database answers 503 in time, never a hang. */
const SETTINGS_LOOKUP_DEADLINE_MS = 1500;

const tenantParams = z.object({ tenant: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1-64 characters of [A-Za-z0-9_.:-]') });

export interface IntegrationContext {
  broker: Broker;
  sessions: HttpSessions;
  /** The tenant of the request and its settings for `kind`: 404 without them, 503 when storage does not answer in time. */
  settingsFor<K extends IntegrationKind>(request: FastifyRequest, kind: K): Promise<{ tenant: string; settings: IntegrationSettingsOf<K> }>;
}

export async function integrationRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  keepRawBody(app);
  const sessions = new HttpSessions({
    host: broker.sessions,
    sessionStore: broker.sessionStore,
    idleMs: broker.config.httpSessionIdleMs,
    maxLiveSessions: broker.config.maxLiveSessions,
  });
  const context: IntegrationContext = {
    broker,
    sessions,
    async settingsFor(request, kind) {
      const { tenant } = parseOr400(tenantParams, request.params);
      let deadline: NodeJS.Timeout | undefined;
      try {
        const settings = await Promise.race([
          broker.integrationSettings.require(tenant, kind),
          new Promise<never>((_, reject) => {
            deadline = setTimeout(() => reject(new BrokerError('UNAVAILABLE', 'storage is unavailable; try again shortly')), SETTINGS_LOOKUP_DEADLINE_MS);
          }),
        ]);
        return { tenant, settings };
      } catch (error) {
        if (error instanceof BrokerError) throw error;
        request.log.warn({ err: error }, 'integration request refused: storage unavailable');
        throw new BrokerError('UNAVAILABLE', 'storage is unavailable; try again shortly', { cause: error });
      } finally {
        clearTimeout(deadline);
      }
    },
  };
  await app.register(vapiRoutes, context);
}
