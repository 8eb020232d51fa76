/**
 * PROTOCOL §6.3: `GET /v1/tools` gives every tool in each runtime's shape, with parameters
 * that are valid JSON Schema (compiled by Ajv in strict mode, draft 2020-12), that accept
 * what the broker accepts and refuse what it refuses, described in the locale's language.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Ajv2020 from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolDefinitions } from '../../src/tools/definitions.js';
import { startBroker, type TestBroker } from '../fixtures/broker.js';

type Json = any;
const formats = ['openai', 'retell', 'vapi', 'elevenlabs'] as const;
const locales = ['de-DE', 'en-US'] as const;

/** Where each format keeps a tool's name, description and parameters. */
function partsOf(format: (typeof formats)[number], tool: Json): { name: string; description: string; parameters: Json } {
  switch (format) {
    case 'openai':
      return { name: tool.name, description: tool.description, parameters: tool.parameters };
    case 'vapi':
      return { name: tool.function.name, description: tool.function.description, parameters: tool.function.parameters };
    case 'retell':
      return { name: tool.name, description: tool.description, parameters: tool.parameters };
    case 'elevenlabs':
      return { name: tool.name, description: tool.description, parameters: tool.api_schema.request_body_schema };
  }
}

describe('tool definitions', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker('pglite');
  });
  afterAll(() => broker.close());

  it.each(formats.flatMap((format) => locales.map((locale) => [format, locale] as const)))('%s in %s: every tool, valid JSON Schema, the locale\'s language', async (format, locale) => {
    const response = await fetch(new URL(`/v1/tools?format=${format}&locale=${locale}&tenant=sonnenschein`, broker.url));
    expect(response.status).toBe(200);
    const tools = (await response.json()) as Json[];
    expect(tools.map((tool) => partsOf(format, tool).name).sort()).toEqual(Object.keys(toolDefinitions).sort());
    const ajv = new Ajv2020.default({ strict: true, allErrors: true });
    ajv.addKeyword('dynamic_variable');
    for (const tool of tools) {
      const { name, description, parameters } = partsOf(format, tool);
      const definition = toolDefinitions[name as keyof typeof toolDefinitions];
      expect(description).toBe(definition.description[locale === 'de-DE' ? 'de' : 'en']);
      const validate = ajv.compile(parameters);
      expect(parameters.type).toBe('object');
      for (const [key, value] of Object.entries(parameters.properties as Record<string, Json>)) {
        if (key === 'conversation_id' || key === 'caller_id') continue;
        expect(value.description).toBe((definition.parameters as Json)[key][locale === 'de-DE' ? 'de' : 'en']);
      }
      const extra = format === 'elevenlabs' ? { conversation_id: 'conv_1', caller_id: '+4930' } : {};
      if (name === 'check_availability') {
        expect(validate({ service: 'Dauerwelle', date: 'morgen', time: '10 Uhr', ...extra })).toBe(true);
        expect(validate({ service: 'Dauerwelle', date: 'morgen', ...extra })).toBe(false);
        expect(validate({ service: '', date: 'morgen', time: '10:00', ...extra })).toBe(false);
      }
      if (name === 'book_appointment') expect(validate({ customer_name: 'Ida', ...extra })).toBe(true);
    }
    if (format === 'retell') expect(tools[0].url).toMatch(/\/v1\/integrations\/retell\/sonnenschein\/tools$/);
    if (format === 'vapi') expect(tools[0].server.url).toMatch(/\/v1\/integrations\/vapi\/sonnenschein$/);
    if (format === 'elevenlabs') expect(tools.find((tool) => tool.name === 'book_appointment').api_schema.url).toMatch(/\/elevenlabs\/sonnenschein\/tools\/book_appointment$/);
  });

  it('refuses an unknown format naming the field, and needs no token', async () => {
    const response = await fetch(new URL('/v1/tools?format=zoom', broker.url));
    expect(response.status).toBe(400);
    expect(((await response.json()) as Json).error.message).toMatch(/^format:/);
  });

  it('prints the same from `npm run tools`', async () => {
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'src/tools/cli.ts', '--format', 'openai', '--locale', 'de-DE', '--base-url', broker.url]);
    const served = await (await fetch(new URL('/v1/tools?format=openai&locale=de-DE', broker.url))).json();
    expect(JSON.parse(stdout)).toEqual(served);
  });
});
