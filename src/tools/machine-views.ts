/** Storage records as the session machine keeps them: plain values, instants in epoch ms. */
import type { AppointmentView, HoldView } from '../../machines/call-session.types.js';
import type { AppointmentRecord, HoldRecord } from '../booking/ports.js';

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
