/**
 * Per-tenant settings of the runtime integrations (PROTOCOL §6): what each kind needs,
 * validated once here, stored through `IntegrationSettingsStore`, shown with every secret
 * masked. Secrets are write-only: nothing outside the integrations' own request checks
 * ever reads them back.
 * @see ../../../shared/PROTOCOL.md §6
 */
import { z } from 'zod';
import { BrokerError } from '../errors.js';
import { describeIssues } from '../protocol/issues.js';
import { UNSTORABLE_TEXT, UNSTORABLE_TEXT_MESSAGE } from '../protocol/storable-text.js';

export const integrationKinds = ['openai_realtime', 'retell', 'vapi', 'elevenlabs'] as const;
export type IntegrationKind = (typeof integrationKinds)[number];

/** What carries a session (PROTOCOL §5 `runtime`): our own WebSocket, or one of the integrations. */
export const sessionRuntimes = ['callhold', ...integrationKinds] as const;
export type SessionRuntime = (typeof sessionRuntimes)[number];

/** How GET shows a secret; refused as a secret's value, so a settings document read back and PUT again cannot store it. */
export const MASK = '***';

const secret = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(512)
  .refine((value) => value !== MASK, `send the secret itself; "${MASK}" is how GET masks it`)
  .refine((value) => !/\s/.test(value), 'must not contain whitespace');
const plain = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max)
    .refine((value) => !UNSTORABLE_TEXT.test(value), UNSTORABLE_TEXT_MESSAGE);
const locale = z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'expected a BCP 47 locale like de-DE or en-US');

/** The body of each kind, exactly the fields of PROTOCOL §6; any other field is refused, naming it. */
export const integrationSettingsSchemas = {
  openai_realtime: z.strictObject({
    api_key: secret,
    webhook_secret: secret.refine((value) => value.startsWith('whsec_'), 'expected the webhook signing secret, starting with whsec_'),
    model: plain(128).optional(),
    voice: plain(64).optional(),
    instructions: plain(16_000).optional(),
    locale: locale.optional(),
  }),
  retell: z.strictObject({ api_key: secret, locale: locale.optional() }),
  vapi: z.strictObject({ secret, locale: locale.optional() }),
  elevenlabs: z.strictObject({ tool_secret: secret, webhook_secret: secret, locale: locale.optional() }),
} as const;

export type IntegrationSettingsOf<K extends IntegrationKind> = z.infer<(typeof integrationSettingsSchemas)[K]>;

/** The fields of each kind that are secrets: write-only, masked when shown. */
export const secretFields: { [K in IntegrationKind]: ReadonlyArray<keyof IntegrationSettingsOf<K>> } = {
  openai_realtime: ['api_key', 'webhook_secret'],
  retell: ['api_key'],
  vapi: ['secret'],
  elevenlabs: ['tool_secret', 'webhook_secret'],
};

export const isIntegrationKind = (value: string): value is IntegrationKind => (integrationKinds as readonly string[]).includes(value);

/** Where the settings are kept (src/store/integration-settings-store.ts). */
export interface IntegrationSettingsStore {
  get(tenantId: string, kind: IntegrationKind): Promise<Record<string, unknown> | null>;
  put(tenantId: string, kind: IntegrationKind, settings: Record<string, unknown>): Promise<void>;
  /** Whether there were settings to delete. */
  delete(tenantId: string, kind: IntegrationKind): Promise<boolean>;
}

/**
 * A stalled database is answered in time, never a hang: short, because an integration
 * request's whole answer is due within 2 s (PROTOCOL §6.2), the tool included.
 */
const REQUIRE_DEADLINE_MS = 500;

export class IntegrationSettings {
  /**
   * The settings each integration request last read, used only when storage does not
   * answer (stale-if-error): a runtime's tool calls then still get a spoken `UNAVAILABLE`
   * within 2 s instead of a bare 503. Whenever storage answers its word wins, so a secret
   * rotated or deleted on another instance is honoured as soon as it can be read.
   */
  private readonly lastKnown = new Map<string, Record<string, unknown>>();

  constructor(private readonly store: IntegrationSettingsStore) {}

  /** Validates a PUT body; 400 `INVALID_REQUEST` naming each bad field. */
  parse<K extends IntegrationKind>(kind: K, body: unknown): IntegrationSettingsOf<K> {
    const parsed = integrationSettingsSchemas[kind].safeParse(body ?? {});
    if (!parsed.success) {
      const issues = describeIssues(parsed.error);
      throw new BrokerError('INVALID_REQUEST', issues.join('; '), { issues });
    }
    return parsed.data as IntegrationSettingsOf<K>;
  }

  async put<K extends IntegrationKind>(tenantId: string, kind: K, body: unknown): Promise<Record<string, unknown>> {
    const settings = this.parse(kind, body);
    await this.store.put(tenantId, kind, settings);
    this.lastKnown.delete(`${tenantId}\u0000${kind}`);
    return masked(kind, settings);
  }

  /** The settings as GET shows them (every secret `"***"`), or null. */
  async shown(tenantId: string, kind: IntegrationKind): Promise<Record<string, unknown> | null> {
    const settings = await this.store.get(tenantId, kind);
    return settings ? masked(kind, settings) : null;
  }

  async delete(tenantId: string, kind: IntegrationKind): Promise<boolean> {
    this.lastKnown.delete(`${tenantId}\u0000${kind}`);
    const deleted = await this.store.delete(tenantId, kind);
    this.lastKnown.delete(`${tenantId}\u0000${kind}`);
    return deleted;
  }

  /**
   * The settings an integration route works with, secrets included; 404 when the tenant
   * has none for this kind (PROTOCOL §6), so a guessed URL learns nothing more.
   */
  async require<K extends IntegrationKind>(tenantId: string, kind: K, deadlineMs = REQUIRE_DEADLINE_MS): Promise<IntegrationSettingsOf<K>> {
    const key = `${tenantId}\u0000${kind}`;
    let stored: Record<string, unknown> | null;
    let timer: NodeJS.Timeout | undefined;
    try {
      stored = await Promise.race([
        this.store.get(tenantId, kind),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`storage did not answer within ${deadlineMs} ms`)), deadlineMs))),
      ]);
    } catch (error) {
      const known = this.lastKnown.get(key);
      if (known) return known as IntegrationSettingsOf<K>;
      throw new BrokerError('UNAVAILABLE', 'storage is unavailable; try again shortly', { cause: error });
    } finally {
      clearTimeout(timer);
    }
    // Stored values passed this schema when they were PUT; parsing again keeps the type honest.
    const parsed = stored ? integrationSettingsSchemas[kind].safeParse(stored) : null;
    if (!parsed?.success) {
      this.lastKnown.delete(key);
      throw new BrokerError('NOT_FOUND', `no ${kind} integration for tenant "${tenantId}"`);
    }
    this.lastKnown.set(key, parsed.data);
    return parsed.data as IntegrationSettingsOf<K>;
  }
}

export function masked(kind: IntegrationKind, settings: Record<string, unknown>): Record<string, unknown> {
  const shown = { ...settings };
  for (const field of secretFields[kind] as readonly string[]) if (field in shown) shown[field] = MASK;
  return shown;
}
