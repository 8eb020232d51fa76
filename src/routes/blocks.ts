/**
 * Blocks (PROTOCOL §7): a staff member busy outside any appointment — a break, an absence,
 * an entry of an external calendar. A block is a staff claim under the same exclusion
 * constraint as holds and appointments, so the phone line never offers its time.
 *
 * - `PUT /v1/admin/tenants/{tenant}/blocks/{block_id}` → 200 the block (placed, or moved in one transaction), or 409 `SLOT_TAKEN`
 * - `DELETE /v1/admin/tenants/{tenant}/blocks/{block_id}` → 200 the block it freed; 404 unknown
 * - `GET /v1/admin/tenants/{tenant}/blocks?date=YYYY-MM-DD` → the blocks overlapping that local day
 * @see ../../docs/PROTOCOL.md §7
 */
import type { FastifyInstance } from 'fastify';
import { localDays } from '../booking/availability.js';
import type { Broker } from '../broker.js';
import { BrokerError } from '../errors.js';
import { blockBody, blockParams, dateQuery, tenantParams } from '../protocol/salon.js';
import { parseOr400 } from './admin.js';
import { requireAdmin } from './auth.js';
import { blockRefused, describeBlock, invalidField } from './salon-answers.js';

export async function blockRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  // Before the body is parsed: without the token a request gets 401, whatever it carries.
  app.addHook('onRequest', requireAdmin(broker.config.adminToken));


  app.put('/v1/admin/tenants/:tenant/blocks/:block_id', async (request, reply) => {
    const { tenant, block_id } = parseOr400(blockParams, request.params);
    const body = parseOr400(blockBody, request.body);
    const catalog = await broker.catalogAdmin.known(tenant);
    const outcome = await broker.frontDesk.putBlock(catalog, {
      id: block_id,
      staffId: body.staff,
      start: body.start,
      end: body.end,
      reason: body.reason ?? null,
      source: body.source,
    });
    if ('invalid' in outcome) throw invalidField(outcome);
    if (!outcome.stored) return blockRefused(reply, catalog, outcome.conflicts);
    return describeBlock(outcome.block, catalog.timezone);
  });

  app.delete('/v1/admin/tenants/:tenant/blocks/:block_id', async (request) => {
    const { tenant, block_id } = parseOr400(blockParams, request.params);
    const catalog = await broker.catalogAdmin.known(tenant);
    const freed = await broker.frontDesk.deleteBlock(tenant, block_id);
    if (!freed) throw new BrokerError('NOT_FOUND', `no block "${block_id}"`);
    return describeBlock(freed, catalog.timezone);
  });

  app.get('/v1/admin/tenants/:tenant/blocks', async (request) => {
    const { tenant } = parseOr400(tenantParams, request.params);
    const { date } = parseOr400(dateQuery, request.query);
    const catalog = await broker.catalogAdmin.known(tenant);
    const found = await broker.frontDesk.blocksOn(catalog, date);
    return found.map((block) => describeBlock(block, catalog.timezone));
  });
}
