/**
 * ElevenLabs Agents (PROTOCOL §6.2) as a codec of the session host: a server tool is one
 * URL per tool whose JSON body is the tool's parameters plus `conversation_id` and
 * `caller_id` (the dynamic variables `{{system__conversation_id}}` and
 * `{{system__caller_id}}`); it sends no tool call id, so one is derived
 * (src/integrations/tool-call-ids.ts). The post-call webhook, signed `ElevenLabs-Signature:
 * t=<s>,v0=<hex HMAC-SHA256(webhook_secret, "<t>.<raw body>")>`, ends the session.
 * @see ../../../../shared/PROTOCOL.md §6.2
 * @see https://elevenlabs.io/docs/agents-platform/customization/tools/server-tools
 * @see https://elevenlabs.io/docs/agents-platform/workflows/post-call-webhooks
 */
import { z } from 'zod';
import { headerParts, type SignedRequest } from '../../integrations/signatures.js';
import { phoneNumber, runtimeCallId } from '../webhook-fields.js';

/** A dynamic variable ElevenLabs left unfilled (a web call has no caller id) arrives as its own placeholder. */
const unfilled = (value: string | null) => (value && !value.startsWith('{{') ? value : null);

export const elevenLabsToolRequestSchema = z
  .looseObject({ conversation_id: runtimeCallId, caller_id: phoneNumber })
  .transform(({ conversation_id, caller_id, ...parameters }) => ({ callId: conversation_id, callerPhone: unfilled(caller_id), parameters }));

export const elevenLabsToolName = z.string().regex(/^[a-z_]{1,64}$/, 'expected a tool name like check_availability');

export const elevenLabsWebhookSchema = z.object({
  type: z.string().min(1).max(64),
  data: z.object({ conversation_id: runtimeCallId }).optional(),
});

/** What a post-call webhook means to the session: the call is over (transcript ready, or it never connected). */
export function elevenLabsEventOf(type: string): 'end' | 'ignored' {
  return type === 'post_call_transcription' || type === 'call_initiation_failure' ? 'end' : 'ignored';
}

/** The signed request as `ElevenLabs-Signature` describes it (`t` in seconds), or null when missing or malformed. */
export function elevenLabsSignature(header: string | string[] | undefined, rawBody: Buffer): SignedRequest | null {
  const parts = headerParts(header);
  const t = parts.get('t');
  const v0 = parts.get('v0');
  if (!t || !/^\d{1,13}$/.test(t) || !v0) return null;
  return { timestampMs: Number(t) * 1000, signatureHex: v0, signed: Buffer.concat([Buffer.from(`${t}.`), rawBody]) };
}
