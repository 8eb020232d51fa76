/**
 * Vapi server messages (PROTOCOL §6.2): `POST /v1/integrations/vapi/{tenant}`, the secret
 * in `X-Vapi-Secret` or `Authorization: Bearer`. Checked before the body is read.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BrokerError } from '../../errors.js';
import { encodeVapiResults, vapiCallOf, vapiMessageOf, vapiRequestSchema } from '../../protocol/vapi/codec.js';
import { storableJson } from '../../protocol/json-walk.js';
import { parseOr400 } from '../admin.js';
import { bearerToken, sameSecret } from '../auth.js';
import type { IntegrationContext } from './index.js';
import { jsonBody } from './raw-body.js';

export async function vapiRoutes(app: FastifyInstance, { sessions, settingsFor }: IntegrationContext) {
  const locales = new WeakMap<FastifyRequest, string | null>();

  async function authenticate(request: FastifyRequest) {
    const { settings } = await settingsFor(request, 'vapi');
    const header = request.headers['x-vapi-secret'];
    const given = (typeof header === 'string' ? header : null) ?? bearerToken(request);
    if (!given || !sameSecret(given, settings.secret)) throw new BrokerError('UNAUTHORIZED', 'a valid X-Vapi-Secret or bearer secret is required');
    locales.set(request, settings.locale ?? null);
  }

  app.post('/v1/integrations/vapi/:tenant', { onRequest: authenticate }, async (request) => {
    const { tenant } = request.params as { tenant: string };
    const body = parseOr400(vapiRequestSchema, jsonBody(request));
    const message = vapiMessageOf(body);
    if (message.kind === 'invalid') throw new BrokerError('INVALID_REQUEST', message.issues.join('; '), { issues: message.issues });
    if (message.kind === 'ignored') return {};
    const { callId, callerPhone } = vapiCallOf(body);
    const call = { tenantId: tenant, callId, runtime: 'vapi' as const, callerPhone, locale: locales.get(request) ?? null };
    return sessions.serve(call, async (exchange) => {
      exchange.log({ direction: 'in', type: `vapi.${body.message.type}`, payload: storableJson(request.body) });
      if (message.kind === 'activity') return {};
      if (message.kind === 'end') {
        await exchange.end();
        return {};
      }
      // In order, as the contract asks; the machine would queue them in order too.
      const answers = [];
      for (const toolCall of message.calls) answers.push({ call: toolCall, response: await exchange.tool(toolCall) });
      return encodeVapiResults(answers);
    }, request.arrivedAt);
  });
}
