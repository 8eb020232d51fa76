/**
 * The front desk (PROTOCOL §7): book, cancel and move appointments directly, through the
 * same claims and exclusion constraint as the phone line.
 *
 * - `POST /v1/admin/tenants/{tenant}/appointments` → 201 the appointment, or 409 `SLOT_TAKEN` with `alternatives`
 * - `DELETE /v1/admin/tenants/{tenant}/appointments/{id}` → 200 the appointment, `status: "cancelled"`
 * - `PATCH /v1/admin/tenants/{tenant}/appointments/{id}` {start?, staff?} → 200 moved, or 409 and the old time kept
 *
 * A cancellation or move is published on `broker.appointmentChanges` for the live call
 * that owns the appointment.
 * @see ../../docs/PROTOCOL.md §7
 */
import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker.js';
import { BrokerError } from '../errors.js';
import { appointmentParams, frontDeskBookingBody, moveBody, tenantParams } from '../protocol/salon.js';
import { describeAppointmentForAdmin } from '../protocol/records.js';
import { parseOr400 } from './admin.js';
import { requireAdmin } from './auth.js';
import { invalidField, slotTaken } from './salon-answers.js';

export async function frontDeskRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  // Before the body is parsed: without the token a request gets 401, whatever it carries.
  app.addHook('onRequest', requireAdmin(broker.config.adminToken));

  const unknownAppointment = (id: string) => new BrokerError('NOT_FOUND', `no appointment "${id}"`);

  app.post('/v1/admin/tenants/:tenant/appointments', async (request, reply) => {
    const { tenant } = parseOr400(tenantParams, request.params);
    const body = parseOr400(frontDeskBookingBody, request.body);
    const catalog = await broker.catalogAdmin.known(tenant);
    const outcome = await broker.frontDesk.book(catalog, {
      serviceId: body.service,
      staffId: body.staff ?? null,
      when: body.start ? { start: body.start } : { date: body.date!, time: body.time! },
      customerName: body.customer_name,
      phone: body.phone ?? null,
      idempotencyKey: body.idempotency_key ?? null,
    });
    if ('invalid' in outcome) throw invalidField(outcome);
    if (!outcome.booked) return slotTaken(reply, catalog, outcome.reason ?? 'SLOT_TAKEN', outcome.alternatives);
    return reply.status(201).send(describeAppointmentForAdmin(outcome.appointment, catalog.timezone));
  });

  app.delete('/v1/admin/tenants/:tenant/appointments/:id', async (request) => {
    const { tenant, id } = parseOr400(appointmentParams, request.params);
    const catalog = await broker.catalogAdmin.known(tenant);
    const cancelled = await broker.frontDesk.cancel(tenant, id);
    if (!cancelled) throw unknownAppointment(id);
    return describeAppointmentForAdmin(cancelled, catalog.timezone);
  });

  app.patch('/v1/admin/tenants/:tenant/appointments/:id', async (request, reply) => {
    const { tenant, id } = parseOr400(appointmentParams, request.params);
    const body = parseOr400(moveBody, request.body ?? {});
    const catalog = await broker.catalogAdmin.known(tenant);
    const outcome = await broker.frontDesk.move(catalog, id, { start: body.start, staffId: body.staff });
    if (outcome === null) throw unknownAppointment(id);
    if ('invalid' in outcome) throw invalidField(outcome);
    if (outcome.moved) return describeAppointmentForAdmin(outcome.appointment, catalog.timezone);
    if (outcome.code === 'NOT_BOOKED') {
      return reply.status(409).send({ error: { code: 'NOT_BOOKED', message: `appointment "${id}" is cancelled and cannot be moved` } });
    }
    return slotTaken(reply, catalog, outcome.reason, outcome.alternatives);
  });
}
