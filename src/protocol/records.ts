/**
 * Records as the contract shows them (PROTOCOL §3–§5): snake_case, ISO 8601 instants with
 * the tenant's offset. The one place they are encoded: tool results (the same body for
 * every runtime), our frames, the inspector and the admin API all use these.
 */
import type { AppointmentView, HoldUpdateStatus, HoldView } from '../../machines/call-session.types.js';
import type { Slot } from '../booking/availability.js';
import type { Catalog } from '../booking/catalog.js';
import type { AppointmentRecord } from '../booking/ports.js';
import { isoIn } from '../time-zones.js';

/** The hold as it travels in `hold.updated`, tool results and the inspector. */
export interface WireHold {
  id: string;
  status: string;
  service: string;
  staff: string;
  start: string;
  end: string;
  expires_at: string;
}

export interface WireAppointment {
  id: string;
  service: string;
  staff: string;
  start: string;
  end: string;
}

/** ISO 8601 with the tenant's offset at that instant (see `src/time-zones.ts` for why not luxon's `toISO` directly). */
export { isoIn };

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

/**
 * A tool answer as an HTTP runtime gets it (PROTOCOL §6.2): the tool's `result` plus `ok`
 * and, when not ok, `error`. Retell and ElevenLabs answer it as the body, Vapi as a JSON
 * string per tool call.
 */
export function toolAnswerBody(response: { ok: boolean; result: Record<string, unknown>; error?: { code: string; message: string } | undefined }) {
  return { ...response.result, ok: response.ok, ...(response.error ? { error: response.error } : {}) };
}
