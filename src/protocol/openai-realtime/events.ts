/**
 * The OpenAI Realtime sideband's wire format, as far as the broker reads and writes it:
 * the server events that mean something to a call session, the client events the broker
 * sends, and the `realtime.call.incoming` webhook. Anything else the server sends is
 * ignored (PROTOCOL: a client ignores what it does not understand).
 * @see ../../../docs/PROTOCOL.md §6.1
 * @see https://platform.openai.com/docs/api-reference/realtime-server-events
 */
import { z } from 'zod';

const id = z.string().min(1).max(256);

/** The server events the codec decodes; every other `type` is ignored. */
export const serverEventSchemas = {
  'input_audio_buffer.speech_started': z.object({ type: z.literal('input_audio_buffer.speech_started') }),
  'input_audio_buffer.speech_stopped': z.object({ type: z.literal('input_audio_buffer.speech_stopped') }),
  'conversation.item.input_audio_transcription.completed': z.object({
    type: z.literal('conversation.item.input_audio_transcription.completed'),
    item_id: id.optional(),
    transcript: z.string().max(16_000).default(''),
  }),
  'response.output_audio_transcript.done': z.object({
    type: z.literal('response.output_audio_transcript.done'),
    response_id: id.optional(),
    transcript: z.string().max(16_000).default(''),
  }),
  'response.function_call_arguments.done': z.object({
    type: z.literal('response.function_call_arguments.done'),
    call_id: id,
    name: z.string().min(1).max(128),
    /** A JSON string of the arguments object, as the model wrote it. */
    arguments: z.string().max(64 * 1024).default('{}'),
    response_id: id.optional(),
    item_id: id.optional(),
  }),
  'response.created': z.object({ type: z.literal('response.created'), response: z.object({ id: id.optional() }).optional() }),
  'response.done': z.object({
    type: z.literal('response.done'),
    response: z.object({ id: id.optional(), status: z.string().optional() }).optional(),
  }),
  error: z.object({
    type: z.literal('error'),
    error: z.object({ type: z.string().optional(), code: z.string().nullish(), message: z.string().optional(), event_id: z.string().nullish() }),
  }),
} as const;

export type ServerEventType = keyof typeof serverEventSchemas;
export type ServerEvent = { [K in ServerEventType]: z.infer<(typeof serverEventSchemas)[K]> }[ServerEventType];

/** What the server answers a `response.create` with while a response is still running. */
export const ACTIVE_RESPONSE_ERROR = 'conversation_already_has_active_response';

/** The client events the broker sends on the sideband. */
export type ClientEvent =
  | { type: 'conversation.item.create'; item: { type: 'function_call_output'; call_id: string; output: string } }
  | { type: 'conversation.item.create'; item: { type: 'message'; role: 'system'; content: [{ type: 'input_text'; text: string }] } }
  | { type: 'response.create' };

/** The `realtime.call.incoming` webhook (Standard Webhooks envelope, verified before this is read). */
export const incomingCallSchema = z.object({
  type: z.literal('realtime.call.incoming'),
  id: z.string().optional(),
  data: z.object({
    call_id: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'call_id must be 1-128 characters of [A-Za-z0-9_.:-]'),
    sip_headers: z.array(z.object({ name: z.string(), value: z.string() })).default([]),
  }),
});
export type IncomingCall = z.infer<typeof incomingCallSchema>;

/** A tool as the Realtime session is given it. */
export interface RealtimeFunctionTool {
  type: 'function';
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** The body of `POST /realtime/calls/{call_id}/accept`: the session configuration. */
export interface AcceptBody {
  type: 'realtime';
  model: string;
  instructions: string;
  tools: RealtimeFunctionTool[];
  tool_choice: 'auto';
  audio: {
    input: { transcription: { model: string; language: string } };
    output?: { voice: string };
  };
}
