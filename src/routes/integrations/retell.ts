/**
 * Retell (PROTOCOL §6.2): custom functions at `POST /v1/integrations/retell/{tenant}/tools`
 * and call webhooks at `…/webhook`, both signed with the tenant's Retell API key. A bad or
 * stale signature is 401 before anything else is read or changed.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BrokerError } from '../../errors.js';
import { checkSignature } from '../../integrations/signatures.js';
import { storableJson } from '../../protocol/json-walk.js';
import { toolAnswerBody } from '../../protocol/records.js';
import { ARGS_ONLY_PROBLEM, retellCallerOf, retellEventOf, retellSignature, retellToolRequestSchema, retellWebhookSchema } from '../../protocol/retell/codec.js';
import { decodeToolArguments } from '../../protocol/webhook-fields.js';
import { parseOr400 } from '../admin.js';
import type { IntegrationContext } from './index.js';
import { jsonBody } from './raw-body.js';

export async function retellRoutes(app: FastifyInstance, { sessions, toolIds, settingsFor }: IntegrationContext) {
  /** The tenant and its locale once the signature is good; 404 without settings, 401 for a bad or stale signature. */
  async function verified(request: FastifyRequest) {
    const { tenant, settings } = await settingsFor(request, 'retell');
    const check = checkSignature(retellSignature(request.headers['x-retell-signature'], request.rawBody ?? Buffer.alloc(0)), settings.api_key, Date.now());
    if (!check.ok) throw new BrokerError('UNAUTHORIZED', `X-Retell-Signature: ${check.reason}`);
    return { tenant, locale: settings.locale ?? null };
  }

  app.post('/v1/integrations/retell/:tenant/tools', async (request) => {
    const { tenant, locale } = await verified(request);
    const body = parseOr400(retellToolRequestSchema, jsonBody(request));
    if (!body.call) throw new BrokerError('INVALID_REQUEST', ARGS_ONLY_PROBLEM, { issues: [ARGS_ONLY_PROBLEM] });
    const call = { tenantId: tenant, callId: body.call.call_id, runtime: 'retell' as const, callerPhone: retellCallerOf(body.call), locale };
    const args = decodeToolArguments(body.args);
    const id = toolIds.idFor(call, body.name, args.ok ? args.arguments : body.args);
    return sessions.serve(call, async (exchange) => {
      exchange.log({ direction: 'in', type: 'retell.function', payload: storableJson(request.body) });
      const response = await exchange.tool({ id, name: body.name, arguments: args.ok ? args.arguments : null, problem: args.ok ? null : args.problem });
      return toolAnswerBody(response);
    }, request.arrivedAt);
  });

  app.post('/v1/integrations/retell/:tenant/webhook', async (request) => {
    const { tenant, locale } = await verified(request);
    const body = parseOr400(retellWebhookSchema, jsonBody(request));
    const meaning = retellEventOf(body.event);
    if (meaning === 'ignored') return {};
    if (!body.call) throw new BrokerError('INVALID_REQUEST', `call: required for ${body.event}`);
    const call = { tenantId: tenant, callId: body.call.call_id, runtime: 'retell' as const, callerPhone: retellCallerOf(body.call), locale };
    return sessions.serve(call, async (exchange) => {
      exchange.log({ direction: 'in', type: `retell.${body.event}`, payload: storableJson(request.body) });
      if (meaning === 'end') await exchange.end();
      return {};
    }, request.arrivedAt);
  });
}
