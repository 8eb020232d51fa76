/** Sessions, their event log and their tool answers, on drizzle. */
import { and, asc, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { SessionChanges, SessionEventRecord, SessionRecord, SessionStore, ToolAnswerRecord } from '../sessions/ports.js';
import type { SessionRuntime } from '../integrations/settings.js';
import type { Database } from './database.js';
import { sessionEvents, sessions, toolResults, type SessionOutcome, type SessionStatus } from './schema.js';

export type { SessionChanges, SessionEventRecord, SessionRecord, ToolAnswerRecord };

export interface SessionFilter {
  tenantId?: string | undefined;
  status?: SessionStatus | undefined;
  outcome?: SessionOutcome | undefined;
  startedFrom?: Date | undefined;
  startedBefore?: Date | undefined;
  limit: number;
  offset: number;
}

/** The WHERE clause of a session filter; limit and offset are the caller's. */
export function sessionConditions(filter: Omit<SessionFilter, 'limit' | 'offset'>): SQL | undefined {
  return and(
    filter.tenantId ? eq(sessions.tenantId, filter.tenantId) : undefined,
    filter.status ? eq(sessions.status, filter.status) : undefined,
    filter.outcome ? eq(sessions.outcome, filter.outcome) : undefined,
    filter.startedFrom ? gte(sessions.startedAt, filter.startedFrom) : undefined,
    filter.startedBefore ? lt(sessions.startedAt, filter.startedBefore) : undefined,
  );
}

export class DrizzleSessionStore implements SessionStore {
  constructor(private readonly db: Database) {}

  /** The session for (tenant, call), created live if there is none yet. */
  async openSession(tenantId: string, callId: string, machineVersion: number, runtime: SessionRuntime = 'callhold'): Promise<{ session: SessionRecord; created: boolean }> {
    const [created] = await this.db
      .insert(sessions)
      .values({ tenantId, callId, machineVersion, runtime })
      .onConflictDoNothing({ target: [sessions.tenantId, sessions.callId] })
      .returning();
    if (created) return { session: created, created: true };
    const existing = await this.findSession(tenantId, callId);
    return { session: existing!, created: false };
  }

  async findSession(tenantId: string, callId: string): Promise<SessionRecord | null> {
    const [row] = await this.db.select().from(sessions).where(and(eq(sessions.tenantId, tenantId), eq(sessions.callId, callId)));
    return row ?? null;
  }

  async liveSessions(): Promise<SessionRecord[]> {
    return this.db.select().from(sessions).where(eq(sessions.status, 'live'));
  }

  async saveSession(sessionId: string, changes: SessionChanges): Promise<void> {
    await this.db
      .update(sessions)
      .set({
        ...(changes.state !== undefined ? { state: changes.state } : {}),
        ...(changes.snapshot !== undefined ? { snapshot: changes.snapshot } : {}),
        ...(changes.status ? { status: changes.status } : {}),
        ...(changes.outcome !== undefined ? { outcome: changes.outcome } : {}),
        ...(changes.ended ? { endedAt: sql`now()` } : {}),
        updatedAt: sql`now()`,
      })
      .where(eq(sessions.id, sessionId));
  }

  async listSessions(filter: SessionFilter): Promise<SessionRecord[]> {
    return this.db
      .select()
      .from(sessions)
      .where(sessionConditions(filter))
      .orderBy(desc(sessions.startedAt), desc(sessions.id))
      .limit(filter.limit)
      .offset(filter.offset);
  }

  async appendLog(events: SessionEventRecord[], answers: ToolAnswerRecord[]): Promise<void> {
    await this.saveToolAnswers(answers);
    if (events.length > 0) await this.db.insert(sessionEvents).values(events);
  }

  /**
   * Keeps the first answer to each id: a repeated one leaves the stored answer in place.
   * This write can be on an answer's path, so it is one prepared statement whatever the
   * batch size, with no query building (about half the CPU of the builder's insert, measured).
   */
  async saveToolAnswers(answers: ToolAnswerRecord[]): Promise<void> {
    if (answers.length === 0) return;
    const rows = answers.map(({ sessionId, toolCallId, name, response }) => ({ session_id: sessionId, tool_call_id: toolCallId, name, response }));
    await this.db.execute(sql`
      INSERT INTO ${toolResults} (session_id, tool_call_id, name, response)
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS answer(session_id uuid, tool_call_id text, name text, response jsonb)
      ON CONFLICT DO NOTHING`);
  }

  async events(sessionId: string): Promise<SessionEventRecord[]> {
    return this.db
      .select({
        sessionId: sessionEvents.sessionId,
        at: sessionEvents.at,
        direction: sessionEvents.direction,
        type: sessionEvents.type,
        payload: sessionEvents.payload,
        toolCallId: sessionEvents.toolCallId,
        latencyMs: sessionEvents.latencyMs,
      })
      .from(sessionEvents)
      .where(eq(sessionEvents.sessionId, sessionId))
      .orderBy(asc(sessionEvents.id));
  }

  async findToolResult(sessionId: string, toolCallId: string): Promise<unknown | null> {
    const [row] = await this.db
      .select({ response: toolResults.response })
      .from(toolResults)
      .where(and(eq(toolResults.sessionId, sessionId), eq(toolResults.toolCallId, toolCallId)));
    return row?.response ?? null;
  }
}
