/** Integration settings per tenant (PROTOCOL §6): validation naming each field, secrets masked and write-only, 404s. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { drivers } from '../fixtures/database.js';

const valid = {
  openai_realtime: { api_key: 'sk-test-0123456789', webhook_secret: 'whsec_c2VjcmV0LXNlY3JldA==', model: 'gpt-realtime', voice: 'marin', locale: 'de-DE' },
  retell: { api_key: 'key_retell_0123456789', locale: 'en-US' },
  vapi: { secret: 'vapi-secret-0123456789' },
  elevenlabs: { tool_secret: 'tool-secret-0123456789', webhook_secret: 'wsec_0123456789abcdef' },
} as const;
const secrets = { openai_realtime: ['api_key', 'webhook_secret'], retell: ['api_key'], vapi: ['secret'], elevenlabs: ['tool_secret', 'webhook_secret'] } as const;

describe.each(drivers)('integration settings on %s', (driver) => {
  let broker: TestBroker;
  const path = (kind: string, tenant = 'sonnenschein') => `/v1/admin/tenants/${tenant}/integrations/${kind}`;
  beforeAll(async () => {
    broker = await startBroker(driver);
    await broker.tenant('sonnenschein');
  });
  afterAll(() => broker.close());

  it('stores each kind and shows every secret as "***", never the secret', async () => {
    for (const [kind, body] of Object.entries(valid)) {
      const put = await broker.admin('PUT', path(kind), body);
      expect(put.status).toBe(200);
      const got = await broker.admin('GET', path(kind));
      expect(got.status).toBe(200);
      const expected: Record<string, unknown> = { ...body };
      for (const field of secrets[kind as keyof typeof secrets]) expected[field] = '***';
      expect(got.body.settings).toEqual(expected);
      for (const field of secrets[kind as keyof typeof secrets]) {
        const value = (body as Record<string, string>)[field]!;
        expect(JSON.stringify(put.body)).not.toContain(value);
        expect(JSON.stringify(got.body)).not.toContain(value);
      }
    }
  });

  it('refuses a bad body with 400 INVALID_REQUEST naming each bad field', async () => {
    const response = await broker.admin('PUT', path('openai_realtime'), { api_key: 'short', webhook_secret: 'not-a-whsec-secret', locale: 'deutsch!', colour: 'blue' });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('INVALID_REQUEST');
    const issues: string[] = response.body.error.issues;
    for (const field of ['api_key', 'webhook_secret', 'locale', 'colour']) expect(issues.some((issue) => issue.includes(field))).toBe(true);
    const missing = await broker.admin('PUT', path('elevenlabs'), {});
    expect(missing.body.error.issues).toEqual(expect.arrayContaining([expect.stringMatching(/^tool_secret:/), expect.stringMatching(/^webhook_secret:/)]));
    // A masked document read back and PUT again must not store "***" as the secret.
    const masked = await broker.admin('PUT', path('vapi'), { secret: '***' });
    expect(masked).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST', message: expect.stringMatching(/^secret:/) } } });
    expect((await broker.admin('PUT', path('zoom'), valid.vapi)).body.error.message).toMatch(/^kind:/);
    // The stored settings are untouched by refused PUTs.
    expect((await broker.admin('GET', path('vapi'))).body.settings).toEqual({ secret: '***' });
  });

  it('answers 404 for a tenant without settings or an unknown tenant, and 401 without the admin token', async () => {
    expect((await broker.admin('DELETE', path('retell'))).status).toBe(200);
    expect((await broker.admin('GET', path('retell'))).status).toBe(404);
    expect((await broker.admin('DELETE', path('retell'))).status).toBe(404);
    expect((await broker.admin('PUT', path('retell', 'nobody'), valid.retell)).status).toBe(404);
    expect((await broker.admin('GET', path('vapi'), undefined, null)).status).toBe(401);
    expect((await broker.admin('PUT', path('vapi'), valid.vapi, 'wrong-token')).status).toBe(401);
  });
});
