/**
 * `npm run tools -- --format openai [--locale de-DE] [--tenant salon] [--base-url https://…]`:
 * prints the tool definitions of PROTOCOL §6.3 as JSON, the same as `GET /v1/tools`.
 */
import { parseArgs } from 'node:util';
import { toolDefinitionsFor, toolFormats, type ToolFormat } from '../protocol/tool-definitions.js';

const { values } = parseArgs({
  options: { format: { type: 'string', default: 'openai' }, locale: { type: 'string', default: 'en-US' }, tenant: { type: 'string' }, 'base-url': { type: 'string' } },
});
if (!(toolFormats as readonly string[]).includes(values.format)) {
  process.stderr.write(`--format: expected one of ${toolFormats.join(', ')}\n`);
  process.exit(2);
}
const definitions = toolDefinitionsFor({ format: values.format as ToolFormat, locale: values.locale, tenant: values.tenant, baseUrl: values['base-url'] });
process.stdout.write(`${JSON.stringify(definitions, null, 2)}\n`);
