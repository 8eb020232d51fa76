/**
 * The harness's programmatic API: learn the salon over the contract, refuse a scenario it
 * cannot host, run the scenario's callers against the broker, then read the appointments
 * back through the admin API and report what the callers lived through. The CLI
 * (`npm run simulate`), the benchmark and the tests all go through `runSimulation`.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { auditAppointments, type AuditResult } from './audit.js';
import { SimulatedCaller, type AskedSlot, type CallerEnvironment } from './caller.js';
import { learnSalon, UnhostableScenarioError } from './learn.js';
import { Prng } from './prng.js';
import { buildReport, type SimulationReport } from './report.js';
import { scenarioNeeds, type Scenario, type SlotSpec, type Step } from './scenario.js';
import { RunTally } from './tally.js';

export interface SimulationOptions {
  /** The broker's base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  /** A runtime token of the tenant. */
  token: string;
  /** Tenant and admin token: needed to read appointments back for the double-booking check. */
  tenant?: string | undefined;
  adminToken?: string | undefined;
  scenario: Scenario;
  callers?: number | undefined;
  /** At most this many calls live at once (default: all callers). */
  concurrency?: number | undefined;
  seed?: number | undefined;
  /** The local day to book on (default: the first day with free time at least a week ahead). */
  date?: string | undefined;
  /** The broker's HOLD_TTL_S in ms; probed with one hold when not given. */
  holdTtlMs?: number | undefined;
  /** The broker's HOLD_MAX_S in ms (default 600 s). */
  holdMaxMs?: number | undefined;
  /** Multiplies the scenario's `s` durations (default: hold TTL / 60 s). */
  timeScale?: number | undefined;
  /** Play the callers as a system without holds would: check, release at once, book by naming the slot. */
  naive?: boolean | undefined;
  /**
   * The tenant's catalog body, overriding what the harness would learn: by default the
   * admin read-back (with tenant and admin token), else what the runtime tools tell.
   */
  catalog?: unknown;
  toolTimeoutMs?: number | undefined;
  /** Carries each call another way than our WebSocket (`--runtime openai`); learning the salon still uses the runtime token. */
  dial?: CallerEnvironment['dial'];
  /** Called with the live tally about every `progressIntervalMs` while the run goes. */
  onProgress?: ((tally: RunTally) => void) | undefined;
  progressIntervalMs?: number | undefined;
}

const DEFAULT_HOLD_MAX_MS = 600_000;
const REAL_CALL_TTL_MS = 60_000;
const SYNC_TIMEOUT_MS = 15_000;

export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  const scenario = options.scenario;
  const callers = options.callers ?? scenario.callers;
  const concurrency = Math.max(1, Math.min(options.concurrency ?? callers, callers));
  const seed = options.seed ?? 1;
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const needs = scenarioNeeds(scenario);
  const learned = await learnSalon({
    url: options.url,
    token: options.token,
    callId: `sim-${runId}-probe`,
    tenant: options.tenant,
    adminToken: options.adminToken,
    catalog: options.catalog,
    date: options.date,
    needs,
    measureTtl: options.holdTtlMs === undefined,
  });
  if (learned.missing.length > 0) throw new UnhostableScenarioError(scenario.name, learned.missing);
  const { salon, date } = learned;
  const holdTtlMs = options.holdTtlMs ?? learned.holdTtlMs!;
  const holdMaxMs = options.holdMaxMs ?? DEFAULT_HOLD_MAX_MS;
  const timeScale = options.timeScale ?? holdTtlMs / REAL_CALL_TTL_MS;
  const root = new Prng(seed);
  const tally = new RunTally();

  const plan = Array.from({ length: callers }, (_, index) => {
    const prng = root.fork(`caller:${index}`);
    const role = scenario.assign === 'round_robin' ? scenario.roles[index % scenario.roles.length]! : weightedRole(scenario, prng.fork('role'));
    const arrivalMs = prng.fork('arrival').between(0, scenario.arrival_window_s) * 1000 * timeScale;
    return { index, prng, role, arrivalMs };
  });

  // One barrier per `sync` step, expecting every caller whose role has that step.
  const barriers = new Map<string, Barrier>();
  for (const caller of plan) {
    for (const path of syncPathsOf(caller.role.steps, 'r')) {
      const key = `${caller.role.name}:${path}`;
      if (!barriers.has(key)) barriers.set(key, new Barrier(plan.filter((other) => other.role === caller.role).length, concurrency, SYNC_TIMEOUT_MS));
    }
  }

  // First offers per caller, for `from_group` slots.
  const offers = new Map<number, { slot: AskedSlot; atMs: number }>();
  const offerWaiters: Array<() => void> = [];
  const publishOffer = (index: number, slot: AskedSlot, atMs: number) => {
    if (offers.has(index)) return;
    offers.set(index, { slot, atMs });
    for (const wake of offerWaiters.splice(0)) wake();
  };
  const groupOffer = async (index: number, size: number) => {
    const group = Math.floor(index / size);
    const deadline = performance.now() + 10 * holdTtlMs + 10_000;
    for (;;) {
      const first = plan
        .filter((other) => other.index !== index && Math.floor(other.index / size) === group && offers.has(other.index))
        .map((other) => offers.get(other.index)!)
        .sort((a, b) => a.atMs - b.atMs)[0];
      if (first) return first;
      const left = deadline - performance.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        offerWaiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  };

  const started = performance.now();
  const progress = options.onProgress
    ? setInterval(() => options.onProgress!(tally), options.progressIntervalMs ?? 250)
    : null;
  try {
    const queue = [...plan].sort((a, b) => a.arrivalMs - b.arrivalMs || a.index - b.index);
    let next = 0;
    const lane = async () => {
      for (let item = queue[next++]; item; item = queue[next++]) {
        const wait = item.arrivalMs - (performance.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const arrived = new Set<string>();
        const caller = new SimulatedCaller({
          url: options.url,
          dial: options.dial,
          token: options.token,
          callId: `sim-${runId}-${scenario.name.replace(/[^A-Za-z0-9_.:-]/g, '_')}-${item.index}`,
          index: item.index,
          role: item.role.name,
          prng: item.prng,
          sharedPrng: (path: string, share: SlotSpec['share']) => {
            // Callers of one group draw from one stream, whatever their role: a sleeper and its rival want the same slot.
            const group = share === 'all' ? 0 : Math.floor(item.index / (share ?? 1));
            return root.fork(`slot:${path}:${group}`);
          },
          salon,
          date,
          holdTtlMs,
          holdMaxMs,
          timeScale,
          wordsPerSecond: scenario.words_per_second,
          locale: scenario.locale,
          customerName: customerName(item.index),
          phone: phoneOf(runId, item.index),
          naive: options.naive ?? false,
          toolTimeoutMs: options.toolTimeoutMs ?? 10_000,
          tally,
          publishOffer: (slot, atMs) => publishOffer(item.index, slot, atMs),
          groupOffer: (size) => groupOffer(item.index, size),
          sync: (path) => {
            arrived.add(path);
            return barriers.get(`${item.role.name}:${path}`)?.arrive() ?? Promise.resolve();
          },
        });
        await caller.run(item.role.steps);
        // A caller that ended (or failed) before a sync step of its role must not keep the others waiting.
        for (const path of syncPathsOf(item.role.steps, 'r')) if (!arrived.has(path)) barriers.get(`${item.role.name}:${path}`)?.leave();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
  } finally {
    if (progress) clearInterval(progress);
  }
  const durationMs = performance.now() - started;

  let audit: AuditResult | null = null;
  if (options.tenant && options.adminToken) {
    audit = await auditAppointments({ url: options.url, tenant: options.tenant, adminToken: options.adminToken, salon, dates: [date], bookings: tally.bookings });
  }
  const staff = new Set(salon.services.flatMap((service) => salon.staffFor(service.id).map((member) => member.id)));
  return buildReport({
    scenario: scenario.name,
    salon: { name: salon.name, learned_from: salon.source, services: salon.services.length, staff: staff.size },
    expectsBookings: needs.books,
    naive: options.naive ?? false, seed, date, url: options.url, callers, concurrency, holdTtlMs, timeScale, durationMs, tally, audit });
}

/** Lets callers fire one step together: releases when every expected caller (in batches of the concurrency) has arrived. */
export class Barrier {
  private waiting: Array<() => void> = [];
  private released = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private total: number,
    private readonly batch: number,
    private readonly timeoutMs: number,
  ) {}

  arrive(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.maybeRelease();
      if (this.waiting.length > 0 && !this.timer) this.timer = setTimeout(() => this.release(), this.timeoutMs);
    });
  }

  /** One expected caller will not come. */
  leave(): void {
    this.total--;
    this.maybeRelease();
  }

  private maybeRelease(): void {
    const expected = Math.min(this.batch, this.total - this.released);
    if (this.waiting.length > 0 && this.waiting.length >= expected) this.release();
  }

  private release(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.waiting;
    this.waiting = [];
    this.released += batch.length;
    for (const resolve of batch) resolve();
  }
}

function syncPathsOf(steps: Step[], path: string): string[] {
  return steps.flatMap((step, index) => {
    const here = `${path}.${index}`;
    if (step.do === 'check' && step.sync) return [here];
    if (step.do === 'group') return syncPathsOf(step.steps, here);
    return [];
  });
}

function weightedRole(scenario: Scenario, prng: Prng) {
  const total = scenario.roles.reduce((sum, role) => sum + role.weight, 0);
  let draw = prng.between(0, total);
  for (const role of scenario.roles) {
    draw -= role.weight;
    if (draw < 0) return role;
  }
  return scenario.roles.at(-1)!;
}

const FIRST = ['Anna', 'Ben', 'Clara', 'David', 'Elif', 'Felix', 'Greta', 'Hannes', 'Ida', 'Jonas', 'Kerstin', 'Lukas', 'Mara', 'Nils', 'Olga', 'Paul'];
const LAST = ['Becker', 'Schulz', 'Yılmaz', 'Wagner', 'Hoffmann', 'Krüger', 'Neumann', 'Schmitt', 'Weber', 'Fischer'];

function customerName(index: number): string {
  return `${FIRST[index % FIRST.length]} ${LAST[Math.floor(index / FIRST.length) % LAST.length]}`;
}

/** A phone number per caller and run, so `check_customer` and bookings don't mix callers. */
function phoneOf(runId: string, index: number): string {
  const digits = String(parseInt(runId.slice(-6), 16) % 100000).padStart(5, '0');
  return `+49151${digits}${String(index).padStart(4, '0')}`;
}
