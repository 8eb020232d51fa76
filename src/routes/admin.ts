/** Admin API (PROTOCOL §2): catalogs, runtime tokens, appointments. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { localDays } from '../booking/availability.js';
import { BrokerError } from '../errors.js';
import { dateQuery, tenantParams } from '../protocol/salon.js';
import { catalogSchema, toCatalog, unstorableCatalogIssues } from '../protocol/catalog.js';
import { describeIssues } from '../protocol/issues.js';
import { describeAppointmentForAdmin } from '../protocol/records.js';
import type { Broker } from '../broker.js';
import { requireAdmin } from './auth.js';


export function parseOr400<T>(schema: z.ZodType<T>, value: unknown, code: 'INVALID_REQUEST' | 'INVALID_CATALOG' = 'INVALID_REQUEST'): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error);
    throw new BrokerError(code, issues.join('; '), { issues });
  }
  return parsed.data;
}

export async function adminRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  app.addHook('onRequest', requireAdmin(broker.config.adminToken));

  async function knownTenant(params: unknown) {
    const { tenant } = parseOr400(tenantParams, params);
    if (!(await broker.catalogAdmin.exists(tenant))) throw new BrokerError('NOT_FOUND', `unknown tenant "${tenant}"`);
    return tenant;
  }

  app.put('/v1/admin/tenants/:tenant', async (request) => {
    const { tenant } = parseOr400(tenantParams, request.params);
    const unstorable = unstorableCatalogIssues(request.body);
    if (unstorable.length > 0) throw new BrokerError('INVALID_CATALOG', unstorable.join('; '), { issues: unstorable });
    const body = parseOr400(catalogSchema, request.body, 'INVALID_CATALOG');
    const { catalog, customers } = toCatalog(tenant, body);
    await broker.catalogAdmin.put(catalog, customers);
    return { tenant, staff: catalog.staff.length, services: catalog.services.length };
  });

  app.post('/v1/admin/tenants/:tenant/runtime-tokens', async (request) => {
    const tenant = await knownTenant(request.params);
    return { token: await broker.runtimeAuth.issue(tenant) };
  });

  app.get('/v1/admin/tenants/:tenant/appointments', async (request) => {
    const tenant = await knownTenant(request.params);
    const { date } = parseOr400(dateQuery, request.query);
    const catalog = (await broker.catalogAdmin.catalog(tenant))!;
    const appointments = await broker.catalogAdmin.appointments(tenant, localDays(catalog, date));
    return appointments.map((appointment) => describeAppointmentForAdmin(appointment, catalog.timezone));
  });
}
