/**
 * Pure availability arithmetic: where a service lands in time, whether it fits the
 * opening hours, whether a staff member is free, and which alternatives are nearest.
 * Local dates and times are in the tenant's IANA zone through luxon, so DST days come
 * out right; everything else is instants.
 *
 * Why it works in integers: a refused request searches up to 15 days × every qualified
 * staff member × every grid start against every live claim, and luxon conversions and
 * `Date` comparisons in that loop cost milliseconds per answer (issue 14). So luxon is
 * asked once per tenant-day (the opening windows, as epoch milliseconds), local times
 * become instants through `src/time-zones.ts`, and the search runs on numbers: each staff member's claims are
 * sorted and merged once per read, and a candidate is checked by binary search. The
 * memos below are of pure functions of their keys (a catalog is never changed in place:
 * a reload is a new object), so they change no answer, only what it costs.
 */
import { DateTime } from 'luxon';
import type { Catalog, Service, StaffMember, WeeklyHours } from './catalog.js';
import { staffOffering } from './catalog.js';
import type { InstantRange, StaffClaim } from './ports.js';
import { inZone, localToInstant } from '../time-zones.js';

const WEEKDAY_KEYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** A half-open `[start, end)` range in epoch milliseconds. */
type Span = readonly [start: number, end: number];

/** A bounded memo of a pure function of a string: cleared whole when full, so it never grows past `limit`. */
function memo<V>(limit: number, compute: (key: string) => V): (key: string) => V {
  const values = new Map<string, V>();
  return (key) => {
    const known = values.get(key);
    if (known !== undefined || values.has(key)) return known as V;
    const value = compute(key);
    if (values.size >= limit) values.clear();
    values.set(key, value);
    return value;
  };
}

const SEPARATOR = '\u0000';

/** The instant of a local date and time, or null when that wall-clock time does not exist (DST gap). */
const exactLocalMs = (date: string, time: string, timezone: string): number | null => {
  const { ms, exact } = localToInstant(date, time, timezone);
  return exact ? ms : null;
};

/** The instant of a local date and time, a time in a DST gap moved forward as luxon does. */
const movedLocalMs = (date: string, time: string, timezone: string): number => localToInstant(date, time, timezone).ms;

/** `zone␀date␀days` → `[start of date, start of date + days)` in the zone. */
const localDaysMs = memo(20_000, (key): Span => {
  const [timezone, date, days] = key.split(SEPARATOR) as [string, string, string];
  const from = DateTime.fromISO(date, { zone: timezone }).startOf('day');
  return [from.toMillis(), from.plus({ days: Number(days) }).toMillis()];
});

/** The instant a local date and time stands for; null when the wall-clock time does not exist (DST gap). */
export function localInstant(date: string, time: string, timezone: string): Date | null {
  const ms = exactLocalMs(date, time, timezone);
  return ms === null ? null : new Date(ms);
}

export function localDateOf(instant: Date, timezone: string): string {
  return inZone(instant.getTime(), timezone).toISODate()!;
}

/** The calendar date `days` after `date` (`YYYY-MM-DD`); no zone is involved. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** A service's shape relative to its start: its whole length and the merged stretches its staff member is busy. */
interface Layout {
  spanMs: number;
  busy: Span[];
}

const layouts = new WeakMap<Service, Layout>();

function layoutOf(service: Service): Layout {
  let layout = layouts.get(service);
  if (!layout) {
    const busy: Array<[number, number]> = [];
    let cursor = 0;
    for (const phase of service.phases) {
      const phaseEnd = cursor + phase.minutes * MINUTE_MS;
      const previous = busy.at(-1);
      if (phase.staff_busy) {
        if (previous && previous[1] === cursor) previous[1] = phaseEnd;
        else busy.push([cursor, phaseEnd]);
      }
      cursor = phaseEnd;
    }
    layout = { spanMs: cursor, busy };
    layouts.set(service, layout);
  }
  return layout;
}

/** The whole span of a service starting at `start`, and the merged stretches its staff member is busy. */
export function layOut(service: Service, start: Date): { span: InstantRange; busy: InstantRange[] } {
  return placed(layoutOf(service), start.getTime());
}

function placed(layout: Layout, startMs: number): { span: InstantRange; busy: InstantRange[] } {
  return {
    span: { start: new Date(startMs), end: new Date(startMs + layout.spanMs) },
    busy: layout.busy.map(([from, to]) => ({ start: new Date(startMs + from), end: new Date(startMs + to) })),
  };
}

/** One staff member's live claims, sorted and merged (touching ones too), so `starts` and `ends` both ascend. */
interface StaffBusy {
  starts: number[];
  ends: number[];
}

const claimIndexes = new WeakMap<StaffClaim[], Map<string, StaffBusy>>();

/** Claims by staff member, sorted and merged; built once per claims array (one storage read). */
function claimIndex(claims: StaffClaim[]): Map<string, StaffBusy> {
  let index = claimIndexes.get(claims);
  if (index) return index;
  const byStaff = new Map<string, Array<[number, number]>>();
  for (const claim of claims) {
    let list = byStaff.get(claim.staffId);
    if (!list) byStaff.set(claim.staffId, (list = []));
    list.push([claim.during.start.getTime(), claim.during.end.getTime()]);
  }
  index = new Map();
  for (const [staffId, list] of byStaff) {
    list.sort((a, b) => a[0] - b[0]);
    const starts: number[] = [];
    const ends: number[] = [];
    for (const [start, end] of list) {
      if (start > end) continue;
      if (ends.length > 0 && start <= ends[ends.length - 1]!) ends[ends.length - 1] = Math.max(ends[ends.length - 1]!, end);
      else {
        starts.push(start);
        ends.push(end);
      }
    }
    index.set(staffId, { starts, ends });
  }
  claimIndexes.set(claims, index);
  return index;
}

/** Whether `[from, to)` overlaps none of the merged claims: the first claim ending after `from` must start at or after `to`. */
function clear(busy: StaffBusy | undefined, from: number, to: number): boolean {
  if (!busy) return true;
  const { starts, ends } = busy;
  let low = 0;
  let high = ends.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (ends[middle]! > from) high = middle;
    else low = middle + 1;
  }
  return low === ends.length || starts[low]! >= to;
}

/** Whether every busy stretch of `layout` started at `startMs` is clear of `staff`'s claims. */
function freeAt(staff: StaffBusy | undefined, layout: Layout, startMs: number): boolean {
  for (const [from, to] of layout.busy) if (!clear(staff, startMs + from, startMs + to)) return false;
  return true;
}

export function isFree(busy: InstantRange[], claims: StaffClaim[], staffId: string): boolean {
  const staff = claimIndex(claims).get(staffId);
  return busy.every((stretch) => clear(staff, stretch.start.getTime(), stretch.end.getTime()));
}

/** Opening windows as epoch milliseconds, per catalog object and `hours owner␀date`. */
const windowCaches = new WeakMap<Catalog, Map<string, readonly Span[]>>();

function windowsMs(catalog: Catalog, member: StaffMember | null, date: string): readonly Span[] {
  let cache = windowCaches.get(catalog);
  if (!cache) windowCaches.set(catalog, (cache = new Map()));
  const hours: WeeklyHours = member?.openingHours ?? catalog.openingHours;
  const key = `${member?.openingHours ? member.id : ''}${SEPARATOR}${date}`;
  let windows = cache.get(key);
  if (!windows) {
    windows = computeWindows(catalog, hours, date);
    // A catalog lives for seconds (CatalogCache) and is asked about a few hundred days at most; the bound is a backstop.
    if (cache.size >= 20_000) cache.clear();
    cache.set(key, windows);
  }
  return windows;
}

function computeWindows(catalog: Catalog, hours: WeeklyHours, date: string): Span[] {
  if (catalog.closedDates.includes(date)) return [];
  const weekday = WEEKDAY_KEYS[new Date(Date.parse(`${date}T00:00:00Z`)).getUTCDay()]!;
  return (hours[weekday] ?? []).flatMap(([from, to]): Span[] => {
    const start = DateTime.fromISO(`${date}T${from}`, { zone: catalog.timezone });
    const end = to === '24:00' ? start.startOf('day').plus({ days: 1 }) : DateTime.fromISO(`${date}T${to}`, { zone: catalog.timezone });
    return start.isValid && end.isValid && start < end ? [[start.toMillis(), end.toMillis()]] : [];
  });
}

/** The opening windows of one local date, as instants; none on a closed date. */
export function openingWindows(catalog: Catalog, member: StaffMember | null, date: string): InstantRange[] {
  return windowsMs(catalog, member, date).map(([start, end]) => ({ start: new Date(start), end: new Date(end) }));
}

export const fitsHours = (windows: InstantRange[], span: InstantRange) =>
  windows.some((window) => window.start <= span.start && span.end <= window.end);

const fitsWindows = (windows: readonly Span[], startMs: number, endMs: number) =>
  windows.some(([start, end]) => start <= startMs && endMs <= end);

/** A concrete place for a service: a staff member and a start. */
export interface Slot {
  staff: StaffMember;
  start: Date;
  span: InstantRange;
  busy: InstantRange[];
}

function slotAt(member: StaffMember, layout: Layout, startMs: number): Slot {
  const { span, busy } = placed(layout, startMs);
  return { staff: member, start: span.start, span, busy };
}

/**
 * Calls `visit` with every start on the tenant's slot grid where `member` could do the
 * service on `date`, at or after `notBeforeMs`, in order: window by window, each from its
 * opening. The grid is anchored at each window's opening.
 */
function forEachGridStart(catalog: Catalog, layout: Layout, member: StaffMember, date: string, notBeforeMs: number, visit: (startMs: number) => void): void {
  const stepMs = catalog.slotStepMin * MINUTE_MS;
  for (const [windowStart, windowEnd] of windowsMs(catalog, member, date)) {
    for (let at = windowStart; at < windowEnd; at += stepMs) {
      if (at < notBeforeMs) continue;
      if (at + layout.spanMs > windowEnd) break;
      visit(at);
    }
  }
}

/** Every start on the tenant's slot grid where `member` could do `service` on `date`, after `notBefore`. */
export function gridSlots(catalog: Catalog, service: Service, member: StaffMember, date: string, notBefore: Date): Slot[] {
  const layout = layoutOf(service);
  const slots: Slot[] = [];
  forEachGridStart(catalog, layout, member, date, notBefore.getTime(), (startMs) => slots.push(slotAt(member, layout, startMs)));
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
  const layout = layoutOf(service);
  const startMs = start.getTime();
  const candidates = staffOffering(catalog, service.id).filter((member) => !query.staff || member.id === query.staff.id);
  const working = candidates.filter((member) => fitsWindows(windowsMs(catalog, member, date), startMs, startMs + layout.spanMs));
  if (working.length === 0) return { free: false, reason: 'OUTSIDE_HOURS' };
  const index = claimIndex(claims);
  const free = working.filter((member) => freeAt(index.get(member.id), layout, startMs));
  if (free.length === 0) return { free: false, reason: 'SLOT_TAKEN' };
  const [dayStart, dayEnd] = localDaysMs(`${catalog.timezone}${SEPARATOR}${date}${SEPARATOR}1`);
  const load = (member: StaffMember) => {
    let total = 0;
    for (const claim of claims) {
      if (claim.staffId === member.id) total += Math.max(0, Math.min(claim.during.end.getTime(), dayEnd) - Math.max(claim.during.start.getTime(), dayStart));
    }
    return total;
  };
  const loads = new Map(free.map((member) => [member, load(member)]));
  const ordered = [...free].sort((a, b) => loads.get(a)! - loads.get(b)!);
  const { span, busy } = placed(layout, startMs);
  return { free: true, slots: ordered.map((member) => ({ staff: member, start, span, busy })) };
}

export const ALTERNATIVE_DAYS = 14;
export const MAX_ALTERNATIVES = 3;

/** `days` local days from the start of `date`, in the tenant's zone, as instants. */
export function localDays(catalog: Catalog, date: string, days = 1): InstantRange {
  const [start, end] = localDaysMs(`${catalog.timezone}${SEPARATOR}${date}${SEPARATOR}${days}`);
  return { start: new Date(start), end: new Date(end) };
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

/** The free start nearest a target: a smaller distance wins, then the earlier start, then whoever was seen first. */
class Nearest {
  member: StaffMember | null = null;
  startMs = 0;
  private distance = Infinity;

  constructor(private readonly targetMs: number) {}

  offer(member: StaffMember, startMs: number): void {
    const distance = Math.abs(startMs - this.targetMs);
    if (distance < this.distance || (distance === this.distance && startMs < this.startMs)) {
      this.member = member;
      this.startMs = startMs;
      this.distance = distance;
    }
  }
}

/**
 * Up to three free slots, nearest first: the same staff on the same day (the nearest
 * earlier and the nearest later start), other staff at the requested time, then one per
 * following day, nearest to the requested time of day. Never the requested slot itself.
 * Cost: O(days × staff × grid starts × log claims) after one O(claims log claims) sort.
 */
export function alternatives(query: SlotQuery, claims: StaffClaim[]): Slot[] {
  const { catalog, service, now } = query;
  const timezone = catalog.timezone;
  const layout = layoutOf(service);
  const index = claimIndex(claims);
  const nowMs = now.getTime();
  const qualified = staffOffering(catalog, service.id);
  const preferred = query.staff ? [query.staff] : qualified;
  const asked = query.start ?? localInstant(query.date, '12:00', timezone) ?? now;
  const wantedTime = inZone(asked.getTime(), timezone).toFormat('HH:mm');
  // A date already past (a model's wrong year, say) is searched from today, same time of day.
  const date = firstAlternativeDay(catalog, query.date, now);
  const wantedMs = date === query.date ? asked.getTime() : (exactLocalMs(date, wantedTime, timezone) ?? nowMs);
  /** Visits every free grid start of `members` on `day`, member by member, each in time order. */
  const forEachFree = (members: StaffMember[], day: string, visit: (member: StaffMember, startMs: number) => void) => {
    for (const member of members) {
      const busy = index.get(member.id);
      forEachGridStart(catalog, layout, member, day, nowMs, (startMs) => {
        if (freeAt(busy, layout, startMs)) visit(member, startMs);
      });
    }
  };

  const picked: Slot[] = [];
  const earlier = new Nearest(wantedMs);
  const later = new Nearest(wantedMs);
  forEachFree(preferred, date, (member, startMs) => {
    if (startMs < wantedMs) earlier.offer(member, startMs);
    else if (startMs > wantedMs) later.offer(member, startMs);
  });
  const sameDay = [earlier, later].filter((nearest) => nearest.member !== null);
  // Stable: on equal distance the earlier start stays first.
  sameDay.sort((a, b) => Math.abs(a.startMs - wantedMs) - Math.abs(b.startMs - wantedMs));
  for (const nearest of sameDay) picked.push(slotAt(nearest.member!, layout, nearest.startMs));

  if (query.start && query.staff && query.start >= now) {
    const startMs = query.start.getTime();
    for (const member of qualified) {
      if (
        member.id !== query.staff.id &&
        fitsWindows(windowsMs(catalog, member, date), startMs, startMs + layout.spanMs) &&
        freeAt(index.get(member.id), layout, startMs)
      ) {
        picked.push(slotAt(member, layout, startMs));
      }
    }
  }

  for (let offset = 1; offset <= ALTERNATIVE_DAYS && picked.length < MAX_ALTERNATIVES; offset++) {
    const day = addDays(date, offset);
    // The same wall-clock time on that day; luxon moves a time in a DST gap forward.
    const best = new Nearest(movedLocalMs(day, wantedTime, timezone));
    forEachFree(preferred, day, (member, startMs) => best.offer(member, startMs));
    if (best.member) picked.push(slotAt(best.member, layout, best.startMs));
  }
  return picked.slice(0, MAX_ALTERNATIVES);
}
