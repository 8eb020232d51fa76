/**
 * Reads the appointments back through the admin API after a run and looks for what must
 * never happen: two booked appointments whose staff-busy phases overlap for one staff
 * member (a double booking), and bookings a caller was promised that are not there.
 */
import type { HarnessCatalog } from './catalog.js';
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
  /** Appointments a caller was told are booked that the admin API does not list as booked. */
  missing: BookedAppointment[];
}

/** Pairs of booked appointments of one staff member whose busy stretches overlap. */
export function findDoubleBookings(appointments: ListedAppointment[], catalog: HarnessCatalog): DoubleBooking[] {
  const byStaff = new Map<string, Array<{ appointment: ListedAppointment; busy: Array<{ start: number; end: number }> }>>();
  for (const appointment of appointments) {
    if (appointment.status !== 'booked') continue;
    const busy = catalog.busyStretches(appointment.service, Date.parse(appointment.start), Date.parse(appointment.end));
    const list = byStaff.get(appointment.staff) ?? [];
    list.push({ appointment, busy });
    byStaff.set(appointment.staff, list);
  }
  const found: DoubleBooking[] = [];
  const brief = ({ id, service, start, end, call_id }: ListedAppointment) => ({ id, service, start, end, call_id: call_id ?? null });
  for (const [staff, list] of byStaff) {
    list.sort((a, b) => Date.parse(a.appointment.start) - Date.parse(b.appointment.start));
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        const sameStart = a.appointment.start === b.appointment.start;
        const overlap = a.busy.some((x) => b.busy.some((y) => x.start < y.end && y.start < x.end));
        if (sameStart || overlap) found.push({ staff, first: brief(a.appointment), second: brief(b.appointment) });
      }
    }
  }
  return found;
}

export async function auditAppointments(options: {
  url: string;
  tenant: string;
  adminToken: string;
  catalog: HarnessCatalog;
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
  return {
    dates,
    appointments: listed.filter((appointment) => appointment.status === 'booked').length,
    doubleBookings: findDoubleBookings(listed, options.catalog),
    missing: options.bookings.filter((booking) => !bookedIds.has(booking.id)),
  };
}
