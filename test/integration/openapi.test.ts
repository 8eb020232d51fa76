/**
 * `GET /v1/openapi.json` (PROTOCOL §2): the document lists exactly the HTTP routes the
 * app serves under /v1, and each operation is held against a real request: a valid
 * example is accepted by the route and by the documented schema alike, and a broken one
 * is refused by both.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { apiOperations } from '../../src/routes/openapi.js';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { drivers } from '../fixtures/database.js';
import { berlin, upcoming } from '../fixtures/dates.js';

const ajv = new Ajv2020({ strict: false, validateFormats: false });

describe.each(drivers)('the OpenAPI document on %s', (driver) => {
  let broker: TestBroker;
  let document: any;
  const monday = upcoming('mon', 3);
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    broker = await startBroker(driver);
    const token = await broker.tenant('api');
    const booked = await broker.admin('POST', '/v1/admin/tenants/api/appointments', { service: 'herrenschnitt', staff: 'fabian', date: monday, time: '09:00', customer_name: 'Ada' });
    ids.appointment = booked.body.id;
    const call = await RuntimeClient.connect(broker.url, 'api-call', token);
    await call.start();
    await call.end();
    const response = await fetch(new URL('/v1/openapi.json', broker.url));
    expect(response.status).toBe(200);
    document = await response.json();
  });
  afterAll(() => broker.close());

  it('is OpenAPI 3.1 and documents exactly the /v1 routes the app serves', () => {
    expect(document.openapi).toBe('3.1.0');
    const served = new Set(
      broker.app.servedRoutes.filter((route) => route.url.startsWith('/v1/')).map((route) => `${route.method} ${route.url.replace(/:(\w+)/g, '{$1}')}`),
    );
    const documented = new Set(Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods as object).map((method) => `${method.toUpperCase()} ${path}`)));
    expect([...documented].sort()).toEqual([...served].sort());
  });

  /** A valid request of each operation, and one the contract refuses (when it takes a body). */
  const examples: Record<string, { url: string; body?: unknown; broken?: unknown; status: number }> = {
    'put /v1/admin/tenants/{tenant}': { url: '/v1/admin/tenants/api2', body: { name: 'Zwei', timezone: 'Europe/Berlin', opening_hours: { mon: [['09:00', '18:00']] }, staff: [{ id: 'a', name: 'A', services: ['s'] }], services: [{ id: 's', name: 'S', phases: [{ minutes: 30, staff_busy: true }] }] }, broken: { name: 'Zwei' }, status: 200 },
    'get /v1/admin/tenants/{tenant}': { url: '/v1/admin/tenants/api', status: 200 },
    'post /v1/admin/tenants/{tenant}/runtime-tokens': { url: '/v1/admin/tenants/api/runtime-tokens', status: 200 },
    'get /v1/admin/tenants/{tenant}/appointments': { url: `/v1/admin/tenants/api/appointments?date=${monday}`, status: 200 },
    'post /v1/admin/tenants/{tenant}/appointments': { url: '/v1/admin/tenants/api/appointments', body: { service: 'herrenschnitt', staff: 'fabian', start: berlin(monday, '11:00'), customer_name: 'Bea' }, broken: { service: 'herrenschnitt', customer_name: 7 }, status: 201 },
    'patch /v1/admin/tenants/{tenant}/appointments/{id}': { url: '/v1/admin/tenants/api/appointments/:appointment', body: { start: berlin(monday, '10:00') }, broken: { start: 'ten' }, status: 200 },
    'delete /v1/admin/tenants/{tenant}/appointments/{id}': { url: '/v1/admin/tenants/api/appointments/:appointment', status: 200 },
    'put /v1/admin/tenants/{tenant}/blocks/{block_id}': { url: '/v1/admin/tenants/api/blocks/lunch', body: { staff: 'lena', start: berlin(monday, '12:00'), end: berlin(monday, '13:00') }, broken: { staff: 'lena', start: berlin(monday, '12:00') }, status: 200 },
    'get /v1/admin/tenants/{tenant}/blocks': { url: `/v1/admin/tenants/api/blocks?date=${monday}`, status: 200 },
    'delete /v1/admin/tenants/{tenant}/blocks/{block_id}': { url: '/v1/admin/tenants/api/blocks/lunch', status: 200 },
    'get /v1/admin/tenants/{tenant}/day': { url: `/v1/admin/tenants/api/day?date=${monday}`, status: 200 },
    'put /v1/admin/tenants/{tenant}/integrations/calendar': { url: '/v1/admin/tenants/api/integrations/calendar', body: { kind: 'webhook', url: 'http://127.0.0.1:9/hook', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }, broken: { kind: 'webhook', url: 'not a url' }, status: 200 },
    'get /v1/admin/tenants/{tenant}/integrations/calendar': { url: '/v1/admin/tenants/api/integrations/calendar', status: 200 },
    'get /v1/admin/tenants/{tenant}/sync': { url: '/v1/admin/tenants/api/sync', status: 200 },
    'delete /v1/admin/tenants/{tenant}/integrations/calendar': { url: '/v1/admin/tenants/api/integrations/calendar', status: 200 },
    'post /v1/integrations/calcom/{tenant}/webhook': { url: '/v1/integrations/calcom/api/webhook', status: 401 },
    'put /v1/admin/tenants/{tenant}/integrations/{kind}': { url: '/v1/admin/tenants/api/integrations/vapi', body: { secret: 'a-long-random-vapi-secret' }, broken: { secret: 'a-long-random-vapi-secret', extra: 1 }, status: 200 },
    'get /v1/admin/tenants/{tenant}/integrations/{kind}': { url: '/v1/admin/tenants/api/integrations/vapi', status: 200 },
    'delete /v1/admin/tenants/{tenant}/integrations/{kind}': { url: '/v1/admin/tenants/api/integrations/vapi', status: 200 },
    'get /v1/tools': { url: '/v1/tools?format=openai&locale=de-DE', status: 200 },
    'post /v1/integrations/vapi/{tenant}': { url: '/v1/integrations/vapi/api', status: 404 },
    'post /v1/integrations/retell/{tenant}/tools': { url: '/v1/integrations/retell/api/tools', status: 404 },
    'post /v1/integrations/retell/{tenant}/webhook': { url: '/v1/integrations/retell/api/webhook', status: 404 },
    'post /v1/integrations/elevenlabs/{tenant}/tools/{tool}': { url: '/v1/integrations/elevenlabs/api/tools/list_services', status: 404 },
    'post /v1/integrations/elevenlabs/{tenant}/webhook': { url: '/v1/integrations/elevenlabs/api/webhook', status: 404 },
    'post /v1/integrations/openai/{tenant}/webhook': { url: '/v1/integrations/openai/api/webhook', status: 404 },
    'get /v1/sessions': { url: '/v1/sessions?tenant=api&limit=5', status: 200 },
    'get /v1/sessions/stats': { url: '/v1/sessions/stats?tenant=api', status: 200 },
    'get /v1/sessions/machine': { url: '/v1/sessions/machine', status: 200 },
    'get /v1/sessions/{tenant}/{call_id}': { url: '/v1/sessions/api/api-call', status: 200 },
    'get /v1/openapi.json': { url: '/v1/openapi.json', status: 200 },
  };

  it('has an example for every operation that is not a WebSocket', () => {
    const plain = apiOperations.filter((operation) => !operation.websocket).map((operation) => `${operation.method} ${operation.path}`);
    expect(Object.keys(examples).sort()).toEqual(plain.sort());
  });

  // In this order: the appointment is moved before it is cancelled, the block placed before it is listed and freed.
  it.each(Object.keys(examples))('%s: a real request answers as documented, and its body as documented', async (key) => {
    const [method, path] = key.split(' ') as [string, string];
    const example = examples[key]!;
    const operation = document.paths[path][method];
    const url = example.url.replace(':appointment', ids.appointment!);
    const answer = await broker.admin(method.toUpperCase(), url, example.body);
    expect(answer.status).toBe(example.status);
    expect(Object.keys(operation.responses)).toContain(String(example.status));
    if (example.body === undefined) return;
    const validate = ajv.compile(operation.requestBody.content['application/json'].schema);
    expect(validate(example.body)).toBe(true);
    expect(validate(example.broken)).toBe(false);
    const refused = await broker.admin(method.toUpperCase(), url, example.broken);
    expect(refused.status).toBe(400);
    expect(Object.keys(operation.responses)).toContain('400');
  });

  it('documents path and query parameters from the same schemas the routes validate', () => {
    const day = document.paths['/v1/admin/tenants/{tenant}/day'].get;
    expect(day.parameters).toEqual([
      expect.objectContaining({ name: 'tenant', in: 'path', required: true, schema: expect.objectContaining({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' }) }),
      expect.objectContaining({ name: 'date', in: 'query', required: true }),
    ]);
    expect(document.paths['/v1/sessions'].get.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(['tenant', 'status', 'outcome', 'from', 'to', 'limit', 'offset']);
  });
});
