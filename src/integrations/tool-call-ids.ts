/**
 * Tool call ids for runtimes that send none (Retell custom functions, ElevenLabs server
 * tools). A session replays the first answer to a tool call id (PROTOCOL §4), so the id
 * decides what counts as a retry. PROTOCOL §6.2: "a retry (same call, tool and arguments
 * within 5 min) replays the first answer". Precisely:
 *
 * - The fingerprint is SHA-256 over (runtime, tenant, call id, tool name, the arguments as
 *   canonical JSON: keys sorted at every level, so key order does not matter).
 * - A request whose fingerprint equals the call's latest tool request, and that comes
 *   within 5 min of that request's first arrival, is a retry: it gets the same id
 *   (`<runtime>-<fingerprint>-<first arrival ms>.<n>`), so the session answers it with the
 *   first answer and does nothing twice.
 * - Anything else gets a new id. A tool call of another name or arguments in between ends
 *   the retry chance: runtimes retry a failed request before the agent moves on, and a
 *   caller who asks for the same slot again after something else happened (released the
 *   hold, asked for another time) means it, and must not be told an old answer.
 *
 * Kept in this process's memory, one entry per call, dropped 5 min after its first
 * arrival: a retry that reaches another broker instance, or this one after a restart,
 * runs again: an answer of its own, as if the caller had asked twice (the one hold of a
 * session is never doubled, and a booking turns the same hold into one appointment).
 */
import { createHash } from 'node:crypto';

export const RETRY_WINDOW_MS = 300_000;

/** JSON with object keys sorted at every level. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

interface Latest {
  fingerprint: string;
  id: string;
  firstAt: number;
}

export class DerivedToolCallIds {
  /** Per call, its latest tool request; in order of first arrival, so the stale ones are at the front. */
  private readonly latest = new Map<string, Latest>();
  /** Tells apart two new requests of one fingerprint in the same millisecond. */
  private issued = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  idFor(call: { runtime: string; tenantId: string; callId: string }, name: string, args: unknown): string {
    const now = this.clock();
    this.prune(now);
    const key = `${call.runtime}\u0000${call.tenantId}\u0000${call.callId}`;
    const fingerprint = createHash('sha256')
      .update(canonicalJson([call.runtime, call.tenantId, call.callId, name, args ?? {}]))
      .digest('base64url')
      .slice(0, 32);
    const previous = this.latest.get(key);
    if (previous && previous.fingerprint === fingerprint && now - previous.firstAt <= RETRY_WINDOW_MS) return previous.id;
    const id = `${call.runtime}-${fingerprint}-${now}.${++this.issued}`;
    this.latest.delete(key);
    this.latest.set(key, { fingerprint, id, firstAt: now });
    return id;
  }

  get size(): number {
    return this.latest.size;
  }

  private prune(now: number): void {
    for (const [key, entry] of this.latest) {
      if (now - entry.firstAt <= RETRY_WINDOW_MS) return;
      this.latest.delete(key);
    }
  }
}
