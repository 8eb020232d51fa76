/**
 * What the harness knows of the salon it drives, whatever it learned it from: a catalog
 * (`--catalog`, or the admin read-back `GET /v1/admin/tenants/{tenant}`), or only what a
 * runtime token can ask (`list_services`, `get_current_context`, and where
 * `check_availability` found free time). Callers pick services, staff and times through
 * this one interface, so a scenario never has to name the demo salon's services.
 */
import { DateTime } from 'luxon';
import type { HarnessCatalog } from './catalog.js';

/** Where the harness's knowledge of the salon came from. */
export type SalonSource = 'catalog' | 'admin' | 'runtime';

export interface SalonPhase {
  minutes: number;
  staff_busy: boolean;
}

export interface SalonService {
  id: string;
  name: string;
  aliases: string[];
  durationMin: number;
  /** null when learned over the runtime contract, which does not show phases. */
  phases: SalonPhase[] | null;
}

export interface SalonStaff {
  id: string;
  name: string;
}

/** A start on a local date and who can take it (null: whoever offers the service). */
export interface SalonStart {
  time: string;
  staff: string | null;
}

export interface Salon {
  readonly name: string;
  readonly timezone: string;
  readonly source: SalonSource;
  readonly services: SalonService[];
  /** A service by id, name or alias, forgiving case and spaces. */
  service(query: string): SalonService | undefined;
  /** A staff member by id, full name or first name, forgiving case. */
  staff(query: string): SalonStaff | undefined;
  /** Staff known to offer the service (from a catalog: all of them; learned: those seen in answers). */
  staffFor(serviceId: string): SalonStaff[];
  /** Starts (HH:MM) where the service fits on `date`, for `staffId` when given. Learned knowledge may be approximate: the broker's answers correct it. */
  startTimes(date: string, serviceId: string, staffId?: string | null): string[];
  /** The earliest and the latest start of the service on `date`, with who has it. */
  firstStart(date: string, serviceId: string): SalonStart | null;
  lastStart(date: string, serviceId: string): SalonStart | null;
  /** The stretches a staff member is busy for an appointment; null when the phases are not known. */
  busyStretches(serviceId: string, start: number, end: number): Array<{ start: number; end: number }> | null;
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const normalize = (text: string) => text.toLowerCase().replace(/[\s_-]+/g, '');

function findService(services: SalonService[], query: string): SalonService | undefined {
  const wanted = normalize(query);
  return services.find((service) => [service.id, service.name, ...service.aliases].some((name) => normalize(name) === wanted));
}

function findStaff(staff: SalonStaff[], query: string): SalonStaff | undefined {
  const wanted = normalize(query);
  return staff.find((member) => [member.id, member.name, member.name.split(' ')[0]!].some((name) => normalize(name) === wanted));
}

export const minutesOf = (time: string) => {
  const [hours, mins] = time.split(':').map(Number);
  return hours! * 60 + mins!;
};
export const clockOf = (total: number) => `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;

function stretchesOf(phases: SalonPhase[], start: number): Array<{ start: number; end: number }> {
  const stretches: Array<{ start: number; end: number }> = [];
  let cursor = start;
  for (const phase of phases) {
    const phaseEnd = cursor + phase.minutes * 60_000;
    if (phase.staff_busy) stretches.push({ start: cursor, end: phaseEnd });
    cursor = phaseEnd;
  }
  return stretches;
}

/** Full knowledge: a catalog body, with every staff member's own hours. */
export class CatalogSalon implements Salon {
  readonly services: SalonService[];

  constructor(
    readonly catalog: HarnessCatalog,
    readonly source: 'catalog' | 'admin',
  ) {
    this.services = catalog.body.services.map((service) => ({
      id: service.id,
      name: service.name,
      aliases: service.aliases,
      durationMin: catalog.durationMin(service),
      phases: service.phases,
    }));
  }

  get name(): string {
    return this.catalog.body.name;
  }

  get timezone(): string {
    return this.catalog.timezone;
  }

  service(query: string): SalonService | undefined {
    return findService(this.services, query);
  }

  staff(query: string): SalonStaff | undefined {
    return findStaff(this.catalog.body.staff, query);
  }

  staffFor(serviceId: string): SalonStaff[] {
    return this.catalog.body.staff.filter((member) => member.services.includes(serviceId)).map(({ id, name }) => ({ id, name }));
  }

  /** One staff member's windows on a local date: their own hours if set, else the salon's. */
  private windowsOf(staffId: string, date: string): Array<[string, string]> {
    const body = this.catalog.body;
    if (body.closed_dates.includes(date)) return [];
    const member = body.staff.find((candidate) => candidate.id === staffId);
    const weekday = WEEKDAYS[DateTime.fromISO(date, { zone: 'UTC' }).weekday - 1]!;
    return ((member?.opening_hours ?? body.opening_hours)[weekday] ?? []) as Array<[string, string]>;
  }

  private startsOf(date: string, service: SalonService, staffId: string): string[] {
    const step = this.catalog.body.slot_step_min;
    const times: string[] = [];
    for (const [from, to] of this.windowsOf(staffId, date)) {
      const close = to === '24:00' ? 24 * 60 : minutesOf(to);
      for (let at = minutesOf(from); at + service.durationMin <= close; at += step) times.push(clockOf(at));
    }
    return times;
  }

  startTimes(date: string, serviceId: string, staffId?: string | null): string[] {
    const service = this.services.find((candidate) => candidate.id === serviceId);
    if (!service) return [];
    const staff = staffId ? [staffId] : this.staffFor(serviceId).map((member) => member.id);
    return [...new Set(staff.flatMap((member) => this.startsOf(date, service, member)))].sort();
  }

  private extremeStart(date: string, serviceId: string, pick: 'first' | 'last'): SalonStart | null {
    const service = this.services.find((candidate) => candidate.id === serviceId);
    if (!service) return null;
    let best: SalonStart | null = null;
    for (const member of this.staffFor(serviceId)) {
      const starts = this.startsOf(date, service, member.id);
      const time = pick === 'first' ? starts[0] : starts.at(-1);
      if (time && (!best || (pick === 'first' ? time < best.time : time > best.time))) best = { time, staff: member.id };
    }
    return best;
  }

  firstStart(date: string, serviceId: string): SalonStart | null {
    return this.extremeStart(date, serviceId, 'first');
  }

  lastStart(date: string, serviceId: string): SalonStart | null {
    return this.extremeStart(date, serviceId, 'last');
  }

  busyStretches(serviceId: string, start: number, end: number): Array<{ start: number; end: number }> | null {
    const service = this.services.find((candidate) => candidate.id === serviceId);
    // A service the catalog does not know: busy throughout, the safe reading for a double-booking check.
    return service?.phases ? stretchesOf(service.phases, start) : [{ start, end }];
  }
}

/**
 * Knowledge learned with a runtime token alone: the services `list_services` names, the
 * staff seen in holds and alternatives, and per local date the first and last free start
 * of each service that `check_availability` reported. Start times in between are a guess
 * on a 15-minute grid: where it misses (a break, a staff member's own hours), the broker
 * answers with alternatives, which is what the callers take.
 */
export class LearnedSalon implements Salon {
  readonly source = 'runtime' as const;
  private readonly staffByService = new Map<string, SalonStaff[]>();
  private readonly allStaff: SalonStaff[] = [];
  private readonly extremes = new Map<string, { first: SalonStart; last: SalonStart }>();

  constructor(
    readonly name: string,
    readonly timezone: string,
    readonly services: SalonService[],
    private readonly stepMin = 15,
  ) {}

  /** Records that `staff` offers the service (seen in a hold or an alternative). */
  learnStaff(serviceId: string, staff: SalonStaff): void {
    if (!this.allStaff.some((member) => member.id === staff.id)) this.allStaff.push(staff);
    const list = this.staffByService.get(serviceId) ?? [];
    if (!list.some((member) => member.id === staff.id)) list.push(staff);
    this.staffByService.set(serviceId, list);
  }

  /** Records a free start of the service on a date; the first and last known ones bound its day. */
  learnStart(serviceId: string, date: string, start: SalonStart): void {
    const key = `${serviceId}@${date}`;
    const known = this.extremes.get(key);
    if (!known) {
      this.extremes.set(key, { first: start, last: start });
      return;
    }
    if (start.time < known.first.time) known.first = start;
    if (start.time > known.last.time) known.last = start;
  }

  /** The dates on which some start of the service is known, in order. */
  knownDates(serviceId: string): string[] {
    return [...this.extremes.keys()]
      .filter((key) => key.startsWith(`${serviceId}@`))
      .map((key) => key.slice(serviceId.length + 1))
      .sort();
  }

  service(query: string): SalonService | undefined {
    return findService(this.services, query);
  }

  staff(query: string): SalonStaff | undefined {
    return findStaff(this.allStaff, query);
  }

  staffFor(serviceId: string): SalonStaff[] {
    return this.staffByService.get(serviceId) ?? [];
  }

  startTimes(date: string, serviceId: string): string[] {
    const known = this.extremes.get(`${serviceId}@${date}`);
    if (!known) return [];
    const times: string[] = [];
    const last = minutesOf(known.last.time);
    for (let at = minutesOf(known.first.time); at < last; at += this.stepMin) times.push(clockOf(at));
    times.push(known.last.time);
    return times;
  }

  firstStart(date: string, serviceId: string): SalonStart | null {
    return this.extremes.get(`${serviceId}@${date}`)?.first ?? null;
  }

  lastStart(date: string, serviceId: string): SalonStart | null {
    return this.extremes.get(`${serviceId}@${date}`)?.last ?? null;
  }

  busyStretches(): null {
    return null;
  }
}

/** The longest service, preferring one with a processing gap (a phase that frees the staff) when phases are known. */
export function longestService(services: SalonService[], preferPhased: boolean): SalonService | undefined {
  const byLength = [...services].sort((a, b) => b.durationMin - a.durationMin);
  if (preferPhased) {
    const phased = byLength.find((service) => service.phases?.some((phase) => !phase.staff_busy));
    if (phased) return phased;
  }
  return byLength[0];
}

export function shortestService(services: SalonService[]): SalonService | undefined {
  return [...services].sort((a, b) => a.durationMin - b.durationMin)[0];
}
