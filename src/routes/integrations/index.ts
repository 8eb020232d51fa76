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
import { DerivedToolCallIds } from '../../integrations/tool-call-ids.js';
import { parseOr400 } from '../admin.js';
import { elevenLabsRoutes } from './elevenlabs.js';
import { keepRawBody } from './raw-body.js';
import { retellRoutes } from './retell.js';
import { vapiRoutes } from './vapi.js';

const tenantParams = z.object({ tenant: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1-64 characters of [A-Za-z0-9_.:-]') });

export interface IntegrationContext {
  broker: Broker;
  sessions: HttpSessions;
  toolIds: DerivedToolCallIds;
  /** The tenant of the request and its settings for `kind`: 404 without them, 503 when storage does not answer in time and they were never read. */
  settingsFor<K extends IntegrationKind>(request: FastifyRequest, kind: K): Promise<{ tenant: string; settings: IntegrationSettingsOf<K> }>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** When an integration request arrived: its 2 s answer deadline counts from here. */
    arrivedAt?: number;
  }
}

export async function integrationRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  keepRawBody(app);
  // Before every other hook: authentication's storage lookups count against the 2 s too.
  app.addHook('onRequest', async (request) => {
    request.arrivedAt = Date.now();
  });
  const sessions = new HttpSessions({
    host: broker.sessions,
    sessionStore: broker.sessionStore,
    idleMs: broker.config.httpSessionIdleMs,
    maxLiveSessions: broker.config.maxLiveSessions,
  });
  const context: IntegrationContext = {
    broker,
    sessions,
    toolIds: new DerivedToolCallIds(),
    async settingsFor(request, kind) {
      const { tenant } = parseOr400(tenantParams, request.params);
      try {
        return { tenant, settings: await broker.integrationSettings.require(tenant, kind) };
      } catch (error) {
        if (error instanceof BrokerError && error.code === 'UNAVAILABLE') request.log.warn({ err: error.cause }, 'integration request refused: storage unavailable');
        throw error;
      }
    },
  };
  await app.register(vapiRoutes, context);
  await app.register(retellRoutes, context);
  await app.register(elevenLabsRoutes, context);
}
