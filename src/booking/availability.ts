/**
 * Pure availability arithmetic: where a service lands in time, whether it fits the
 * opening hours, whether a staff member is free, and which alternatives are nearest.
 * Local dates and times are in the tenant's IANA zone through luxon, so DST days come
 * out right; everything else is instants.
 */
import { DateTime } from 'luxon';
import type { Catalog, Service, StaffMember, WeeklyHours } from './catalog.js';
import { staffOffering } from './catalog.js';
import type { InstantRange, StaffClaim } from './ports.js';

const WEEKDAY_KEYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const MINUTE_MS = 60_000;

/** The instant a local date and time stands for; null when the wall-clock time does not exist (DST gap). */
export function localInstant(date: string, time: string, timezone: string): Date | null {
  const local = DateTime.fromISO(`${date}T${time}`, { zone: timezone });
  if (!local.isValid || local.toFormat('yyyy-MM-dd HH:mm') !== `${date} ${time}`) return null;
  return local.toJSDate();
}

export function localDateOf(instant: Date, timezone: string): string {
  return DateTime.fromJSDate(instant, { zone: timezone }).toISODate()!;
}

export function addDays(date: string, days: number): string {
  return DateTime.fromISO(date, { zone: 'UTC' }).plus({ days }).toISODate()!;
}

/** The whole span of a service starting at `start`, and the merged stretches its staff member is busy. */
export function layOut(service: Service, start: Date): { span: InstantRange; busy: InstantRange[] } {
  const busy: InstantRange[] = [];
  let cursor = start.getTime();
  for (const phase of service.phases) {
    const phaseEnd = cursor + phase.minutes * MINUTE_MS;
    const previous = busy.at(-1);
    if (phase.staff_busy) {
      if (previous && previous.end.getTime() === cursor) previous.end = new Date(phaseEnd);
      else busy.push({ start: new Date(cursor), end: new Date(phaseEnd) });
    }
    cursor = phaseEnd;
  }
  return { span: { start, end: new Date(cursor) }, busy };
}

const overlaps = (a: InstantRange, b: InstantRange) => a.start < b.end && b.start < a.end;

export function isFree(busy: InstantRange[], claims: StaffClaim[], staffId: string): boolean {
  return !claims.some((claim) => claim.staffId === staffId && busy.some((stretch) => overlaps(stretch, claim.during)));
}

/** The opening windows of one local date, as instants; none on a closed date. */
export function openingWindows(catalog: Catalog, member: StaffMember | null, date: string): InstantRange[] {
  if (catalog.closedDates.includes(date)) return [];
  const hours: WeeklyHours = member?.openingHours ?? catalog.openingHours;
  const weekday = WEEKDAY_KEYS[DateTime.fromISO(date, { zone: 'UTC' }).weekday - 1]!;
  return (hours[weekday] ?? []).flatMap(([from, to]) => {
    const start = DateTime.fromISO(`${date}T${from}`, { zone: catalog.timezone });
    const end = to === '24:00' ? start.startOf('day').plus({ days: 1 }) : DateTime.fromISO(`${date}T${to}`, { zone: catalog.timezone });
    return start.isValid && end.isValid && start < end ? [{ start: start.toJSDate(), end: end.toJSDate() }] : [];
  });
}

export const fitsHours = (windows: InstantRange[], span: InstantRange) =>
  windows.some((window) => window.start <= span.start && span.end <= window.end);

/** A concrete place for a service: a staff member and a start. */
export interface Slot {
  staff: StaffMember;
  start: Date;
  span: InstantRange;
  busy: InstantRange[];
}

/** Every start on the tenant's slot grid where `member` could do `service` on `date`, after `notBefore`. */
export function gridSlots(catalog: Catalog, service: Service, member: StaffMember, date: string, notBefore: Date): Slot[] {
  const stepMs = catalog.slotStepMin * MINUTE_MS;
  const slots: Slot[] = [];
  for (const window of openingWindows(catalog, member, date)) {
    for (let at = window.start.getTime(); at < window.end.getTime(); at += stepMs) {
      const start = new Date(at);
      if (start < notBefore) continue;
      const { span, busy } = layOut(service, start);
      if (span.end > window.end) break;
      slots.push({ staff: member, start, span, busy });
    }
  }
  return slots;
}

export interface SlotQuery {
  catalog: Catalog;
  service: Service;
  date: string;
  /** The requested start; null when the requested local time does not exist that day. */
  start: Date | null;
  /** The staff member the caller asked for, or null for anyone who offers the service. */
  staff: StaffMember | null;
  now: Date;
}

export type SlotVerdict =
  | { free: true; slots: Slot[] }
  | { free: false; reason: 'SLOT_TAKEN' | 'OUTSIDE_HOURS' | 'IN_THE_PAST' };

/**
 * Decides the requested slot against live claims. Free slots come back in the order
 * staff should be tried: the least busy that day first, then catalog order.
 */
export function judgeSlot(query: SlotQuery, claims: StaffClaim[]): SlotVerdict {
  const { catalog, service, date, start, now } = query;
  if (start === null) return { free: false, reason: 'OUTSIDE_HOURS' };
  if (start < now) return { free: false, reason: 'IN_THE_PAST' };
  const { span, busy } = layOut(service, start);
  const candidates = staffOffering(catalog, service.id).filter((member) => !query.staff || member.id === query.staff.id);
  const working = candidates.filter((member) => fitsHours(openingWindows(catalog, member, date), span));
  if (working.length === 0) return { free: false, reason: 'OUTSIDE_HOURS' };
  const free = working.filter((member) => isFree(busy, claims, member.id));
  if (free.length === 0) return { free: false, reason: 'SLOT_TAKEN' };
  const day = localDays(catalog, date);
  const load = (member: StaffMember) =>
    claims
      .filter((claim) => claim.staffId === member.id && overlaps(claim.during, day))
      .reduce((total, claim) => total + (Math.min(claim.during.end.getTime(), day.end.getTime()) - Math.max(claim.during.start.getTime(), day.start.getTime())), 0);
  const ordered = [...free].sort((a, b) => load(a) - load(b));
  return { free: true, slots: ordered.map((member) => ({ staff: member, start, span, busy })) };
}

export const ALTERNATIVE_DAYS = 14;
export const MAX_ALTERNATIVES = 3;

/** `days` local days from the start of `date`, in the tenant's zone, as instants. */
export function localDays(catalog: Catalog, date: string, days = 1): InstantRange {
  const from = DateTime.fromISO(date, { zone: catalog.timezone }).startOf('day');
  return { start: from.toJSDate(), end: from.plus({ days }).toJSDate() };
}

/** The first day alternatives are looked for on: the requested one, or today when that has passed. */
function firstAlternativeDay(catalog: Catalog, date: string, now: Date): string {
  const today = localDateOf(now, catalog.timezone);
  return date < today ? today : date;
}

/** The window of claims `alternatives` needs to read: the first day it searches and the following ones. */
export function alternativesWindow(catalog: Catalog, date: string, now: Date): InstantRange {
  return localDays(catalog, firstAlternativeDay(catalog, date, now), ALTERNATIVE_DAYS + 1);
}

/**
 * Up to three free slots, nearest first: the same staff on the same day (the nearest
 * earlier and the nearest later start), other staff at the requested time, then one per
 * following day, nearest to the requested time of day. Never the requested slot itself.
 */
export function alternatives(query: SlotQuery, claims: StaffClaim[]): Slot[] {
  const { catalog, service, now } = query;
  const qualified = staffOffering(catalog, service.id);
  const preferred = query.staff ? [query.staff] : qualified;
  const asked = query.start ?? localInstant(query.date, '12:00', catalog.timezone) ?? now;
  const wantedTime = DateTime.fromJSDate(asked, { zone: catalog.timezone }).toFormat('HH:mm');
  // A date already past (a model's wrong year, say) is searched from today, same time of day.
  const date = firstAlternativeDay(catalog, query.date, now);
  const wanted = date === query.date ? asked : (localInstant(date, wantedTime, catalog.timezone) ?? now);
  const freeOn = (members: StaffMember[], day: string) =>
    members.flatMap((member) => gridSlots(catalog, service, member, day, now)).filter((slot) => isFree(slot.busy, claims, slot.staff.id));

  const picked: Slot[] = [];
  const sameDay = freeOn(preferred, date);
  const earlier = nearest(sameDay.filter((slot) => slot.start < wanted), wanted);
  const later = nearest(sameDay.filter((slot) => slot.start > wanted), wanted);
  picked.push(...[earlier, later].filter((slot): slot is Slot => slot !== undefined).sort((a, b) => distance(a, wanted) - distance(b, wanted)));

  if (query.start && query.staff && query.start >= now) {
    const { span, busy } = layOut(service, query.start);
    for (const member of qualified) {
      if (member.id !== query.staff.id && fitsHours(openingWindows(catalog, member, date), span) && isFree(busy, claims, member.id)) {
        picked.push({ staff: member, start: query.start, span, busy });
      }
    }
  }

  for (let offset = 1; offset <= ALTERNATIVE_DAYS && picked.length < MAX_ALTERNATIVES; offset++) {
    const day = addDays(date, offset);
    // The same wall-clock time on that day; luxon moves a time in a DST gap forward.
    const target = DateTime.fromISO(`${day}T${wantedTime}`, { zone: catalog.timezone }).toJSDate();
    const best = nearest(freeOn(preferred, day), target);
    if (best) picked.push(best);
  }
  return picked.slice(0, MAX_ALTERNATIVES);
}

const distance = (slot: Slot, target: Date) => Math.abs(slot.start.getTime() - target.getTime());

/** The slot starting nearest to `target`, the earlier one on a tie. */
function nearest(slots: Slot[], target: Date): Slot | undefined {
  let best: Slot | undefined;
  for (const slot of slots) {
    if (!best || distance(slot, target) < distance(best, target) || (distance(slot, target) === distance(best, target) && slot.start < best.start)) best = slot;
  }
  return best;
}
