/**
 * The OpenAI Realtime sideband (PROTOCOL §6.1) as a codec of the session host: server
 * events become machine events, what a session emits becomes client events, and the
 * `realtime.call.incoming` webhook becomes the call's opening and its accept body. The
 * transport (src/integrations/openai-realtime/) carries the bytes and keeps the
 * one-response-at-a-time rule; this file knows shapes only.
 * @see ../../../docs/PROTOCOL.md §6.1
 */
import type { CallSessionEmitted, CallSessionEvent } from '../../../machines/call-session.types.js';
import { languageOf, messages, sayWhen, type Language } from '../../language/index.js';
import { describeIssues } from '../issues.js';
import { findJsonProblem, describeJsonProblem } from '../json-walk.js';
import { toolDefinitionsFor } from '../tool-definitions.js';
import type { AcceptBody, ClientEvent, IncomingCall, RealtimeFunctionTool, ServerEvent, ServerEventType } from './events.js';
import { serverEventSchemas } from './events.js';

export type DecodedServerEvent = { ok: true; event: ServerEvent } | { ok: true; event: null; type: string } | { ok: false; message: string };

const isKnownType = (type: string): type is ServerEventType => Object.hasOwn(serverEventSchemas, type);

/** Decodes one sideband text frame. Types the broker does not read come back as `event: null`. */
export function decodeServerEvent(text: string): DecodedServerEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'server event is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, message: 'server event must be a JSON object' };
  const problem = findJsonProblem(value);
  if (problem) return { ok: false, message: describeJsonProblem({ ...problem, path: problem.path || 'event' }) };
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, message: 'server event has no string "type"' };
  if (!isKnownType(type)) return { ok: true, event: null, type };
  const parsed = serverEventSchemas[type].safeParse(value);
  if (!parsed.success) return { ok: false, message: `${type}: ${describeIssues(parsed.error).join('; ')}` };
  return { ok: true, event: parsed.data as ServerEvent };
}

/**
 * Function call arguments arrive as a JSON string. Arguments that are not a JSON object,
 * or that hold what storage cannot keep (they go into the session's snapshot), are refused
 * here, naming the problem, without reaching a tool.
 */
export function argumentsOf(json: string): { ok: true; arguments: Record<string, unknown> } | { ok: false; message: string } {
  if (json.trim() === '') return { ok: true, arguments: {} };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { ok: false, message: 'arguments: not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, message: 'arguments: expected a JSON object' };
  const problem = findJsonProblem(value);
  if (problem) return { ok: false, message: describeJsonProblem({ ...problem, path: problem.path ? `arguments.${problem.path}` : 'arguments' }) };
  return { ok: true, arguments: value as Record<string, unknown> };
}

/** The answer to a function call whose arguments could not be read: the same shape as a tool's `INVALID_ARGUMENT`. */
export function unreadableArgumentsOutput(callId: string, message: string, language: Language): ClientEvent {
  const output = JSON.stringify({ ok: false, message: messages.notUnderstood(language), error: { code: 'INVALID_ARGUMENT', message } });
  return { type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output } };
}

/** The machine event a server event stands for, or null for events that mean nothing to the session. */
export function sessionEventOf(event: ServerEvent, at: number): CallSessionEvent | null {
  switch (event.type) {
    case 'input_audio_buffer.speech_started':
      return { type: 'caller.activity', speaking: true, at };
    case 'input_audio_buffer.speech_stopped':
      return { type: 'caller.activity', speaking: false, at };
    case 'conversation.item.input_audio_transcription.completed':
      return { type: 'caller.transcript', at };
    case 'response.function_call_arguments.done': {
      // The function call's call_id is the tool call's idempotency key (PROTOCOL §6.1).
      const args = argumentsOf(event.arguments);
      return args.ok ? { type: 'tool.requested', call: { id: event.call_id, name: event.name, arguments: args.arguments, receivedAt: at } } : null;
    }
    default:
      return null;
  }
}

/** What the session emitted, as client events: `reply` goes out with a `response.create` (one response at a time), `note` goes out at once and asks for no response. */
export type EncodedEmitted = { kind: 'reply'; event: ClientEvent; toolCallId: string; latencyMs: number } | { kind: 'note'; event: ClientEvent } | null;

export function encodeEmitted(event: CallSessionEmitted, timezone: string, language: Language): EncodedEmitted {
  switch (event.type) {
    case 'tool.answered': {
      const { ok, result, error } = event.response;
      // The same body as a `tool.result` of our own protocol: ok, result and, when not ok, error.
      const output = JSON.stringify({ ok, ...result, ...(error ? { error } : {}) });
      return {
        kind: 'reply',
        event: { type: 'conversation.item.create', item: { type: 'function_call_output', call_id: event.call.id, output } },
        toolCallId: event.call.id,
        latencyMs: event.latencyMs,
      };
    }
    case 'hold.updated': {
      if (event.status !== 'expired' && event.status !== 'lost') return null;
      const text = holdGoneNote(language, event.status, event.hold.serviceId, new Date(event.hold.start), timezone);
      return { kind: 'note', event: { type: 'conversation.item.create', item: { type: 'message', role: 'system', content: [{ type: 'input_text', text }] } } };
    }
    case 'appointment.updated': {
      const when = sayWhen(language, new Date(event.appointment.start), timezone);
      const text =
        event.status === 'cancelled'
          ? language === 'de'
            ? `Hinweis: Der Salon hat den Termin des Anrufers (${event.appointment.serviceId}, ${when}) storniert.`
            : `Note: the salon cancelled the caller's appointment (${event.appointment.serviceId}, ${when}).`
          : language === 'de'
            ? `Hinweis: Der Termin des Anrufers (${event.appointment.serviceId}, ${when}) ist gebucht.`
            : `Note: the caller's appointment (${event.appointment.serviceId}, ${when}) is booked.`;
      return { kind: 'note', event: { type: 'conversation.item.create', item: { type: 'message', role: 'system', content: [{ type: 'input_text', text }] } } };
    }
    case 'session.ended':
      return null;
  }
}

function holdGoneNote(language: Language, status: 'expired' | 'lost', service: string, start: Date, timezone: string): string {
  const when = sayWhen(language, start, timezone);
  if (language === 'de') {
    const why = status === 'expired' ? 'ist abgelaufen' : 'ist verloren gegangen';
    return `Hinweis: Der für den Anrufer festgehaltene Termin (${service}, ${when}) ${why} und ist nicht mehr reserviert. Vor dem Buchen mit check_availability erneut prüfen.`;
  }
  const why = status === 'expired' ? 'has expired' : 'was lost';
  return `Note: the slot held for the caller (${service}, ${when}) ${why} and is no longer reserved. Check it again with check_availability before booking.`;
}

export const RESPONSE_CREATE: ClientEvent = { type: 'response.create' };

/**
 * Our tools (PROTOCOL §4) as Realtime function tools, described in the call's language: the
 * same definitions `GET /v1/tools?format=openai` shows (PROTOCOL §6.3), generated once.
 */
export function realtimeTools(language: Language): RealtimeFunctionTool[] {
  return toolDefinitionsFor({ format: 'openai', locale: language }) as RealtimeFunctionTool[];
}

/** The caller's number from the SIP `From` header (`"Name" <sip:+49151…@host>;tag=…` or `<tel:+49151…>`), or null. */
export function callerNumberOf(call: IncomingCall): string | null {
  const from = call.data.sip_headers.find((header) => header.name.toLowerCase() === 'from')?.value;
  if (!from) return null;
  const match = /<?(?:sips?|tel):([^@;>\s]+)/i.exec(from);
  if (!match?.[1]) return null;
  const user = decodeURIComponent(match[1]);
  return /^\+?[0-9][0-9\-.() ]{2,31}$/.test(user) ? user.replace(/[\-.() ]/g, '') : null;
}

export interface AcceptOptions {
  model: string;
  voice: string | null;
  instructions: string;
  locale: string | null;
  transcriptionModel: string;
}

export const DEFAULT_REALTIME_MODEL = 'gpt-realtime';
export const DEFAULT_TRANSCRIPTION_MODEL = 'gpt-4o-mini-transcribe';

/** The instructions a tenant without its own gets: enough for the model to use the tools well. */
export function defaultInstructions(language: Language, business: string): string {
  return language === 'de'
    ? `Sie sind die freundliche Telefonrezeption von ${business}. Sprechen Sie Deutsch, kurz und natürlich. Rufen Sie zu Beginn get_current_context auf. Prüfen Sie jeden Wunschtermin mit check_availability (das hält ihn für den Anrufer fest), nennen Sie Alternativen aus der Antwort, und buchen Sie erst nach ausdrücklicher Zustimmung mit book_appointment. Lesen Sie das Feld "message" einer Antwort so vor, wie es ist.`
    : `You are the friendly phone receptionist of ${business}. Speak English, briefly and naturally. Call get_current_context at the start. Check every requested slot with check_availability (which holds it for the caller), offer the alternatives from its answer, and book with book_appointment only after the caller agrees. Read a result's "message" field aloud as it is.`;
}

export function acceptBody(options: AcceptOptions): AcceptBody {
  const language = languageOf(options.locale ?? undefined);
  return {
    type: 'realtime',
    model: options.model,
    instructions: options.instructions,
    tools: realtimeTools(language),
    tool_choice: 'auto',
    audio: {
      input: { transcription: { model: options.transcriptionModel, language } },
      ...(options.voice ? { output: { voice: options.voice } } : {}),
    },
  };
}
