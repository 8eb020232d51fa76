/**
 * `GET /v1/openapi.json` (PROTOCOL §2): every HTTP route of the contract as OpenAPI 3.1,
 * generated from the same zod schemas the routes validate requests with, so a salon's
 * developer can generate a client. Each operation names its schemas here; the schemas
 * themselves live once, beside the protocol they belong to. A test holds this list
 * against the routes the app really serves and against a real request of each.
 * @see ../../docs/PROTOCOL.md §2
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { callParams } from '../protocol/callhold/codec.js';
import { catalogSchema } from '../protocol/catalog.js';
import { integrationSettingsSchemas } from '../integrations/settings.js';
import { calendarSettingsSchema } from '../sync/calendar-settings.js';
import { integrationParams } from './integration-settings.js';
import { toolsQuery } from './tool-definitions.js';
import { feedQuery, listQuery, sessionParams, statsQuery } from '../protocol/inspector.js';
import { appointmentParams, blockBody, blockParams, dateQuery, frontDeskBookingBody, moveBody, tenantParams } from '../protocol/salon.js';

type Auth = 'admin' | 'admin_or_query_token' | 'runtime_token' | 'signature' | 'none';

export interface ApiOperation {
  method: 'get' | 'put' | 'post' | 'patch' | 'delete';
  /** OpenAPI path syntax: `/v1/admin/tenants/{tenant}`. */
  path: string;
  summary: string;
  auth: Auth;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Status → what it means; every operation can also answer its auth and validation errors. */
  responses: Record<string, string>;
  /** A WebSocket upgrade rather than a request and answer. */
  websocket?: boolean;
}

const errors = { '400': 'a field is wrong: `error.issues` names each', '401': 'no valid token' };
const unknownTenant = { '404': 'unknown tenant' };

export const apiOperations: ApiOperation[] = [
  { method: 'put', path: '/v1/admin/tenants/{tenant}', summary: "Replace the tenant's catalog (idempotent; appointments are kept)", auth: 'admin', params: tenantParams, body: catalogSchema, responses: { '200': 'stored', ...errors } },
  { method: 'get', path: '/v1/admin/tenants/{tenant}', summary: 'The catalog as last stored, in the shape of the PUT body', auth: 'admin', params: tenantParams, responses: { '200': 'the catalog', ...errors, ...unknownTenant } },
  { method: 'post', path: '/v1/admin/tenants/{tenant}/runtime-tokens', summary: 'Issue a runtime token (shown once; only its hash is stored)', auth: 'admin', params: tenantParams, responses: { '200': '`{"token"}`', ...errors, ...unknownTenant } },
  { method: 'get', path: '/v1/admin/tenants/{tenant}/appointments', summary: 'Appointments of a local day', auth: 'admin', params: tenantParams, query: dateQuery, responses: { '200': 'the appointments', ...errors, ...unknownTenant } },
  { method: 'post', path: '/v1/admin/tenants/{tenant}/appointments', summary: 'Book directly at the front desk', auth: 'admin', params: tenantParams, body: frontDeskBookingBody, responses: { '201': 'the appointment', '409': '`SLOT_TAKEN` with `alternatives`', ...errors, ...unknownTenant } },
  { method: 'delete', path: '/v1/admin/tenants/{tenant}/appointments/{id}', summary: 'Cancel an appointment', auth: 'admin', params: appointmentParams, responses: { '200': 'the appointment, status `cancelled`', ...errors, '404': 'unknown tenant or appointment' } },
  { method: 'patch', path: '/v1/admin/tenants/{tenant}/appointments/{id}', summary: 'Move an appointment in one transaction', auth: 'admin', params: appointmentParams, body: moveBody, responses: { '200': 'the appointment at its new time', '409': '`SLOT_TAKEN` with `alternatives`, or `NOT_BOOKED`', ...errors, '404': 'unknown tenant or appointment' } },
  { method: 'put', path: '/v1/admin/tenants/{tenant}/blocks/{block_id}', summary: 'Mark a staff member busy (idempotent by id; new times move it)', auth: 'admin', params: blockParams, body: blockBody, responses: { '200': 'the block', '409': '`SLOT_TAKEN` listing what it would overlap', ...errors, ...unknownTenant } },
  { method: 'delete', path: '/v1/admin/tenants/{tenant}/blocks/{block_id}', summary: 'Free a block', auth: 'admin', params: blockParams, responses: { '200': 'the freed block', ...errors, '404': 'unknown tenant or block' } },
  { method: 'get', path: '/v1/admin/tenants/{tenant}/blocks', summary: 'Blocks of a local day', auth: 'admin', params: tenantParams, query: dateQuery, responses: { '200': 'the blocks', ...errors, ...unknownTenant } },
  { method: 'get', path: '/v1/admin/tenants/{tenant}/day', summary: 'The day board: a column per staff member', auth: 'admin', params: tenantParams, query: dateQuery, responses: { '200': 'the day board', ...errors, ...unknownTenant } },
  { method: 'put', path: '/v1/admin/tenants/{tenant}/integrations/calendar', summary: 'Set the calendar of record (a signed webhook, or Cal.com)', auth: 'admin', params: tenantParams, body: calendarSettingsSchema, responses: { '200': 'the settings, secrets as "***"', ...errors, ...unknownTenant } },
  { method: 'get', path: '/v1/admin/tenants/{tenant}/integrations/calendar', summary: 'The calendar of record, secrets as "***"', auth: 'admin', params: tenantParams, responses: { '200': 'the settings', ...errors, '404': 'unknown tenant, or no calendar of record' } },
  { method: 'delete', path: '/v1/admin/tenants/{tenant}/integrations/calendar', summary: 'Remove the calendar of record and what was not yet delivered', auth: 'admin', params: tenantParams, responses: { '200': 'removed', ...errors, '404': 'unknown tenant, or no calendar of record' } },
  { method: 'get', path: '/v1/admin/tenants/{tenant}/sync', summary: 'Outbound delivery and inbound conflicts of the calendar of record', auth: 'admin', params: tenantParams, responses: { '200': 'pending, delivered, failing, last_error, conflicts', ...errors, ...unknownTenant } },
  { method: 'post', path: '/v1/integrations/calcom/{tenant}/webhook', summary: "Cal.com's booking webhooks (signed X-Cal-Signature-256 over the raw body)", auth: 'signature', params: tenantParams, responses: { '200': 'received', '400': 'not JSON', '401': 'the signature does not verify for this tenant' } },
  { method: 'put', path: '/v1/admin/tenants/{tenant}/integrations/{kind}', summary: "Store a runtime integration's settings (PROTOCOL §6); secrets are write-only", auth: 'admin', params: integrationParams, body: z.union(Object.values(integrationSettingsSchemas)), responses: { '200': 'the settings, secrets as "***"', ...errors, ...unknownTenant } },
  { method: 'get', path: '/v1/admin/tenants/{tenant}/integrations/{kind}', summary: "A runtime integration's settings, secrets as \"***\"", auth: 'admin', params: integrationParams, responses: { '200': 'the settings', ...errors, '404': 'unknown tenant, or no such settings' } },
  { method: 'delete', path: '/v1/admin/tenants/{tenant}/integrations/{kind}', summary: "Remove a runtime integration's settings", auth: 'admin', params: integrationParams, responses: { '200': 'removed', ...errors, '404': 'unknown tenant, or no such settings' } },
  { method: 'get', path: '/v1/tools', summary: 'The tools of §4 as one runtime’s tool definitions (PROTOCOL §6.3)', auth: 'none', query: toolsQuery, responses: { '200': 'the definitions', '400': errors['400'] } },
  { method: 'post', path: '/v1/integrations/vapi/{tenant}', summary: 'Vapi server messages (secret in X-Vapi-Secret or a bearer)', auth: 'signature', params: tenantParams, responses: { '200': 'the answer in Vapi’s shape', '400': 'not a server message', '401': 'wrong secret', '404': 'no vapi settings for the tenant' } },
  { method: 'post', path: '/v1/integrations/retell/{tenant}/tools', summary: 'Retell custom functions (X-Retell-Signature over the raw body)', auth: 'signature', params: tenantParams, responses: { '200': 'the tool result', '400': 'not the full payload', '401': 'bad or stale signature', '404': 'no retell settings for the tenant' } },
  { method: 'post', path: '/v1/integrations/retell/{tenant}/webhook', summary: 'Retell call webhooks (call_started, call_ended)', auth: 'signature', params: tenantParams, responses: { '200': 'received', '400': 'not JSON', '401': 'bad or stale signature', '404': 'no retell settings for the tenant' } },
  { method: 'post', path: '/v1/integrations/elevenlabs/{tenant}/tools/{tool}', summary: 'ElevenLabs server tools (bearer tool_secret)', auth: 'signature', params: z.object({ tenant: tenantParams.shape.tenant, tool: z.string() }), responses: { '200': 'the tool result', '400': 'bad parameters', '401': 'wrong secret', '404': 'no elevenlabs settings, or no such tool' } },
  { method: 'post', path: '/v1/integrations/elevenlabs/{tenant}/webhook', summary: 'ElevenLabs post-call webhook (ElevenLabs-Signature)', auth: 'signature', params: tenantParams, responses: { '200': 'received', '400': 'not JSON', '401': 'bad or stale signature', '404': 'no elevenlabs settings for the tenant' } },
  { method: 'post', path: '/v1/integrations/openai/{tenant}/webhook', summary: "OpenAI's realtime.call.incoming (Standard Webhooks over the raw body): the broker accepts the call and holds its sideband", auth: 'signature', params: tenantParams, responses: { '200': 'received', '400': 'not JSON', '401': 'bad or stale signature', '404': 'no openai_realtime settings for the tenant', '503': 'storage unavailable' } },
  { method: 'get', path: '/v1/sessions', summary: 'Sessions, newest first (total in `x-total-count`)', auth: 'admin', query: listQuery, responses: { '200': 'the sessions', ...errors } },
  { method: 'get', path: '/v1/sessions/stats', summary: "What became of each tenant's holds", auth: 'admin', query: statsQuery, responses: { '200': 'per tenant', ...errors } },
  { method: 'get', path: '/v1/sessions/machine', summary: "The session machine's state tree", auth: 'admin', responses: { '200': 'the states', '401': errors['401'] } },
  { method: 'get', path: '/v1/sessions/{tenant}/{call_id}', summary: 'One session: state, context, holds, every frame, a summary', auth: 'admin', params: sessionParams, responses: { '200': 'the session', ...errors, '404': 'no such session' } },
  { method: 'get', path: '/v1/sessions/feed', summary: 'Live feed of session changes (WebSocket)', auth: 'admin_or_query_token', query: feedQuery, websocket: true, responses: { '101': 'upgraded', ...errors } },
  { method: 'get', path: '/v1/calls/{call_id}', summary: 'The call WebSocket of a voice runtime (PROTOCOL §3)', auth: 'runtime_token', params: callParams, websocket: true, responses: { '101': 'upgraded', '401': 'no valid runtime token', '503': 'storage unavailable, or the instance is at MAX_LIVE_SESSIONS' } },
  { method: 'get', path: '/v1/openapi.json', summary: 'This document', auth: 'none', responses: { '200': 'OpenAPI 3.1' } },
];

const jsonSchema = (schema: z.ZodType) => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

const security: Record<Auth, Array<Record<string, string[]>>> = {
  admin: [{ adminToken: [] }],
  admin_or_query_token: [{ adminToken: [] }, { adminTokenQuery: [] }],
  runtime_token: [{ runtimeToken: [] }, { runtimeTokenQuery: [] }],
  signature: [],
  none: [],
};

function parametersOf(operation: ApiOperation) {
  const of = (where: 'path' | 'query', schema: z.ZodObject | undefined) => {
    if (!schema) return [];
    const described = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
    return Object.entries(described.properties ?? {}).map(([name, property]) => ({
      name,
      in: where,
      required: where === 'path' || (described.required ?? []).includes(name),
      schema: property,
    }));
  };
  return [...of('path', operation.params), ...of('query', operation.query)];
}

/** The OpenAPI 3.1 document of `operations`. */
export function openApiDocument(operations: ApiOperation[] = apiOperations) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of operations) {
    paths[operation.path] ??= {};
    paths[operation.path]![operation.method] = {
      summary: operation.summary,
      security: security[operation.auth],
      parameters: parametersOf(operation),
      ...(operation.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(operation.body) } } } } : {}),
      responses: Object.fromEntries(
        Object.entries(operation.responses).map(([status, description]) => [
          status,
          { description, ...(Number(status) >= 400 ? { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } : {}) },
        ]),
      ),
      ...(operation.websocket ? { 'x-websocket': true } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'callhold broker', version: '1', description: 'The admin, salon and inspector HTTP API of callhold (docs/PROTOCOL.md).' },
    paths,
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
        adminTokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: 'ADMIN_TOKEN, for browsers on WebSockets' },
        runtimeToken: { type: 'http', scheme: 'bearer', description: 'a runtime token of the tenant' },
        runtimeTokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: 'a runtime token, for runtimes that cannot set headers' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, issues: { type: 'array', items: { type: 'string' } } } } },
        },
      },
    },
  };
}

export async function openApiRoutes(app: FastifyInstance) {
  const document = openApiDocument();
  app.get('/v1/openapi.json', async () => document);
}
