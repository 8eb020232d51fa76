/**
 * Reads the appointments back through the admin API after a run and looks for what must
 * never happen: two booked appointments whose staff-busy phases overlap for one staff
 * member (a double booking), and bookings a caller was promised that are not there.
 *
 * Where the harness does not know a service's phases (it learned the salon with a runtime
 * token), only an identical start of the same service for one staff member is certainly
 * a double booking; other overlaps of whole spans may be bookings inside a processing gap
 * and are counted as unjudged, not as broken promises.
 */
import type { Salon } from './salon.js';
import type { BookedAppointment } from './tally.js';

export interface ListedAppointment {
  id: string;
  service: string;
  staff: string;
  start: string;
  end: string;
  customer_name?: string | null;
  call_id?: string | null;
  status: string;
}

export interface DoubleBooking {
  staff: string;
  first: Pick<ListedAppointment, 'id' | 'service' | 'start' | 'end' | 'call_id'>;
  second: Pick<ListedAppointment, 'id' | 'service' | 'start' | 'end' | 'call_id'>;
}

export interface AuditResult {
  dates: string[];
  appointments: number;
  doubleBookings: DoubleBooking[];
  /** Overlapping spans of one staff member that could not be judged: the phases are unknown. */
  unjudgedOverlaps: number;
  /** Appointments a caller was told are booked that the admin API does not list as booked. */
  missing: BookedAppointment[];
}

/** Pairs of booked appointments of one staff member whose busy stretches overlap, and the overlaps that could not be judged. */
export function findDoubleBookings(appointments: ListedAppointment[], salon: Pick<Salon, 'busyStretches'>): { doubleBookings: DoubleBooking[]; unjudged: number } {
  type Entry = { appointment: ListedAppointment; span: { start: number; end: number }; busy: Array<{ start: number; end: number }> | null };
  const byStaff = new Map<string, Entry[]>();
  for (const appointment of appointments) {
    if (appointment.status !== 'booked') continue;
    const span = { start: Date.parse(appointment.start), end: Date.parse(appointment.end) };
    const busy = salon.busyStretches(appointment.service, span.start, span.end);
    const list = byStaff.get(appointment.staff) ?? [];
    list.push({ appointment, span, busy });
    byStaff.set(appointment.staff, list);
  }
  const found: DoubleBooking[] = [];
  let unjudged = 0;
  const brief = ({ id, service, start, end, call_id }: ListedAppointment) => ({ id, service, start, end, call_id: call_id ?? null });
  const overlap = (xs: Array<{ start: number; end: number }>, ys: Array<{ start: number; end: number }>) => xs.some((x) => ys.some((y) => x.start < y.end && y.start < x.end));
  for (const [staff, list] of byStaff) {
    list.sort((a, b) => a.span.start - b.span.start);
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        const sameStart = a.appointment.start === b.appointment.start;
        // Same service, same start: the same phases at the same time, and at least one of them keeps the staff busy.
        if ((sameStart && (a.appointment.service === b.appointment.service || (a.busy && b.busy))) || (a.busy && b.busy && overlap(a.busy, b.busy))) {
          found.push({ staff, first: brief(a.appointment), second: brief(b.appointment) });
        } else if ((!a.busy || !b.busy) && overlap([a.span], [b.span])) {
          unjudged++;
        }
      }
    }
  }
  return { doubleBookings: found, unjudged };
}

export async function auditAppointments(options: {
  url: string;
  tenant: string;
  adminToken: string;
  salon: Pick<Salon, 'busyStretches'>;
  dates: string[];
  bookings: BookedAppointment[];
}): Promise<AuditResult> {
  const dates = [...new Set([...options.dates, ...options.bookings.map((booking) => booking.start.slice(0, 10))])].sort();
  const listed: ListedAppointment[] = [];
  for (const date of dates) {
    const url = new URL(`/v1/admin/tenants/${encodeURIComponent(options.tenant)}/appointments?date=${date}`, options.url);
    const response = await fetch(url, { headers: { authorization: `Bearer ${options.adminToken}` } });
    if (!response.ok) throw new Error(`reading appointments of ${date} failed: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
    listed.push(...((await response.json()) as ListedAppointment[]));
  }
  const bookedIds = new Set(listed.filter((appointment) => appointment.status === 'booked').map((appointment) => appointment.id));
  const { doubleBookings, unjudged } = findDoubleBookings(listed, options.salon);
  return {
    dates,
    appointments: listed.filter((appointment) => appointment.status === 'booked').length,
    doubleBookings,
    unjudgedOverlaps: unjudged,
    missing: options.bookings.filter((booking) => !bookedIds.has(booking.id)),
  };
}
