/** `GET /v1/tools?format=…&locale=…[&tenant=…]` (PROTOCOL §6.3, no auth): our tools as a runtime's tool definitions. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { toolDefinitionsFor, toolFormats } from '../protocol/tool-definitions.js';
import { parseOr400 } from './admin.js';

const query = z.object({
  format: z.enum(toolFormats, { error: `expected one of ${toolFormats.join(', ')}` }),
  locale: z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'expected a locale like de-DE or en-US').default('en-US'),
  tenant: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1-64 characters of [A-Za-z0-9_.:-]').optional(),
});

export async function toolDefinitionRoutes(app: FastifyInstance) {
  app.get('/v1/tools', async (request) => {
    const { format, locale, tenant } = parseOr400(query, request.query);
    return toolDefinitionsFor({ format, locale, tenant, baseUrl: `${request.protocol}://${request.host}` });
  });
}
