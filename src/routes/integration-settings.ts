/**
 * Integration settings per tenant (PROTOCOL §6): `PUT/GET/DELETE
 * /v1/admin/tenants/{tenant}/integrations/{kind}`, admin token only. GET shows every
 * secret as `"***"`; the secrets themselves never leave the broker.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Broker } from '../broker.js';
import { BrokerError } from '../errors.js';
import { integrationKinds } from '../integrations/settings.js';
import { parseOr400 } from './admin.js';
import { requireAdmin } from './auth.js';

export const integrationParams = z.object({
  tenant: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1-64 characters of [A-Za-z0-9_.:-]'),
  kind: z.enum(integrationKinds, { error: `expected one of ${integrationKinds.join(', ')}` }),
});

export async function integrationSettingsRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  // onRequest: before the body is read, as for every admin route (see requireAdmin).
  app.addHook('onRequest', requireAdmin(broker.config.adminToken));
  const path = '/v1/admin/tenants/:tenant/integrations/:kind';

  async function target(raw: unknown) {
    const { tenant, kind } = parseOr400(integrationParams, raw);
    if (!(await broker.catalogAdmin.exists(tenant))) throw new BrokerError('NOT_FOUND', `unknown tenant "${tenant}"`);
    return { tenant, kind };
  }

  app.put(path, async (request) => {
    const { tenant, kind } = await target(request.params);
    return { tenant, kind, settings: await broker.integrationSettings.put(tenant, kind, request.body) };
  });

  app.get(path, async (request) => {
    const { tenant, kind } = await target(request.params);
    const settings = await broker.integrationSettings.shown(tenant, kind);
    if (!settings) throw new BrokerError('NOT_FOUND', `no ${kind} integration for tenant "${tenant}"`);
    return { tenant, kind, settings };
  });

  app.delete(path, async (request) => {
    const { tenant, kind } = await target(request.params);
    if (!(await broker.integrationSettings.delete(tenant, kind))) throw new BrokerError('NOT_FOUND', `no ${kind} integration for tenant "${tenant}"`);
    return { tenant, kind, deleted: true };
  });
}
