/**
 * Issue 9: the admin token is checked before a body is read, so a caller without it
 * learns nothing about how bodies are parsed and cannot make the broker read 1 MiB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startBroker, type TestBroker } from '../fixtures/broker.js';
import { drivers } from '../fixtures/database.js';

describe.each(drivers)('auth before body parsing on %s', (driver) => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker(driver);
  });
  afterAll(() => broker.close());

  const put = (body: string, headers: Record<string, string> = {}) =>
    fetch(new URL('/v1/admin/tenants/salon', broker.url), { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body });

  it('answers unauthenticated bad JSON with 401, not 400', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-the-token' }] as Record<string, string>[]) {
      const response = await put('{"name": ', headers);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
    // With the token, the same body is a parse error: the 401 above was not a coincidence.
    expect((await put('{"name": ', { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(400);
  });

  it('answers an unauthenticated body over the 1 MiB limit with 401, not 413', async () => {
    const huge = JSON.stringify({ name: 'x'.repeat(1536 * 1024) });
    const response = await put(huge);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect((await put(huge, { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(413);
  });

  it('answers an unauthenticated POST with a bad body on runtime tokens with 401', async () => {
    const response = await fetch(new URL('/v1/admin/tenants/salon/runtime-tokens', broker.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[[[',
    });
    expect(response.status).toBe(401);
  });

  it.each([
    ['POST', '/v1/admin/tenants/salon/appointments'],
    ['PATCH', '/v1/admin/tenants/salon/appointments/00000000-0000-4000-8000-000000000000'],
    ['PUT', '/v1/admin/tenants/salon/blocks/lunch'],
  ])('answers an unauthenticated %s %s with a bad body with 401, as the salon’s routes check the token first', async (method, path) => {
    const request = (headers: Record<string, string>) => fetch(new URL(path, broker.url), { method, headers: { 'content-type': 'application/json', ...headers }, body: '{"start": ' });
    expect((await request({})).status).toBe(401);
    expect((await request({ authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(400);
  });
});
