/**
 * The `webhook` calendar of record (PROTOCOL §7): every appointment change is POSTed as
 * JSON, signed as Standard Webhooks. `webhook-id` is the change's id, the same on every
 * retry, so receivers de-duplicate; `webhook-timestamp` is the attempt's time (receivers
 * refuse stale ones), and the signature covers `{id}.{timestamp}.{body}`.
 * @see https://www.standardwebhooks.com/
 */
import { Webhook } from 'standardwebhooks';
import { isoIn } from '../protocol/records.js';
import { signingKey, type WebhookCalendar } from './calendar-settings.js';
import type { OutboxRow } from './ports.js';

/** One attempt gives up after this long; a receiver that takes longer is retried. */
export const REQUEST_TIMEOUT_MS = 5_000;

/** The body PROTOCOL §7 names, times in the tenant's zone. */
export function changeBody(row: OutboxRow) {
  const { appointment, timezone } = row;
  return {
    type: row.type,
    id: row.id,
    tenant: row.tenantId,
    occurred_at: isoIn(row.occurredAt, timezone),
    appointment: {
      id: appointment.id,
      service: appointment.serviceId,
      staff: appointment.staffId,
      start: isoIn(appointment.start, timezone),
      end: isoIn(appointment.end, timezone),
      customer_name: appointment.customerName,
      phone: appointment.phone,
      source: appointment.source,
      status: appointment.status,
    },
  };
}

/** Thrown for an attempt that did not get a 2xx; the outbox keeps the message and retries. */
export class DeliveryFailed extends Error {}

export async function postChange(calendar: WebhookCalendar, row: OutboxRow, signal: AbortSignal, now: Date = new Date()): Promise<void> {
  const key = signingKey(calendar.secret);
  if (!key) throw new DeliveryFailed('the webhook secret is not a Standard Webhooks secret');
  const body = JSON.stringify(changeBody(row));
  const signature = new Webhook(key, { format: 'raw' }).sign(row.id, now, body);
  let response: Response;
  try {
    response = await fetch(calendar.url, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'callhold-calendar-sync',
        'webhook-id': row.id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signature,
      },
      body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS} ms` : ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message;
    throw new DeliveryFailed(`POST ${calendar.url} failed: ${reason}`, { cause: error });
  }
  await response.body?.cancel().catch(() => {});
  if (response.status < 200 || response.status >= 300) throw new DeliveryFailed(`POST ${calendar.url} answered ${response.status}`);
}
