/**
 * Webhook signatures of the HTTP runtimes (PROTOCOL §6: Retell, ElevenLabs), checked on
 * the raw body with node:crypto: one HMAC, one constant-time comparison and one
 * timestamp window (±300 s) for every runtime, each codec supplying only how its header
 * is written and what it signs.
 *
 * Why not the vendors' SDKs: `retell-sdk`'s `verify` is async (its documented sample
 * without `await` never rejects) and brings its own window; the ElevenLabs SDK's
 * `constructEvent` has its own tolerance too. The contract fixes the window at 300 s for
 * all, and the HMACs are a few lines, so they are written once here.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** PROTOCOL §6: a signature whose timestamp is further than this from now is stale. */
export const SIGNATURE_WINDOW_MS = 300_000;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export interface SignedRequest {
  /** When the sender says it signed, in ms. */
  timestampMs: number;
  /** The signature as sent, hex. */
  signatureHex: string;
  /** The bytes the sender signed (already joined with the timestamp as its runtime does). */
  signed: Buffer;
}

export const hmacSha256Hex = (key: string, data: Buffer): string => createHmac('sha256', key).update(data).digest('hex');

/** Whether `given` is the hex HMAC-SHA256 of `signed` under `key`, in constant time. */
export function sameHexDigest(given: string, expected: string): boolean {
  if (!/^[0-9a-f]+$/i.test(given) || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given.toLowerCase(), 'hex'), Buffer.from(expected, 'hex'));
}

/** Checks one signed request: fresh (±300 s of `now`) and signed with `key`. */
export function checkSignature(request: SignedRequest | null, key: string, now: number): SignatureCheck {
  if (!request) return { ok: false, reason: 'missing or malformed signature header' };
  if (!Number.isFinite(request.timestampMs) || Math.abs(now - request.timestampMs) > SIGNATURE_WINDOW_MS) {
    return { ok: false, reason: 'signature timestamp outside the 300 s window' };
  }
  if (!sameHexDigest(request.signatureHex, hmacSha256Hex(key, request.signed))) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}

/** `a=1,b=2` header parts by name; the first of each name counts. */
export function headerParts(header: string | string[] | undefined): Map<string, string> {
  const parts = new Map<string, string>();
  const value = Array.isArray(header) ? header[0] : header;
  for (const part of (value ?? '').split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const name = part.slice(0, at).trim();
    if (!parts.has(name)) parts.set(name, part.slice(at + 1).trim());
  }
  return parts;
}
