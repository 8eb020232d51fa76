/**
 * Learning the salon before a run, over the public contract only (PROTOCOL §2–§4):
 *
 * - `--catalog` (an override) or, with an admin token, the read-back
 *   `GET /v1/admin/tenants/{tenant}`: the whole catalog, hours, staff and phases. A broker
 *   that answers 404 or 405 there (one without the read-back) falls back to the next way.
 * - A runtime token alone: one probe call asks `get_current_context` (zone, today),
 *   `list_services`, and `check_availability` at 00:00 and 23:59 of a day per service:
 *   the alternatives name the first and the last free start of that day and of the
 *   following open days, and who has them. Every hold placed is released at once.
 *
 * The same probe call checks that the salon has what the scenario names (services, staff)
 * and learns the hold TTL from the first hold it gets.
 */
import { HarnessCatalog, localDateTime } from './catalog.js';
import { RuntimeClient, type ToolResultFrame } from './runtime-client.js';
import { CatalogSalon, LearnedSalon, type Salon, type SalonService } from './salon.js';
import type { ScenarioNeeds } from './scenario.js';
import { TargetError } from './target.js';
import { DateTime } from 'luxon';

export interface LearnOptions {
  url: string;
  token: string;
  callId: string;
  tenant?: string | undefined;
  adminToken?: string | undefined;
  /** A catalog body that overrides whatever the broker would tell. */
  catalog?: unknown;
  /** The run's local day; default: the first day with free time a week or more ahead. */
  date?: string | undefined;
  needs: ScenarioNeeds;
  /** Learn HOLD_TTL_S from the first hold the probe gets. */
  measureTtl: boolean;
}

export interface LearnedTarget {
  salon: Salon;
  date: string;
  /** null when not asked to measure it. */
  holdTtlMs: number | null;
  /** What the scenario needs that the salon lacks; empty when it can host the scenario. */
  missing: string[];
}

/** A run refused before it started: the salon lacks what the scenario needs. */
export class UnhostableScenarioError extends Error {
  constructor(
    readonly scenario: string,
    readonly missing: string[],
  ) {
    super(`the salon cannot host scenario "${scenario}": ${missing.join('; ')}`);
  }
}

const DAYS_AHEAD = 7;

interface Alternative {
  start: string;
  staff: string;
  staff_name?: string;
}

/**
 * `GET /v1/admin/tenants/{tenant}`: the catalog as last stored, or null when the broker
 * has no read-back (404, 405). Any other answer (a refused admin token, say) is an error.
 */
export async function readCatalogBack(url: string, tenant: string, adminToken: string): Promise<HarnessCatalog | null> {
  const response = await fetch(new URL(`/v1/admin/tenants/${encodeURIComponent(tenant)}`, url), { headers: { authorization: `Bearer ${adminToken}` } });
  const text = await response.text();
  if (response.status === 404 || response.status === 405) return null;
  if (response.status !== 200) throw new Error(`reading the catalog of "${tenant}" back failed: HTTP ${response.status} ${text.slice(0, 200)}`);
  return HarnessCatalog.from(JSON.parse(text));
}

export async function learnSalon(options: LearnOptions): Promise<LearnedTarget> {
  const override = options.catalog === undefined ? null : new CatalogSalon(HarnessCatalog.from(options.catalog), 'catalog');
  const readBack = override || !options.tenant || !options.adminToken ? null : await readCatalogBack(options.url, options.tenant, options.adminToken);
  const known: CatalogSalon | null = override ?? (readBack ? new CatalogSalon(readBack, 'admin') : null);

  const client = await RuntimeClient.connect(options.url, options.callId, options.token).catch((error: Error & { status?: number }) => {
    const hint = error.status === 401 ? ' (is --token a runtime token of this tenant?)' : '';
    throw new TargetError(`the salon probe call to ${options.url} failed: ${error.message}${hint}`);
  });
  try {
    const sentAt = Date.now();
    const ready = await client.start();
    const clockOffsetMs = Date.parse(String(ready.now)) - (sentAt + Date.now()) / 2;
    const probe = new Probe(client, clockOffsetMs);

    const context = await probe.tool('get_current_context');
    const listed = await probe.tool('list_services');
    if (!context.ok || !listed.ok) throw new Error(`the salon probe was refused: ${JSON.stringify((context.ok ? listed : context).error)}`);
    const today = String(context.result.date);
    const from = options.date ?? DateTime.fromISO(today).plus({ days: DAYS_AHEAD }).toISODate()!;
    const services = (listed.result.services as Array<{ id: string; name: string; duration_min: number }>) ?? [];

    const missing: string[] = [];
    let salon: Salon;
    let date: string;
    if (known) {
      salon = known;
      const notOffered = known.services.filter((service) => !services.some((listedService) => listedService.id === service.id));
      if (known.source === 'catalog' && notOffered.length > 0) {
        missing.push(`the given --catalog names services the salon does not list: ${notOffered.map((service) => service.name).join(', ')}`);
      }
      date = options.date ?? firstDayWithStarts(known, from) ?? from;
      if (!known.services.some((service) => known.startTimes(date, service.id).length > 0)) missing.push(`no open time for any service on ${date}`);
    } else {
      const learned = new LearnedSalon(
        String(context.result.business ?? 'salon'),
        String(context.result.timezone),
        services.map((service) => ({ id: service.id, name: service.name, aliases: [], durationMin: service.duration_min, phases: null })),
      );
      salon = learned;
      for (const service of learned.services) await probe.check(learned, service.id, { service: service.id, date: from, time: '00:00' });
      const firstDays = learned.services.flatMap((service) => learned.knownDates(service.id).slice(0, 1));
      date = options.date ?? firstDays.filter((day) => day >= from).sort()[0] ?? from;
      for (const service of learned.services) {
        if (learned.firstStart(date, service.id)) await probe.check(learned, service.id, { service: service.id, date, time: '23:59' });
      }
      if (!learned.services.some((service) => learned.firstStart(date, service.id))) {
        const names = learned.services.map((service) => service.name).join(', ') || 'none listed';
        missing.push(options.date ? `no free time for any service on ${date} (services: ${names})` : `no free time for any service within two weeks from ${from} (services: ${names})`);
      }
    }

    missing.push(...(await checkNeeds(probe, salon, date, options.needs)));

    let holdTtlMs: number | null = null;
    if (options.measureTtl && missing.length === 0) {
      if (probe.ttlMs === null) {
        const service = salon.services.find((candidate) => salon.firstStart(date, candidate.id));
        const start = service ? salon.firstStart(date, service.id)! : null;
        if (service && start) {
          // Hours say when a slot could be free, not that it is: a taken one answers with alternatives that are.
          const answer = await probe.check(salon, service.id, { service: service.id, date, time: start.time, ...(start.staff ? { staff: start.staff } : {}) }, true);
          const alternative = (answer.result.alternatives as Alternative[] | undefined)?.[0];
          if (probe.ttlMs === null && alternative) {
            await probe.check(salon, service.id, { service: service.id, ...localDateTime(alternative.start), staff: alternative.staff }, true);
          }
        }
      }
      if (probe.ttlMs === null) throw new Error(`could not learn the hold TTL (no hold placed on ${date}); pass --hold-ttl`);
      holdTtlMs = probe.ttlMs;
    }
    await client.end('salon probe done');
    return { salon, date, holdTtlMs, missing: [...new Set(missing)] };
  } finally {
    client.close();
  }
}

/** The first date from `from` on (within two weeks) on which some service has a start. */
function firstDayWithStarts(salon: Salon, from: string): string | null {
  for (let offset = 0; offset <= 14; offset++) {
    const date = DateTime.fromISO(from).plus({ days: offset }).toISODate()!;
    if (salon.services.some((service) => salon.startTimes(date, service.id).length > 0)) return date;
  }
  return null;
}

/** The services and staff a scenario names that the salon lacks, asking the broker where the harness's knowledge is partial. */
async function checkNeeds(probe: Probe, salon: Salon, date: string, needs: ScenarioNeeds): Promise<string[]> {
  const missing: string[] = [];
  const offered = salon.services.map((service) => service.name).join(', ');
  const resolved = new Map<string, SalonService | null>();
  for (const name of needs.services) {
    let service = salon.service(name) ?? null;
    if (!service && salon instanceof LearnedSalon) service = await probe.serviceByAlias(salon, name, date);
    resolved.set(name, service);
    if (!service) missing.push(`no service "${name}" (it offers: ${offered})`);
  }
  for (const need of needs.staff) {
    // A missing service is said above; the staff is then looked for among all services.
    const named = need.service === null ? null : (resolved.get(need.service) ?? null);
    const candidates = named ? [named] : salon.services;
    const member = salon.staff(need.staff);
    const offers = (service: SalonService) => member !== undefined && salon.staffFor(service.id).some((candidate) => candidate.id === member.id);
    if (candidates.some(offers)) continue;
    let found = false;
    if (salon instanceof LearnedSalon) {
      for (const service of candidates) {
        if (await probe.staffOffers(salon, service, need.staff, date)) {
          found = true;
          break;
        }
      }
    }
    if (!found) missing.push(named ? `no staff "${need.staff}" who offers ${named.name}` : `no staff "${need.staff}"`);
  }
  return missing;
}

/** The probe call's tools, learning from every answer. */
class Probe {
  ttlMs: number | null = null;

  constructor(
    private readonly client: RuntimeClient,
    private readonly clockOffsetMs: number,
  ) {}

  tool(name: string, args: Record<string, unknown> = {}): Promise<ToolResultFrame> {
    return this.client.tool(name, args, undefined, 10_000);
  }

  /**
   * `check_availability`, learning the starts and staff its answer shows; a hold it places
   * is released at once (after the TTL was read from it).
   */
  async check(salon: Salon, serviceId: string, args: Record<string, unknown>, measure = false): Promise<ToolResultFrame> {
    const answer = await this.tool('check_availability', args);
    const receivedAt = Date.now() + this.clockOffsetMs;
    if (!answer.ok) return answer;
    const learned = salon instanceof LearnedSalon ? salon : null;
    if (answer.result.available === true) {
      const hold = answer.result.hold as { expires_at: string; start: string; staff: string };
      if (this.ttlMs === null || measure) this.ttlMs = Math.max(1, Math.round((Date.parse(hold.expires_at) - receivedAt) / 1000)) * 1000;
      const { date, time } = localDateTime(hold.start);
      learned?.learnStaff(serviceId, { id: hold.staff, name: String(answer.result.staff_name ?? hold.staff) });
      learned?.learnStart(serviceId, date, { time, staff: hold.staff });
      await this.tool('release_hold');
      return answer;
    }
    for (const alternative of (answer.result.alternatives as Alternative[] | undefined) ?? []) {
      const { date, time } = localDateTime(alternative.start);
      learned?.learnStaff(serviceId, { id: alternative.staff, name: alternative.staff_name ?? alternative.staff });
      learned?.learnStart(serviceId, date, { time, staff: alternative.staff });
    }
    return answer;
  }

  /** A service the scenario names by something `list_services` does not show (an alias): the broker decides. */
  async serviceByAlias(salon: LearnedSalon, name: string, date: string): Promise<SalonService | null> {
    let answer = await this.tool('check_availability', { service: name, date, time: '00:00' });
    if (!answer.ok) return null;
    if (answer.result.available !== true) {
      const alternative = (answer.result.alternatives as Alternative[] | undefined)?.[0];
      if (!alternative) return null;
      answer = await this.tool('check_availability', { service: name, ...localDateTime(alternative.start), staff: alternative.staff });
    }
    if (!answer.ok || answer.result.available !== true) return null;
    await this.tool('release_hold');
    const service = salon.services.find((candidate) => candidate.id === answer.result.service) ?? null;
    service?.aliases.push(name);
    return service;
  }

  /** Whether the broker knows `staff` as someone who offers the service (it answers UNKNOWN_STAFF otherwise). */
  async staffOffers(salon: LearnedSalon, service: SalonService, staff: string, date: string): Promise<boolean> {
    const start = salon.firstStart(date, service.id);
    const answer = await this.check(salon, service.id, { service: service.id, date, time: start?.time ?? '00:00', staff });
    if (!answer.ok) return false;
    const id = answer.result.available === true ? String(answer.result.staff) : null;
    const alternative = ((answer.result.alternatives as Alternative[] | undefined) ?? []).find((candidate) => candidate.staff_name?.split(' ')[0]?.toLowerCase() === staff.split(' ')[0]?.toLowerCase());
    salon.learnStaff(service.id, { id: id ?? alternative?.staff ?? staff, name: id ? String(answer.result.staff_name ?? staff) : (alternative?.staff_name ?? staff) });
    return true;
  }
}
