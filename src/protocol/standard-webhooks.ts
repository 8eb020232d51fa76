/**
 * Standard Webhooks (https://www.standardwebhooks.com), as OpenAI signs its webhooks:
 * `webhook-signature: v1,<base64 HMAC-SHA256("{webhook-id}.{webhook-timestamp}.{raw body}")>`
 * keyed by the base64-decoded part of the `whsec_…` secret, possibly several signatures
 * separated by spaces, and a timestamp within ±300 s. Verification is the
 * `standardwebhooks` package's (Svix's reference implementation, constant-time compare);
 * this wrapper turns its throws into values and hands back the delivery's id.
 * @see ../../docs/PROTOCOL.md §6
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

export type VerifiedWebhook = { ok: true; id: string; payload: unknown } | { ok: false; reason: string };

type Headers = Record<string, string | string[] | undefined>;

const header = (headers: Headers, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(' ') : value;
};

/** Checks `rawBody` (exactly the bytes that came, as text) against its headers and the secret. */
export function verifyStandardWebhook(rawBody: string, headers: Headers, secret: string): VerifiedWebhook {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signature = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature' };
  let webhook: Webhook;
  try {
    webhook = new Webhook(secret);
  } catch {
    return { ok: false, reason: 'the stored webhook secret is not a whsec_ base64 secret' };
  }
  try {
    const payload = webhook.verify(rawBody, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature });
    return { ok: true, id, payload };
  } catch (error) {
    if (error instanceof WebhookVerificationError) return { ok: false, reason: error.message };
    // A verified body that is not JSON.
    return { ok: false, reason: 'the body is not JSON' };
  }
}
