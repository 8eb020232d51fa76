/**
 * `GET /v1/admin/tenants/{tenant}/day?date=YYYY-MM-DD` (PROTOCOL §5): the day board, a
 * column per staff member with opening windows, appointments (busy and processing
 * phases, source, customer), live holds (call and expiry) and blocks.
 * @see ../../docs/PROTOCOL.md §5
 */
import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker.js';
import { dateQuery, tenantParams } from '../protocol/salon.js';
import { isoIn } from '../protocol/records.js';
import { parseOr400 } from './admin.js';
import { requireAdmin } from './auth.js';

export async function dayBoardRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  app.get('/v1/admin/tenants/:tenant/day', { onRequest: requireAdmin(broker.config.adminToken) }, async (request) => {
    const { tenant } = parseOr400(tenantParams, request.params);
    const { date } = parseOr400(dateQuery, request.query);
    const catalog = await broker.catalogAdmin.known(tenant);
    const at = (instant: Date) => isoIn(instant, catalog.timezone);
    return {
      date,
      timezone: catalog.timezone,
      staff: (await broker.frontDesk.day(catalog, date)).map((column) => ({
        id: column.staff.id,
        name: column.staff.name,
        windows: column.windows,
        appointments: column.appointments.map(({ appointment, phases }) => ({
          id: appointment.id,
          service: appointment.serviceId,
          start: at(appointment.start),
          end: at(appointment.end),
          source: appointment.source,
          customer_name: appointment.customerName,
          phases: phases.map((phase) => ({ start: at(phase.start), end: at(phase.end), staff_busy: phase.staffBusy })),
        })),
        holds: column.holds.map((hold) => ({ id: hold.id, call_id: hold.callId, service: hold.serviceId, start: at(hold.start), end: at(hold.end), expires_at: at(hold.expiresAt) })),
        blocks: column.blocks.map((block) => ({ id: block.id, start: at(block.start), end: at(block.end), reason: block.reason, source: block.source })),
      })),
    };
  });
}
