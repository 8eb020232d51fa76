/**
 * The calendar of record's admin side (PROTOCOL §7):
 *
 * - `PUT /v1/admin/tenants/{tenant}/integrations/calendar` {kind: "webhook"|"calcom", …} → 200 the settings, secrets `***`
 * - `GET …/integrations/calendar` → the settings, secrets `***`; 404 when none
 * - `DELETE …/integrations/calendar` → 200; the settings go, and changes not yet delivered are discarded
 * - `GET /v1/admin/tenants/{tenant}/sync` → {pending, delivered, failing, last_error, conflicts}
 * @see ../../../shared/PROTOCOL.md §7
 */
import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker.js';
import { BrokerError } from '../errors.js';
import { tenantParams } from '../protocol/salon.js';
import { isoIn } from '../protocol/records.js';
import { calendarSettingsSchema, redactCalendar } from '../sync/calendar-settings.js';
import { parseOr400 } from './admin.js';
import { requireAdmin } from './auth.js';

export async function calendarRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  app.addHook('onRequest', requireAdmin(broker.config.adminToken));

  const catalogOf = (params: unknown) => broker.catalogAdmin.known(parseOr400(tenantParams, params).tenant);

  app.put('/v1/admin/tenants/:tenant/integrations/calendar', async (request) => {
    const catalog = await catalogOf(request.params);
    const settings = parseOr400(calendarSettingsSchema, request.body);
    if (settings.kind === 'calcom') {
      const unknownServices = Object.keys(settings.event_types).filter((id) => !catalog.services.some((service) => service.id === id));
      const unknownStaff = Object.keys(settings.staff ?? {}).filter((id) => !catalog.staff.some((member) => member.id === id));
      const issues = [
        ...unknownServices.map((id) => `event_types.${id}: unknown service "${id}"`),
        ...unknownStaff.map((id) => `staff.${id}: unknown staff "${id}"`),
      ];
      if (issues.length > 0) throw new BrokerError('INVALID_REQUEST', issues.join('; '), { issues });
    }
    await broker.calendarSync.putSettings(catalog.tenantId, settings);
    return redactCalendar(settings);
  });

  app.get('/v1/admin/tenants/:tenant/integrations/calendar', async (request) => {
    const catalog = await catalogOf(request.params);
    const settings = await broker.calendarSync.settings(catalog.tenantId);
    if (!settings) throw new BrokerError('NOT_FOUND', `tenant "${catalog.tenantId}" has no calendar of record`);
    return redactCalendar(settings);
  });

  app.delete('/v1/admin/tenants/:tenant/integrations/calendar', async (request) => {
    const catalog = await catalogOf(request.params);
    if (!(await broker.calendarSync.deleteSettings(catalog.tenantId))) {
      throw new BrokerError('NOT_FOUND', `tenant "${catalog.tenantId}" has no calendar of record`);
    }
    return { deleted: true };
  });

  app.get('/v1/admin/tenants/:tenant/sync', async (request) => {
    const catalog = await catalogOf(request.params);
    const status = await broker.calendarSync.status(catalog.tenantId);
    const at = (instant: Date) => isoIn(instant, catalog.timezone);
    return {
      pending: status.pending,
      delivered: status.delivered,
      failing: status.failing,
      last_error: status.lastError ? { at: at(status.lastError.at), message: status.lastError.message } : null,
      conflicts: status.conflicts.map((conflict) => ({
        external_id: conflict.externalId,
        staff: conflict.staffId,
        start: at(conflict.start),
        end: at(conflict.end),
        appointment_id: conflict.appointmentId,
      })),
    };
  });
}
