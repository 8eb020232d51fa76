/**
 * `POST /v1/integrations/openai/{tenant}/webhook` (PROTOCOL §6.1): OpenAI's
 * `realtime.call.incoming`. Thin: reads the raw body (the signature covers its exact
 * bytes), verifies it with the tenant's `webhook_secret` (bad or stale: 401, nothing
 * happens), answers 200 at once, and leaves the accept and the sideband to
 * `OpenAiIncomingCalls`, after the answer. A repeated delivery (same `webhook-id`) gets the
 * same 200 and does nothing; other event types are 200 and ignored.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Broker } from '../broker.js';
import { BrokerError } from '../errors.js';
import { describeIssues } from '../protocol/issues.js';
import { incomingCallSchema } from '../protocol/openai-realtime/events.js';
import { verifyStandardWebhook } from '../protocol/standard-webhooks.js';
import { parseOr400 } from './admin.js';

const tenantParams = z.object({ tenant: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1-64 characters of [A-Za-z0-9_.:-]') });

/** Like the call upgrade (routes/calls.ts): a stalled database answers 503 in time, never a hang. */
const SETTINGS_LOOKUP_DEADLINE_MS = 1500;

export async function openAiRealtimeRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  const calls = broker.openAiCalls;

  async function settingsOf(tenant: string) {
    let deadline: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        broker.integrationSettings.require(tenant, 'openai_realtime'),
        new Promise<never>((_, reject) => {
          deadline = setTimeout(() => reject(new BrokerError('UNAVAILABLE', 'storage is unavailable; try again shortly')), SETTINGS_LOOKUP_DEADLINE_MS);
        }),
      ]);
    } catch (error) {
      if (error instanceof BrokerError) throw error;
      throw new BrokerError('UNAVAILABLE', 'storage is unavailable; try again shortly', { cause: error });
    } finally {
      clearTimeout(deadline);
    }
  }

  // This plugin's own parser: the body as the exact text that came, whatever its type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.post('/v1/integrations/openai/:tenant/webhook', async (request, reply) => {
    const { tenant } = parseOr400(tenantParams, request.params);
    const settings = await settingsOf(tenant);
    const raw = typeof request.body === 'string' ? request.body : '';
    const verified = verifyStandardWebhook(raw, request.headers, settings.webhook_secret);
    if (!verified.ok) {
      request.log.warn({ tenant, reason: verified.reason }, 'OpenAI webhook refused');
      throw new BrokerError('UNAUTHORIZED', `webhook signature not valid: ${verified.reason}`);
    }
    const type = (verified.payload as { type?: unknown } | null)?.type;
    if (type !== 'realtime.call.incoming') return reply.status(200).send({ received: true });
    const parsed = incomingCallSchema.safeParse(verified.payload);
    if (!parsed.success) {
      const issues = describeIssues(parsed.error);
      throw new BrokerError('INVALID_REQUEST', issues.join('; '), { issues });
    }
    // A repeat gets the first answer again, and nothing happens twice.
    if (!calls.firstDelivery(tenant, verified.id)) return reply.status(200).send({ received: true });
    // Accepting is OpenAI's next request, not part of this answer: it starts once this one is sent.
    reply.raw.once('close', () => calls.handle(tenant, parsed.data, settings));
    return reply.status(200).send({ received: true });
  });
}
