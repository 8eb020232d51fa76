/**
 * Vapi server messages (PROTOCOL §6.2) as a codec of the session host: every message is
 * `POST {message: {type, call, …}}`; `tool-calls` become tool requests (several per
 * message, run in order), caller speech and transcripts become caller activity, the end
 * of the call ends the session. Answers are `{results: [{toolCallId, name, result}]}`
 * with `result` the JSON string of our answer body.
 * @see ../../../../shared/PROTOCOL.md §6.2
 * @see https://docs.vapi.ai/server-url/events
 */
import { z } from 'zod';
import type { ToolResponse } from '../../../machines/call-session.types.js';
import { toolAnswerBody } from '../records.js';
import { decodeToolArguments, phoneNumber, runtimeCallId } from '../webhook-fields.js';

/** One entry of `toolCallList`: `{id, name, parameters}`, or OpenAI's `{id, function: {name, arguments}}` that Vapi also sends. */
const toolCallEntry = z
  .object({
    id: z.string().min(1).max(256),
    name: z.string().min(1).max(128).optional(),
    parameters: z.unknown().optional(),
    function: z.object({ name: z.string().min(1).max(128), arguments: z.unknown().optional() }).optional(),
  })
  .refine((entry) => entry.name !== undefined || entry.function !== undefined, { message: 'expected a name', path: ['name'] });

const call = z.object({ id: runtimeCallId, customer: z.object({ number: phoneNumber }).nullish() });

export const vapiRequestSchema = z.object({
  message: z.object({
    type: z.string().min(1).max(64),
    call: call.optional(),
    role: z.string().max(32).optional(),
    status: z.string().max(64).optional(),
    toolCallList: z.array(z.unknown()).max(32).optional(),
  }),
});
export type VapiRequest = z.infer<typeof vapiRequestSchema>;

export interface DecodedToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown> | null;
  /** Why the arguments could not be read, when they could not. */
  problem: string | null;
}

/** What a message means to the session; `ignored` messages get 200 `{}` and touch no session. */
export type VapiMessage =
  | { kind: 'tools'; calls: DecodedToolCall[] }
  | { kind: 'activity' }
  | { kind: 'end' }
  | { kind: 'ignored' };

/** A message that needs a session but names no call is refused; the route answers 400 naming the field. */
export function vapiMessageOf(request: VapiRequest): VapiMessage | { kind: 'invalid'; issues: string[] } {
  const message = request.message;
  const needsCall = (meaning: VapiMessage): VapiMessage | { kind: 'invalid'; issues: string[] } =>
    message.call ? meaning : { kind: 'invalid', issues: ['message.call: required for a message of type ' + message.type] };
  switch (message.type) {
    case 'tool-calls': {
      const calls: DecodedToolCall[] = [];
      const issues: string[] = [];
      for (const [index, raw] of (message.toolCallList ?? []).entries()) {
        const entry = toolCallEntry.safeParse(raw);
        if (!entry.success) {
          issues.push(...entry.error.issues.map((issue) => `message.toolCallList.${index}.${issue.path.join('.')}: ${issue.message}`));
          continue;
        }
        const { id, name, parameters, function: fn } = entry.data;
        const args = decodeToolArguments(parameters ?? fn?.arguments);
        calls.push({ id, name: name ?? fn!.name, arguments: args.ok ? args.arguments : null, problem: args.ok ? null : args.problem });
      }
      if (issues.length > 0) return { kind: 'invalid', issues };
      return needsCall({ kind: 'tools', calls });
    }
    case 'speech-update':
    case 'transcript':
      return message.role === 'user' ? needsCall({ kind: 'activity' }) : { kind: 'ignored' };
    case 'status-update':
      return message.status === 'ended' ? needsCall({ kind: 'end' }) : { kind: 'ignored' };
    case 'end-of-call-report':
      return needsCall({ kind: 'end' });
    default:
      return { kind: 'ignored' };
  }
}

export const vapiCallOf = (request: VapiRequest) => ({ callId: request.message.call!.id, callerPhone: request.message.call!.customer?.number ?? null });

export function encodeVapiResults(answers: Array<{ call: DecodedToolCall; response: ToolResponse }>) {
  return { results: answers.map(({ call, response }) => ({ toolCallId: call.id, name: call.name, result: JSON.stringify(toolAnswerBody(response)) })) };
}
