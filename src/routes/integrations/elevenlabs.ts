/**
 * ElevenLabs (PROTOCOL §6.2): server tools at `POST /v1/integrations/elevenlabs/{tenant}/tools/{tool}`
 * (`Authorization: Bearer <tool_secret>`, checked before the body is read) and the
 * post-call webhook at `…/webhook` (signed with the webhook secret; a bad or stale
 * signature is 401 before anything else is read or changed).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BrokerError } from '../../errors.js';
import { checkSignature } from '../../integrations/signatures.js';
import { elevenLabsEventOf, elevenLabsSignature, elevenLabsToolName, elevenLabsToolRequestSchema, elevenLabsWebhookSchema } from '../../protocol/elevenlabs/codec.js';
import { storableJson } from '../../protocol/json-walk.js';
import { toolAnswerBody } from '../../protocol/records.js';
import { decodeToolArguments } from '../../protocol/webhook-fields.js';
import { parseOr400 } from '../admin.js';
import { bearerToken, sameSecret } from '../auth.js';
import type { IntegrationContext } from './index.js';
import { jsonBody } from './raw-body.js';

export async function elevenLabsRoutes(app: FastifyInstance, { sessions, toolIds, settingsFor }: IntegrationContext) {
  const locales = new WeakMap<FastifyRequest, string | null>();

  async function authenticateTool(request: FastifyRequest) {
    const { settings } = await settingsFor(request, 'elevenlabs');
    const given = bearerToken(request);
    if (!given || !sameSecret(given, settings.tool_secret)) throw new BrokerError('UNAUTHORIZED', 'a valid bearer tool secret is required');
    locales.set(request, settings.locale ?? null);
  }

  app.post('/v1/integrations/elevenlabs/:tenant/tools/:tool', { onRequest: authenticateTool }, async (request) => {
    const { tenant, tool } = request.params as { tenant: string; tool: string };
    const name = parseOr400(elevenLabsToolName, tool);
    const { callId, callerPhone, parameters } = parseOr400(elevenLabsToolRequestSchema, jsonBody(request));
    const call = { tenantId: tenant, callId, runtime: 'elevenlabs' as const, callerPhone, locale: locales.get(request) ?? null };
    const args = decodeToolArguments(parameters);
    const id = toolIds.idFor(call, name, parameters);
    return sessions.serve(call, async (exchange) => {
      exchange.log({ direction: 'in', type: `elevenlabs.tool`, payload: storableJson({ tool: name, body: request.body }) });
      const response = await exchange.tool({ id, name, arguments: args.ok ? args.arguments : null, problem: args.ok ? null : args.problem });
      return toolAnswerBody(response);
    }, request.arrivedAt);
  });

  app.post('/v1/integrations/elevenlabs/:tenant/webhook', async (request) => {
    const { tenant, settings } = await settingsFor(request, 'elevenlabs');
    const check = checkSignature(elevenLabsSignature(request.headers['elevenlabs-signature'], request.rawBody ?? Buffer.alloc(0)), settings.webhook_secret, Date.now());
    if (!check.ok) throw new BrokerError('UNAUTHORIZED', `ElevenLabs-Signature: ${check.reason}`);
    const body = parseOr400(elevenLabsWebhookSchema, jsonBody(request));
    if (elevenLabsEventOf(body.type) === 'ignored') return {};
    if (!body.data) throw new BrokerError('INVALID_REQUEST', `data.conversation_id: required for ${body.type}`);
    const call = { tenantId: tenant, callId: body.data.conversation_id, runtime: 'elevenlabs' as const, callerPhone: null, locale: settings.locale ?? null };
    return sessions.serve(call, async (exchange) => {
      exchange.log({ direction: 'in', type: `elevenlabs.${body.type}`, payload: storableJson(request.body) });
      await exchange.end();
      return {};
    }, request.arrivedAt);
  });
}
