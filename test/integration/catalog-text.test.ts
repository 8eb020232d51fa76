/**
 * Issue 9, item 8: a catalog whose text PostgreSQL cannot store (NUL, unpaired surrogates)
 * or that is nested too deep is refused with 400 INVALID_CATALOG naming the field, never
 * answered 500 and never stored altered. Bodies are sent raw, as a runtime's JSON would
 * arrive: `\u0000` and `\ud800` escapes reach the parser as the characters themselves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startBroker, type TestBroker } from '../fixtures/broker.js';
import { demoCatalogBody } from '../fixtures/catalogs.js';
import { drivers } from '../fixtures/database.js';

/** The demo catalog as JSON text, with `edit` applied to the text (to plant raw escapes). */
const rawCatalog = (edit: (json: string) => string) => edit(JSON.stringify(demoCatalogBody));

describe.each(drivers)('catalog text on %s', (driver) => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker(driver);
  });
  afterAll(() => broker.close());

  async function putRaw(tenant: string, body: string) {
    const response = await fetch(new URL(`/v1/admin/tenants/${tenant}`, broker.url), {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body,
    });
    return { status: response.status, body: await response.json() };
  }

  const cases: Array<[string, (json: string) => string, RegExp]> = [
    ['a NUL in an alias', (json) => json.replace('"Dauer Welle"', '"Dauer\\u0000Welle"'), /^services\.0\.aliases\.0: .*NUL/m],
    ['a lone surrogate in a phase label', (json) => json.replace('"Wickeln"', '"Wick\\ud800eln"'), /^services\.0\.phases\.0\.label: .*surrogate/m],
    ['a lone low surrogate in a phase label', (json) => json.replace('"Wickeln"', '"Wickeln\\udc00"'), /^services\.0\.phases\.0\.label: .*surrogate/m],
    ['a lone surrogate in the name', (json) => json.replace('"Salon Sonnenschein"', '"Salon \\ud800"'), /^name: .*surrogate/m],
    ['a NUL in a staff name', (json) => json.replace('"Fabian Spitzer"', '"Fabian\\u0000"'), /^staff\.0\.name: /m],
    ['a NUL in a customer phone', (json) => json.replace(/"phone":"[^"]*"/, '"phone":"+49151\\u0000"'), /^customers\.0\.phone: /m],
    ['a NUL in a key nobody reads', (json) => json.replace(/^\{/, '{"note\\u0000":1,'), /^note\ufffd: key must not contain NUL/m],
  ];

  it.each(cases)('refuses %s with 400 INVALID_CATALOG naming the field, storing nothing', async (_name, edit, issue) => {
    const tenant = `text-${Math.random().toString(36).slice(2, 8)}`;
    const response = await putRaw(tenant, rawCatalog(edit));
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('INVALID_CATALOG');
    expect((response.body.error.issues as string[]).join('\n')).toMatch(issue);
    expect(await broker.app.broker.catalogAdmin.exists(tenant)).toBe(false);
  });

  it('stores paired surrogates (an emoji) as they are', async () => {
    const response = await putRaw('emoji', rawCatalog((json) => json.replace('"Salon Sonnenschein"', '"Salon \\ud83d\\ude00"')));
    expect(response.status).toBe(200);
    expect((await broker.app.broker.catalogAdmin.readBack('emoji'))?.name).toBe('Salon \u{1F600}');
  });

  const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  it('accepts a body nested 32 levels deep and refuses one nested deeper with 400', async () => {
    // The body object is level 1, so 31 arrays inside it make 32 levels.
    expect((await putRaw('deep-ok', rawCatalog((json) => json.replace(/^\{/, `{"extra":${nested(31)},`)))).status).toBe(200);
    const refused = await putRaw('deep-no', rawCatalog((json) => json.replace(/^\{/, `{"extra":${nested(32)},`)));
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('INVALID_CATALOG');
    expect(refused.body.error.issues.join('\n')).toMatch(/^extra(\.0)+: .*deeper than 32/m);
  });

  it('refuses a body nested 200000 levels deep with 400 and keeps serving', async () => {
    const refused = await putRaw('deeper', rawCatalog((json) => json.replace(/^\{/, `{"extra":${nested(200_000)},`)));
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('INVALID_CATALOG');
    expect((await putRaw('after-deep', rawCatalog((json) => json))).status).toBe(200);
  });
});
