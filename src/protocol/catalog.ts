/**
 * The catalog body of `PUT /v1/admin/tenants/{tenant}` (PROTOCOL §2), validated field by
 * field so a 400 can name every bad one.
 * @see ../../docs/PROTOCOL.md §2
 */
import { DateTime, IANAZone } from 'luxon';
import { z } from 'zod';
import type { Catalog, Customer } from '../booking/catalog.js';
import { describeJsonProblem, findJsonProblems, MAX_JSON_DEPTH } from './json-walk.js';


const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'expected a local time HH:MM');
const window = z.tuple([clock, clock]).refine(([from, to]) => from < to, 'a window must open before it closes');
const weeklyHours = z
  .object(Object.fromEntries(WEEKDAYS.map((day) => [day, z.array(window).default([])])) as Record<(typeof WEEKDAYS)[number], z.ZodDefault<z.ZodArray<typeof window>>>)
  .strict();
const id = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1-64 characters of [A-Za-z0-9_.:-]');
const isoDate = z.string().refine((value) => /^\d{4}-\d{2}-\d{2}$/.test(value) && DateTime.fromISO(value).isValid, 'expected a date YYYY-MM-DD');

export const catalogSchema = z
  .object({
    name: z.string().min(1),
    timezone: z.string().refine((zone) => IANAZone.isValidZone(zone), 'expected an IANA time zone such as Europe/Berlin'),
    slot_step_min: z.number().int().min(5).max(240).default(15),
    opening_hours: weeklyHours,
    closed_dates: z.array(isoDate).default([]),
    staff: z
      .array(
        z.object({
          id,
          name: z.string().min(1),
          services: z.array(id),
          opening_hours: weeklyHours.optional(),
        }),
      )
      .min(1),
    services: z
      .array(
        z.object({
          id,
          name: z.string().min(1),
          aliases: z.array(z.string().min(1)).default([]),
          phases: z
            .array(z.object({ minutes: z.number().int().min(1).max(24 * 60), staff_busy: z.boolean(), label: z.string().optional() }))
            .min(1)
            .refine((phases) => phases.some((phase) => phase.staff_busy), 'at least one phase must keep the staff busy'),
        }),
      )
      .min(1),
    customers: z.array(z.object({ name: z.string().min(1), phone: z.string().min(3).max(32) })).default([]),
  })
  .superRefine((catalog, context) => {
    const serviceIds = new Set(catalog.services.map((service) => service.id));
    catalog.staff.forEach((member, index) =>
      member.services.forEach((serviceId, position) => {
        if (!serviceIds.has(serviceId)) {
          context.addIssue({ code: 'custom', path: ['staff', index, 'services', position], message: `unknown service "${serviceId}"` });
        }
      }),
    );
    for (const [list, key] of [[catalog.staff, 'staff'], [catalog.services, 'services']] as const) {
      const seen = new Set<string>();
      list.forEach((entry, index) => {
        if (seen.has(entry.id)) context.addIssue({ code: 'custom', path: [key, index, 'id'], message: `duplicate id "${entry.id}"` });
        seen.add(entry.id);
      });
    }
  });

export type CatalogBody = z.infer<typeof catalogSchema>;

/**
 * What the schema cannot see: every string of the body (names, aliases, labels, phones,
 * even keys nobody reads) that PostgreSQL cannot store, and nesting past 32 levels
 * (PROTOCOL §3 bounds frames so; a catalog gets the same bound). One line per issue naming its path, as `describeIssues` does.
 * Run it before `catalogSchema`, which would otherwise pass such text on to a 500 or to
 * a silent U+FFFD.
 */
export function unstorableCatalogIssues(body: unknown): string[] {
  return findJsonProblems(body, { maxDepth: MAX_JSON_DEPTH }).map((problem) => describeJsonProblem(problem));
}

export function toCatalog(tenantId: string, body: CatalogBody): { catalog: Catalog; customers: Customer[] } {
  return {
    catalog: {
      tenantId,
      name: body.name,
      timezone: body.timezone,
      slotStepMin: body.slot_step_min,
      openingHours: body.opening_hours,
      closedDates: body.closed_dates,
      staff: body.staff.map((member) => ({ id: member.id, name: member.name, services: member.services, openingHours: member.opening_hours ?? null })),
      services: body.services.map((service) => ({ id: service.id, name: service.name, aliases: service.aliases, phases: service.phases })),
    },
    customers: body.customers,
  };
}

/**
 * The catalog as `GET /v1/admin/tenants/{tenant}` shows it: the shape of the PUT body,
 * with what is stored now (inactive staff and services are not in `catalog`; customers
 * are not part of the answer).
 */
export function fromCatalog(catalog: Catalog): Omit<CatalogBody, 'customers'> {
  // Storage keeps which services a staff member offers, not in what order: catalog order it is.
  const position = new Map(catalog.services.map((service, index) => [service.id, index]));
  const inCatalogOrder = (ids: string[]) => [...ids].sort((a, b) => (position.get(a) ?? Infinity) - (position.get(b) ?? Infinity));
  return {
    name: catalog.name,
    timezone: catalog.timezone,
    slot_step_min: catalog.slotStepMin,
    opening_hours: catalog.openingHours as CatalogBody['opening_hours'],
    closed_dates: catalog.closedDates,
    staff: catalog.staff.map((member) => ({
      id: member.id,
      name: member.name,
      services: inCatalogOrder(member.services),
      ...(member.openingHours ? { opening_hours: member.openingHours as CatalogBody['opening_hours'] } : {}),
    })),
    services: catalog.services.map((service) => ({
      id: service.id,
      name: service.name,
      aliases: service.aliases,
      phases: service.phases.map((phase) => ({ minutes: phase.minutes, staff_busy: phase.staff_busy, ...(phase.label !== undefined ? { label: phase.label } : {}) })),
    })),
  };
}
