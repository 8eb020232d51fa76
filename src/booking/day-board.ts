/**
 * The day board (PROTOCOL §5): one local day of a salon per staff member — when they
 * work, their appointments with busy and processing phases, live holds and blocks. Pure:
 * storage hands in the records, the route writes the wire shape.
 */
import { DateTime } from 'luxon';
import { openingWindows } from './availability.js';
import type { Catalog, StaffMember } from './catalog.js';
import type { AppointmentRecord, BlockRecord, HoldRecord, InstantRange } from './ports.js';

export interface BoardPhase extends InstantRange {
  staffBusy: boolean;
}

export interface BoardColumn {
  staff: Pick<StaffMember, 'id' | 'name'>;
  /** Local opening windows `[HH:MM, HH:MM]`; `24:00` for a window to midnight. */
  windows: Array<[string, string]>;
  appointments: Array<{ appointment: AppointmentRecord; phases: BoardPhase[] }>;
  holds: Array<HoldRecord & { callId: string | null }>;
  blocks: BlockRecord[];
}

export interface DayBoardInput {
  appointments: AppointmentRecord[];
  /** The busy stretches each appointment claims in storage (its processing gaps claim nothing). */
  claims: Array<{ appointmentId: string; during: InstantRange }>;
  holds: Array<HoldRecord & { callId: string | null }>;
  blocks: BlockRecord[];
}

/**
 * Phases of an appointment from what it claims: the claimed stretches are busy, the gaps
 * between them (and up to its end) processing. Drawn from storage rather than the service
 * as defined now, so a service changed since booking still shows what was booked.
 */
export function phasesOf(span: InstantRange, busy: InstantRange[]): BoardPhase[] {
  const phases: BoardPhase[] = [];
  let cursor = span.start;
  for (const stretch of [...busy].sort((a, b) => a.start.getTime() - b.start.getTime())) {
    if (stretch.start > cursor) phases.push({ start: cursor, end: stretch.start, staffBusy: false });
    phases.push({ start: stretch.start, end: stretch.end, staffBusy: true });
    cursor = stretch.end;
  }
  if (cursor < span.end) phases.push({ start: cursor, end: span.end, staffBusy: false });
  return phases;
}

function localWindow(window: InstantRange, date: string, timezone: string): [string, string] {
  const local = (instant: Date) => DateTime.fromJSDate(instant, { zone: timezone });
  const end = local(window.end);
  return [local(window.start).toFormat('HH:mm'), end.toISODate() === date ? end.toFormat('HH:mm') : '24:00'];
}

/** Columns in catalog order; a staff member no longer in the catalog who still has something that day is appended. */
export function dayBoard(catalog: Catalog, date: string, input: DayBoardInput): BoardColumn[] {
  const booked = input.appointments.filter((appointment) => appointment.status === 'booked');
  const members: Array<Pick<StaffMember, 'id' | 'name'> & { known: StaffMember | null }> = catalog.staff.map((member) => ({ id: member.id, name: member.name, known: member }));
  for (const staffId of [...booked.map((a) => a.staffId), ...input.holds.map((h) => h.staffId), ...input.blocks.map((b) => b.staffId)]) {
    if (!members.some((member) => member.id === staffId)) members.push({ id: staffId, name: staffId, known: null });
  }
  return members.map(({ id, name, known }) => ({
    staff: { id, name },
    windows: known ? openingWindows(catalog, known, date).map((window) => localWindow(window, date, catalog.timezone)) : [],
    appointments: booked
      .filter((appointment) => appointment.staffId === id)
      .map((appointment) => ({
        appointment,
        phases: phasesOf(
          appointment,
          input.claims.filter((claim) => claim.appointmentId === appointment.id).map((claim) => claim.during),
        ),
      })),
    holds: input.holds.filter((hold) => hold.staffId === id),
    blocks: input.blocks.filter((block) => block.staffId === id),
  }));
}
