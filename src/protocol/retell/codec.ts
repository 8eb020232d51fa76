/**
 * Retell (PROTOCOL §6.2) as a codec of the session host: custom-function requests
 * `{name, call: {call_id, from_number, …}, args}` become tool requests (their id derived,
 * see src/integrations/tool-call-ids.ts), call webhooks `call_started` / `call_ended`
 * open and end the session. Requests are signed `X-Retell-Signature: v=<ms>,d=<hex
 * HMAC-SHA256(api_key, raw body + ms)>`. The answer to a function is our answer body.
 * @see ../../../../shared/PROTOCOL.md §6.2
 * @see https://docs.retellai.com/build/conversation-flow/custom-function
 */
import { z } from 'zod';
import type { SignedRequest } from '../../integrations/signatures.js';
import { headerParts } from '../../integrations/signatures.js';
import { phoneNumber, runtimeCallId } from '../webhook-fields.js';

const retellCall = z.object({
  call_id: runtimeCallId,
  from_number: phoneNumber,
  to_number: phoneNumber,
  direction: z.string().max(32).nullish(),
});

export const retellToolRequestSchema = z.object({
  name: z.string().min(1).max(128),
  call: retellCall.optional(),
  args: z.unknown().optional(),
});

export const retellWebhookSchema = z.object({
  event: z.string().min(1).max(64),
  call: retellCall.optional(),
});

export type RetellToolRequest = z.infer<typeof retellToolRequestSchema>;
type RetellCall = z.infer<typeof retellCall>;

/** "Args only" requests carry no call, so no session can be found for them. */
export const ARGS_ONLY_PROBLEM = 'call: required; turn off "args only" for this custom function so Retell sends the call with it';

/** The caller's number: Retell's `from_number`, or `to_number` on an outbound call. */
export const retellCallerOf = (call: RetellCall) => (call.direction === 'outbound' ? call.to_number : call.from_number);

/** What a call webhook means to the session; other events are ignored with 200. */
export function retellEventOf(event: string): 'start' | 'end' | 'ignored' {
  if (event === 'call_started') return 'start';
  if (event === 'call_ended') return 'end';
  return 'ignored';
}

/** The signed request as `X-Retell-Signature` describes it, or null when the header is missing or malformed. */
export function retellSignature(header: string | string[] | undefined, rawBody: Buffer): SignedRequest | null {
  const parts = headerParts(header);
  const v = parts.get('v');
  const d = parts.get('d');
  if (!v || !/^\d{1,16}$/.test(v) || !d) return null;
  return { timestampMs: Number(v), signatureHex: d, signed: Buffer.concat([rawBody, Buffer.from(v)]) };
}
