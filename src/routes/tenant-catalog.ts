/**
 * `GET /v1/admin/tenants/{tenant}` (PROTOCOL §2): the catalog as last stored, in the shape
 * of the PUT body, without customers and without staff and services dropped since.
 * @see ../../docs/PROTOCOL.md §2
 */
import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker.js';
import { BrokerError } from '../errors.js';
import { fromCatalog } from '../protocol/catalog.js';
import { parseOr400 } from './admin.js';
import { requireAdmin } from './auth.js';
import { tenantParams } from '../protocol/salon.js';

export async function tenantCatalogRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  app.get('/v1/admin/tenants/:tenant', { onRequest: requireAdmin(broker.config.adminToken) }, async (request) => {
    const { tenant } = parseOr400(tenantParams, request.params);
    // Straight from storage, not the cache: "as last stored", also by another instance.
    const catalog = await broker.catalogAdmin.readBack(tenant);
    if (!catalog) throw new BrokerError('NOT_FOUND', `unknown tenant "${tenant}"`);
    return fromCatalog(catalog);
  });
}
