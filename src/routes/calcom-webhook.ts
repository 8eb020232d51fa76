/**
 * Cal.com's webhooks (PROTOCOL §7): `POST /v1/integrations/calcom/{tenant}/webhook`.
 * The signature (`X-Cal-Signature-256`, hex HMAC-SHA256 of the raw body with the tenant's
 * `webhook_secret`) is checked over the bytes as they came, so this plugin parses bodies
 * itself; a bad signature, or a tenant without a Cal.com calendar, is 401 and changes
 * nothing (one answer for both, so the route does not tell which tenants exist).
 * @see ../../../shared/PROTOCOL.md §7
 */
import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker.js';
import { BrokerError } from '../errors.js';
import { tenantParams } from '../protocol/salon.js';
import { calcomSignatureValid } from '../sync/calcom-inbound.js';
import { parseOr400 } from './admin.js';

export async function calcomWebhookRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  // Encapsulated in this plugin: every other route keeps fastify's JSON parser.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post('/v1/integrations/calcom/:tenant/webhook', async (request) => {
    const { tenant } = parseOr400(tenantParams, request.params);
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const [calendar, catalog] = await Promise.all([broker.calendarSync.settings(tenant), broker.catalogAdmin.catalog(tenant)]);
    const header = request.headers['x-cal-signature-256'];
    if (!catalog || calendar?.kind !== 'calcom' || !calcomSignatureValid(raw, typeof header === 'string' ? header : undefined, calendar.webhook_secret)) {
      throw new BrokerError('UNAUTHORIZED', 'X-Cal-Signature-256 does not verify for this tenant');
    }
    let event: { triggerEvent?: unknown; payload?: unknown };
    try {
      event = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new BrokerError('INVALID_REQUEST', 'body: expected JSON');
    }
    const outcome = await broker.calendarSync.inbound.handle(catalog, calendar, event ?? {});
    request.log.info({ tenant, trigger: event?.triggerEvent, outcome }, 'Cal.com webhook');
    return { received: true, outcome };
  });
}
