/** Domain records as tools and frames show them: ISO 8601 instants with the tenant's offset. */
import { DateTime } from 'luxon';
import type { AppointmentView, HoldUpdateStatus, HoldView } from '../../machines/call-session.types.js';
import type { Slot } from '../booking/availability.js';
import type { Catalog } from '../booking/catalog.js';
import type { AppointmentRecord, HoldRecord } from '../booking/ports.js';
import type { WireAppointment, WireHold } from '../protocol/call-frames.js';

export const isoIn = (instant: Date | number, timezone: string): string =>
  DateTime.fromMillis(typeof instant === 'number' ? instant : instant.getTime(), { zone: timezone }).toISO({ suppressMilliseconds: true })!;

export function holdView(hold: HoldRecord): HoldView {
  return {
    id: hold.id,
    serviceId: hold.serviceId,
    staffId: hold.staffId,
    start: hold.start.getTime(),
    end: hold.end.getTime(),
    placedAt: hold.placedAt.getTime(),
    expiresAt: hold.expiresAt.getTime(),
    maxExpiresAt: hold.maxExpiresAt.getTime(),
  };
}

export function appointmentView(appointment: AppointmentRecord): AppointmentView {
  return {
    id: appointment.id,
    serviceId: appointment.serviceId,
    staffId: appointment.staffId,
    start: appointment.start.getTime(),
    end: appointment.end.getTime(),
  };
}

export function wireHold(hold: HoldView, status: HoldUpdateStatus, timezone: string): WireHold {
  return {
    id: hold.id,
    status,
    service: hold.serviceId,
    staff: hold.staffId,
    start: isoIn(hold.start, timezone),
    end: isoIn(hold.end, timezone),
    expires_at: isoIn(hold.expiresAt, timezone),
  };
}

export function wireAppointment(appointment: AppointmentView, timezone: string): WireAppointment {
  return {
    id: appointment.id,
    service: appointment.serviceId,
    staff: appointment.staffId,
    start: isoIn(appointment.start, timezone),
    end: isoIn(appointment.end, timezone),
  };
}

export function wireAlternative(slot: Slot, catalog: Catalog) {
  return { start: isoIn(slot.span.start, catalog.timezone), end: isoIn(slot.span.end, catalog.timezone), staff: slot.staff.id, staff_name: slot.staff.name };
}

/** An appointment as the admin API lists it (PROTOCOL §2). */
export function describeAppointmentForAdmin(appointment: AppointmentRecord, timezone: string) {
  return {
    id: appointment.id,
    service: appointment.serviceId,
    staff: appointment.staffId,
    start: isoIn(appointment.start, timezone),
    end: isoIn(appointment.end, timezone),
    customer_name: appointment.customerName,
    phone: appointment.phone,
    call_id: appointment.callId,
    status: appointment.status,
    source: appointment.source,
  };
}
