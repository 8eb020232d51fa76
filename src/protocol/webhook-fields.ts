/** Fields every HTTP runtime's requests share (PROTOCOL §6.2): the runtime's call id and the caller's number. */
import { z } from 'zod';
import { toolArguments } from './callhold/frames.js';
import { describeJsonProblem, findJsonProblem } from './json-walk.js';

/** A session key like PROTOCOL §3's `call_id`: 1–128 characters of `[A-Za-z0-9_.:-]`. */
export const runtimeCallId = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'expected a call id of 1-128 characters of [A-Za-z0-9_.:-]');

/** A phone number as a runtime sends it; empty counts as unknown. */
export const phoneNumber = z
  .string()
  .max(64)
  .nullish()
  .transform((value) => (value ? value : null));

/**
 * A tool call's arguments as a runtime sends them (an object, a JSON string of one, or
 * nothing), checked like our frames are: nothing too deep or unstorable reaches a tool.
 */
export function decodeToolArguments(raw: unknown): { ok: true; arguments: Record<string, unknown> } | { ok: false; problem: string } {
  const parsed = toolArguments.safeParse(raw);
  if (!parsed.success) return { ok: false, problem: `arguments: ${parsed.error.issues[0]?.message ?? 'expected an object'}` };
  const problem = findJsonProblem(parsed.data);
  if (problem) return { ok: false, problem: describeJsonProblem({ ...problem, path: problem.path ? `arguments.${problem.path}` : 'arguments' }) };
  return { ok: true, arguments: parsed.data };
}
