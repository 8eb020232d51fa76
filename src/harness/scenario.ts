/**
 * Scenarios: callers as JSON step scripts. A scenario names one or more roles, each a
 * list of steps; every simulated caller plays one role. Durations are given in seconds
 * of a real call at the default 60 s hold TTL (`s`) and are scaled with the broker's TTL,
 * or directly in multiples of the TTL (`ttl`), so the same script runs in real time
 * against a production-like broker and in a few seconds against a test broker.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import busyDay from './scenarios/busy-day.json' with { type: 'json' };
import dropper from './scenarios/dropper.json' with { type: 'json' };
import happy from './scenarios/happy.json' with { type: 'json' };
import race from './scenarios/race.json' with { type: 'json' };
import silent from './scenarios/silent.json' with { type: 'json' };
import slowConfirm from './scenarios/slow-confirm.json' with { type: 'json' };

const amount = z.union([z.number().nonnegative(), z.tuple([z.number().nonnegative(), z.number().nonnegative()])]);
export type Amount = z.infer<typeof amount>;

/** A pause or a stretch of talk: `s` scaled seconds, or `ttl` multiples of the hold TTL. */
const duration = { s: amount.optional(), ttl: amount.optional() };

/** Caller state a step can depend on. `offered`: the caller was told "available" and has not yet booked, declined or been refused. */
export const conditions = ['offered', 'not_offered', 'held', 'no_hold', 'booked', 'not_booked', 'refused'] as const;
export type Condition = (typeof conditions)[number];

const guard = { when: z.enum(conditions).optional(), chance: z.number().min(0).max(1).optional() };

const choice = z.union([z.string(), z.array(z.string()).min(1)]);

/**
 * Words a slot uses to say what it needs instead of naming the demo salon's services,
 * staff and hours. Anything else is a name (or a list of names) the salon must have.
 */
export const SERVICE_PICKS = ['random', 'same', 'longest', 'longest_phased', 'shortest'] as const;
export const TIME_PICKS = ['random', 'same', 'first', 'last'] as const;
export const STAFF_PICKS = ['any'] as const;
const isPick = (picks: readonly string[], value: string) => picks.includes(value);

/**
 * Which slot to ask for.
 * - `service`: a name (id, name or alias) or a list to pick from, which the salon must
 *   offer (a run is refused otherwise); "random" (any service with free time that day),
 *   "longest", "shortest", "longest_phased" (the longest with a processing gap, when the
 *   phases are known; else the longest) or "same" (the last one asked for; the default
 *   once there is one).
 * - `time`: HH:MM, a list, "random" (a start that fits the hours), "first" or "last"
 *   (the day's earliest or latest start of that service) or "same".
 * - `date`: "run" (the run's day, default: the first day with free time a week or more
 *   ahead), "same" or YYYY-MM-DD.
 * - `staff`: a name the salon must have, or "any" (someone who offers the service; with
 *   time "first"/"last", the one who has that start).
 * - `share`: callers in groups of this size ("all": every caller) draw the same slot.
 * - `from_group`: in groups of this size, ask for exactly the slot another member of the
 *   group was first offered (waiting for that offer), `after_offer_ttl` hold TTLs after
 *   it was offered.
 */
const slotSpec = z
  .object({
    service: choice.optional(),
    time: choice.optional(),
    date: z.string().optional(),
    staff: z.string().optional(),
    share: z.union([z.literal('all'), z.number().int().positive()]).optional(),
    from_group: z.number().int().min(2).optional(),
    after_offer_ttl: z.number().nonnegative().optional(),
  })
  .strict();
export type SlotSpec = z.infer<typeof slotSpec>;

export type Step =
  | ({ do: 'connect'; locale?: string | undefined } & Guard)
  | ({ do: 'context' } & Guard)
  | ({ do: 'services' } & Guard)
  | ({ do: 'say'; words?: Amount | undefined } & Guard)
  | ({ do: 'think' } & Duration & Guard)
  | ({ do: 'talk' } & Duration & Guard)
  | ({ do: 'check'; slot?: SlotSpec | undefined; sync?: boolean | undefined } & Guard)
  | ({ do: 'pick_alternative'; choose?: 'first' | 'random' | undefined } & Guard)
  | ({ do: 'book'; direct?: boolean | undefined } & Guard)
  | ({ do: 'release' } & Guard)
  | ({ do: 'wait_hold_end' } & Guard)
  | ({ do: 'drop' } & Guard)
  | ({ do: 'reconnect' } & Guard)
  | ({ do: 'hangup' } & Guard)
  | ({ do: 'group'; steps: Step[] } & Guard)
  | ({ do: 'until_booked'; max_attempts?: number | undefined; steps: Step[] } & Guard)
  | ({ do: 'repeat'; until: Condition; max_attempts?: number | undefined; steps: Step[] } & Guard);

interface Guard {
  when?: Condition | undefined;
  chance?: number | undefined;
}
interface Duration {
  s?: Amount | undefined;
  ttl?: Amount | undefined;
}

const step: z.ZodType<Step> = z.lazy(() =>
  z.discriminatedUnion('do', [
    z.object({ do: z.literal('connect'), locale: z.string().optional(), ...guard }).strict(),
    z.object({ do: z.literal('context'), ...guard }).strict(),
    z.object({ do: z.literal('services'), ...guard }).strict(),
    z.object({ do: z.literal('say'), words: amount.optional(), ...guard }).strict(),
    z.object({ do: z.literal('think'), ...duration, ...guard }).strict(),
    z.object({ do: z.literal('talk'), ...duration, ...guard }).strict(),
    z.object({ do: z.literal('check'), slot: slotSpec.optional(), sync: z.boolean().optional(), ...guard }).strict(),
    z.object({ do: z.literal('pick_alternative'), choose: z.enum(['first', 'random']).optional(), ...guard }).strict(),
    z.object({ do: z.literal('book'), direct: z.boolean().optional(), ...guard }).strict(),
    z.object({ do: z.literal('release'), ...guard }).strict(),
    z.object({ do: z.literal('wait_hold_end'), ...guard }).strict(),
    z.object({ do: z.literal('drop'), ...guard }).strict(),
    z.object({ do: z.literal('reconnect'), ...guard }).strict(),
    z.object({ do: z.literal('hangup'), ...guard }).strict(),
    z.object({ do: z.literal('group'), steps: z.array(step), ...guard }).strict(),
    z.object({ do: z.literal('until_booked'), max_attempts: z.number().int().positive().optional(), steps: z.array(step), ...guard }).strict(),
    z.object({ do: z.literal('repeat'), until: z.enum(conditions), max_attempts: z.number().int().positive().optional(), steps: z.array(step), ...guard }).strict(),
  ]),
);

const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    /** Default number of callers when `--callers` is not given. */
    callers: z.number().int().positive().default(1),
    /** Callers arrive at uniformly random offsets within this many (scaled) seconds. */
    arrival_window_s: z.number().nonnegative().default(0),
    /** Speaking pace of `say` and `talk`, in words per (scaled) second. */
    words_per_second: z.number().positive().default(2.5),
    locale: z.string().default('de-DE'),
    /** How callers get roles: by index in turn, or drawn by weight. */
    assign: z.enum(['round_robin', 'weighted']).default('round_robin'),
    roles: z
      .array(z.object({ name: z.string().min(1), weight: z.number().positive().default(1), steps: z.array(step).min(1) }).strict())
      .min(1),
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;

export const builtInScenarios: Record<string, unknown> = {
  happy,
  race,
  'busy-day': busyDay,
  'slow-confirm': slowConfirm,
  silent,
  dropper,
};

/** Validates a scenario object; the error names the first bad field. */
export function parseScenario(json: unknown): Scenario {
  const parsed = scenarioSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`scenario: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** What a scenario asks of the salon: the services and staff it names, and whether its callers book. */
export interface ScenarioNeeds {
  services: string[];
  /** Staff it names, with the service named in the same slot (null: a pick such as "random"). */
  staff: Array<{ staff: string; service: string | null }>;
  books: boolean;
}

export function scenarioNeeds(scenario: Scenario): ScenarioNeeds {
  const services = new Set<string>();
  const staff = new Map<string, { staff: string; service: string | null }>();
  let books = false;
  const walk = (steps: Step[]) => {
    for (const step of steps) {
      if (step.do === 'book') books = true;
      if (step.do === 'group' || step.do === 'until_booked' || step.do === 'repeat') walk(step.steps);
      if (step.do !== 'check' || !step.slot) continue;
      const named = (typeof step.slot.service === 'string' ? [step.slot.service] : (step.slot.service ?? [])).filter((name: string) => !isPick(SERVICE_PICKS, name));
      for (const name of named) services.add(name);
      if (step.slot.staff && !isPick(STAFF_PICKS, step.slot.staff)) {
        for (const service of named.length > 0 ? named : [null]) staff.set(`${step.slot.staff}\u0000${service}`, { staff: step.slot.staff, service });
      }
    }
  };
  for (const role of scenario.roles) walk(role.steps);
  return { services: [...services], staff: [...staff.values()], books };
}

/** A built-in scenario by name, or a JSON file by path. */
export async function loadScenario(nameOrPath: string): Promise<Scenario> {
  const builtIn = builtInScenarios[nameOrPath];
  if (builtIn) return parseScenario(builtIn);
  if (!nameOrPath.endsWith('.json')) {
    throw new Error(`unknown scenario "${nameOrPath}": use one of ${Object.keys(builtInScenarios).join(', ')} or a path to a .json file`);
  }
  const text = await readFile(nameOrPath, 'utf8');
  return parseScenario(JSON.parse(text));
}
