/**
 * Our own wire format for the call WebSocket: one JSON object per text frame.
 * This codec is the only place that knows frame shapes; the session machine sees
 * format-free events, so other runtimes' adapters can drive the same machine.
 * @see ../../../docs/PROTOCOL.md §3
 */
import { z } from 'zod';
import type { FrameErrorCode } from '../../errors.js';
import { describeIssues } from '../issues.js';
import { describeJsonProblem, findJsonProblem, type JsonProblem } from '../json-walk.js';
import type { WireAppointment, WireHold } from '../records.js';
import { storableText } from '../storable-text.js';

/** Frames over this close the connection with 1009 (enforced by the socket's maxPayload). */
export const MAX_FRAME_BYTES = 64 * 1024;

const frameId = z.union([z.string().max(256), z.number()]);

/** Runtimes differ: some send tool arguments as a JSON string, some leave them out. */
export const toolArguments = z.preprocess((value) => {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}, z.record(z.string(), z.unknown(), { error: 'expected an object (or a JSON string of one)' }));

export const inboundFrameSchemas = {
  'session.start': z.object({
    type: z.literal('session.start'),
    call: z
      .object({
        from_number: z.string().max(64).nullish(),
        to_number: z.string().max(64).nullish(),
        agent_id: z.string().max(256).nullish(),
        direction: z.string().max(32).nullish(),
      })
      .default({}),
    locale: z.string().max(35).nullish(),
  }),
  'caller.activity': z.object({ type: z.literal('caller.activity'), speaking: z.boolean() }),
  transcript: z.object({
    type: z.literal('transcript'),
    role: z.enum(['caller', 'agent']),
    text: z.string().max(16_000),
    final: z.boolean(),
  }),
  'tool.call': z.object({
    type: z.literal('tool.call'),
    id: z.string().min(1).max(256),
    name: z.string().min(1).max(128),
    arguments: toolArguments,
  }),
  'session.end': z.object({ type: z.literal('session.end'), reason: z.string().max(256).nullish() }),
  ping: z.object({ type: z.literal('ping'), id: frameId.nullish() }),
} as const;

export type InboundFrameType = keyof typeof inboundFrameSchemas;
export type InboundFrame = { [K in InboundFrameType]: z.infer<(typeof inboundFrameSchemas)[K]> }[InboundFrameType];

export type { FrameErrorCode };

/** A frame refused at the door, as a value: the `error` frame's code and message, and the frame's id as `ref`. */
export interface FrameError {
  code: FrameErrorCode;
  message: string;
  ref: string | number | null;
}

export type DecodedFrame = { ok: true; frame: InboundFrame } | { ok: false; error: FrameError };

const isInboundType = (type: string): type is InboundFrameType => Object.hasOwn(inboundFrameSchemas, type);

function problemError(problem: JsonProblem, ref: string | number | null): FrameError {
  return { code: 'BAD_MESSAGE', message: describeJsonProblem({ ...problem, path: problem.path || 'frame' }), ref };
}

/** A frame's id echoed as `ref`: cut to the longest id any frame may carry, and storable. */
const storableRef = (id: string | number) => (typeof id === 'string' ? storableText(id.slice(0, 256)) : id);

/** Decodes one text frame; every failure names what was wrong and carries the frame's id as `ref`. */
export function decodeFrame(text: string): DecodedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: { code: 'BAD_MESSAGE', message: 'frame is not valid JSON', ref: null } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: { code: 'BAD_MESSAGE', message: 'frame must be a JSON object', ref: null } };
  }
  const record = value as Record<string, unknown>;
  // JSON reads 1e999 as Infinity, which would go out as `"ref": null`: such an id is not echoed.
  const ref = typeof record.id === 'string' || (typeof record.id === 'number' && Number.isFinite(record.id)) ? storableRef(record.id) : null;
  // Before anything else reads it: every frame is logged, and nothing may walk it recursively.
  const problem = findJsonProblem(value);
  if (problem) return { ok: false, error: problemError(problem, ref) };
  if (typeof record.type !== 'string') {
    return { ok: false, error: { code: 'BAD_MESSAGE', message: 'type: frame has no string "type"', ref } };
  }
  if (!isInboundType(record.type)) {
    return { ok: false, error: { code: 'UNKNOWN_TYPE', message: `type: unknown frame type "${storableText(record.type.slice(0, 64))}"`, ref } };
  }
  const parsed = inboundFrameSchemas[record.type].safeParse(record);
  if (!parsed.success) {
    return { ok: false, error: { code: 'BAD_MESSAGE', message: `${record.type}: ${describeIssues(parsed.error).join('; ')}`, ref } };
  }
  // Again on the decoded frame when `arguments` came as a JSON string: only then does it hold
  // text the first walk did not see (otherwise the schemas only drop keys and add constants).
  if (record.type === 'tool.call' && typeof record.arguments === 'string') {
    const decodedProblem = findJsonProblem(parsed.data);
    if (decodedProblem) return { ok: false, error: problemError(decodedProblem, ref) };
  }
  return { ok: true, frame: parsed.data as InboundFrame };
}

export type OutboundFrame =
  | { type: 'session.ready'; call_id: string; resumed: boolean; state: unknown; now: string; timezone: string; hold: WireHold | null }
  | { type: 'tool.result'; id: string; ok: boolean; result: Record<string, unknown>; error?: { code: string; message: string } }
  | { type: 'hold.updated'; hold: WireHold }
  | { type: 'appointment.updated'; appointment: WireAppointment & { status: 'booked' | 'cancelled' } }
  | { type: 'session.ended'; outcome: 'booked' | 'no_booking' | 'dropped'; appointment: WireAppointment | null }
  | { type: 'pong'; id?: string | number }
  | { type: 'error'; code: FrameErrorCode; message: string; ref?: string | number };

export function encodeFrame(frame: OutboundFrame): string {
  return JSON.stringify(frame);
}

export function errorFrame(error: FrameError): OutboundFrame {
  return { type: 'error', code: error.code, message: error.message, ...(error.ref !== null ? { ref: error.ref } : {}) };
}
