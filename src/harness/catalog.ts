/**
 * A salon's catalog body as `PUT /v1/admin/tenants/{tenant}` takes it and
 * `GET /v1/admin/tenants/{tenant}` returns it: read from `--catalog`, from the admin
 * read-back, or the demo salon's. `salon.ts` turns it into what callers pick from; its
 * phases tell a real double booking (overlapping staff-busy phases) from a booking placed
 * in another appointment's processing gap.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import demoCatalogBody from '../demo/salon-sonnenschein.json' with { type: 'json' };

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const hours = z.record(z.string(), z.array(z.tuple([z.string(), z.string()])));
const catalogBody = z.object({
  name: z.string().default('salon'),
  timezone: z.string(),
  slot_step_min: z.number().int().positive().default(15),
  opening_hours: hours,
  closed_dates: z.array(z.string()).default([]),
  staff: z.array(z.object({ id: z.string(), name: z.string(), services: z.array(z.string()), opening_hours: hours.optional() })),
  services: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      aliases: z.array(z.string()).default([]),
      phases: z.array(z.object({ minutes: z.number().positive(), staff_busy: z.boolean() })).min(1),
    }),
  ),
});

export type CatalogBody = z.infer<typeof catalogBody>;
export type HarnessService = CatalogBody['services'][number];

export { demoCatalogBody };

export class HarnessCatalog {
  private constructor(readonly body: CatalogBody) {}

  /** Reads a catalog body as `PUT /v1/admin/tenants/{tenant}` takes it; throws naming the bad field. */
  static from(json: unknown): HarnessCatalog {
    const parsed = catalogBody.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`catalog: ${issue.path.join('.')}: ${issue.message}`);
    }
    return new HarnessCatalog(parsed.data);
  }

  static demo(): HarnessCatalog {
    return HarnessCatalog.from(demoCatalogBody);
  }

  get timezone(): string {
    return this.body.timezone;
  }

  get services(): HarnessService[] {
    return this.body.services;
  }

  /** A service by id, name or (case-insensitively) either. */
  service(query: string): HarnessService | undefined {
    const wanted = query.toLowerCase();
    return this.body.services.find((service) => service.id.toLowerCase() === wanted || service.name.toLowerCase() === wanted);
  }

  durationMin(service: HarnessService): number {
    return service.phases.reduce((total, phase) => total + phase.minutes, 0);
  }

  isOpen(date: string): boolean {
    return !this.body.closed_dates.includes(date) && this.windows(date).length > 0;
  }

  /** The tenant's opening windows on a local date, as [from, to] local times. */
  windows(date: string): Array<[string, string]> {
    if (this.body.closed_dates.includes(date)) return [];
    const weekday = WEEKDAYS[DateTime.fromISO(date, { zone: 'UTC' }).weekday - 1]!;
    return (this.body.opening_hours[weekday] ?? []) as Array<[string, string]>;
  }

  /** Every start on the slot grid where `service` fits the tenant's hours on `date` (HH:MM). */
  startTimes(date: string, service: HarnessService): string[] {
    const duration = this.durationMin(service);
    const step = this.body.slot_step_min;
    const times: string[] = [];
    for (const [from, to] of this.windows(date)) {
      const open = minutes(from);
      const close = minutes(to);
      for (let at = open; at + duration <= close; at += step) times.push(clock(at));
    }
    return times;
  }

  /**
   * The stretches a staff member is busy for an appointment of `serviceId` starting at
   * `start` (epoch ms): its staff_busy phases. An unknown service counts as busy throughout.
   */
  busyStretches(serviceId: string, start: number, end: number): Array<{ start: number; end: number }> {
    const service = this.body.services.find((candidate) => candidate.id === serviceId);
    if (!service) return [{ start, end }];
    const stretches: Array<{ start: number; end: number }> = [];
    let cursor = start;
    for (const phase of service.phases) {
      const phaseEnd = cursor + phase.minutes * 60_000;
      if (phase.staff_busy) stretches.push({ start: cursor, end: phaseEnd });
      cursor = phaseEnd;
    }
    return stretches;
  }

  /**
   * The default day to simulate: the first `weekday` at least `minDaysAhead` days from
   * `now` in the salon's zone on which it is open (skipping closed dates and 24–26 Dec).
   */
  defaultDate(now: Date = new Date(), weekday: Weekday = 'fri', minDaysAhead = 7): string {
    let day = DateTime.fromJSDate(now, { zone: this.timezone }).startOf('day').plus({ days: minDaysAhead });
    for (let guard = 0; guard < 400; guard++, day = day.plus({ days: 1 })) {
      const date = day.toISODate()!;
      const holiday = day.month === 12 && day.day >= 24 && day.day <= 26;
      if (WEEKDAYS[day.weekday - 1] === weekday && !holiday && this.isOpen(date)) return date;
    }
    throw new Error(`the salon is never open on ${weekday}`);
  }

  /** The open dates from `from` on (inclusive), up to `count` of them. */
  openDates(from: string, count: number): string[] {
    const dates: string[] = [];
    let day = DateTime.fromISO(from, { zone: 'UTC' });
    for (let guard = 0; dates.length < count && guard < count * 7 + 14; guard++, day = day.plus({ days: 1 })) {
      const date = day.toISODate()!;
      const holiday = day.month === 12 && day.day >= 24 && day.day <= 26;
      if (!holiday && this.isOpen(date)) dates.push(date);
    }
    return dates;
  }
}

const minutes = (time: string) => {
  const [hours, mins] = time.split(':').map(Number);
  return hours! * 60 + mins!;
};
const clock = (total: number) => `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;

/** The local date and HH:MM of a wire instant (which carries the tenant's offset). */
export function localDateTime(iso: string): { date: string; time: string } {
  const local = DateTime.fromISO(iso, { setZone: true });
  return { date: local.toISODate()!, time: local.toFormat('HH:mm') };
}
