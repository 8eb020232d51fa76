/**
 * The calendar of record's settings (PROTOCOL §7, `PUT …/integrations/calendar`): a
 * signed webhook, or Cal.com. Validated field by field; secrets are never shown back.
 * @see ../../../shared/PROTOCOL.md §7
 */
import { z } from 'zod';

const id = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1-64 characters of [A-Za-z0-9_.:-]');
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Standard Webhooks recommends keys of 24 to 64 bytes; fewer than 16 is refused. */
export const MIN_SIGNING_KEY_BYTES = 16;

/**
 * The Standard Webhooks signing key: the base64 after `whsec_`. A secret without the
 * prefix is decoded as base64 too, as the reference libraries (`standardwebhooks`, svix)
 * do, so whatever a receiver's library verifies is what we sign; a secret that is not
 * base64 is refused with 400 instead of signing with a key no library would derive.
 */
export function signingKey(secret: string): Buffer | null {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (!BASE64.test(encoded)) return null;
  const key = Buffer.from(encoded, 'base64');
  return key.length >= MIN_SIGNING_KEY_BYTES ? key : null;
}

export const webhookCalendarSchema = z.object({
  kind: z.literal('webhook'),
  url: httpUrl,
  secret: z
    .string()
    .max(200)
    .refine((secret) => signingKey(secret) !== null, `expected a Standard Webhooks secret: "whsec_" and base64 of at least ${MIN_SIGNING_KEY_BYTES} bytes`),
});

export const calcomCalendarSchema = z.object({
  kind: z.literal('calcom'),
  api_key: z.string().min(1).max(500),
  /** Our service id → Cal.com event type id. */
  event_types: z.record(id, z.number().int().positive()).refine((map) => Object.keys(map).length > 0, 'map at least one service to an event type'),
  /** Our staff id → Cal.com username: whose calendar an inbound booking blocks. */
  staff: z.record(id, z.string().min(1).max(200)).optional(),
  webhook_secret: z.string().min(8, 'must be at least 8 characters').max(500),
});

export const calendarSettingsSchema = z.discriminatedUnion('kind', [webhookCalendarSchema, calcomCalendarSchema], {
  error: 'expected kind "webhook" or "calcom"',
});

export type WebhookCalendar = z.infer<typeof webhookCalendarSchema>;
export type CalcomCalendar = z.infer<typeof calcomCalendarSchema>;
export type CalendarSettings = z.infer<typeof calendarSettingsSchema>;

const HIDDEN = '***';

/** The settings as `GET` shows them: every secret `***`. */
export function redactCalendar(settings: CalendarSettings) {
  if (settings.kind === 'webhook') return { ...settings, secret: HIDDEN };
  return { ...settings, api_key: HIDDEN, webhook_secret: HIDDEN, staff: settings.staff ?? {} };
}
