/** Sessions, their event log and their tool answers, on drizzle. */
import { and, asc, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { SessionFence } from '../booking/ports.js';
import { BrokerError } from '../errors.js';
import type { SessionChanges, SessionEventRecord, SessionOpener, SessionRecord, SessionStore, SessionWrite, StoredSessionEvent, ToolAnswerRecord } from '../sessions/ports.js';
import type { SessionRuntime } from '../integrations/settings.js';
import { rowsOf, selectRows } from './booking-store.js';
import type { Database } from './database.js';
import { brokerInstances, sessionEvents, sessions, toolResults, type SessionOutcome, type SessionStatus } from './schema.js';

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

  async openSession(
    tenantId: string,
    callId: string,
    machineVersion: number,
    opener: SessionOpener,
    runtime: SessionRuntime = 'callhold',
  ): Promise<{ session: SessionRecord; created: boolean }> {
    const [created] = await this.db
      .insert(sessions)
      .values({ tenantId, callId, machineVersion, runtime, ownerInstance: opener.instanceId, ownerEpoch: 1 })
      .onConflictDoNothing({ target: [sessions.tenantId, sessions.callId] })
      .returning();
    if (created) return { session: created, created: true };
    const [claimed] = await selectRows<SessionRecord>(this.db, sql`
      SELECT * FROM callhold_claim_session(${tenantId}, ${callId}, ${opener.instanceId}, ${opener.heldEpoch}::bigint)`);
    return { session: ownerEpochAsNumber(claimed!), created: false };
  }

  async findSession(tenantId: string, callId: string): Promise<SessionRecord | null> {
    const [row] = await this.db.select().from(sessions).where(and(eq(sessions.tenantId, tenantId), eq(sessions.callId, callId)));
    return row ?? null;
  }

  async adoptSessions(instanceId: string, own: boolean, limit: number): Promise<SessionRecord[]> {
    const rows = await selectRows<SessionRecord>(this.db, sql`SELECT * FROM callhold_adopt_sessions(${instanceId}, ${own}, ${limit})`);
    return rows.map(ownerEpochAsNumber);
  }

  async renewLease(instanceId: string, leaseMs: number): Promise<void> {
    const leaseUntil = sql`now() + make_interval(secs => ${leaseMs / 1000})`;
    await this.db
      .insert(brokerInstances)
      .values({ id: instanceId, leaseUntil })
      .onConflictDoUpdate({ target: brokerInstances.id, set: { leaseUntil } });
  }

  async endLease(instanceId: string): Promise<void> {
    await this.db.update(brokerInstances).set({ leaseUntil: sql`now()` }).where(eq(brokerInstances.id, instanceId));
  }

  async lostSessions(held: SessionFence[]): Promise<string[]> {
    if (held.length === 0) return [];
    const fences = held.map(({ tenantId, sessionId, epoch }) => ({ tenant_id: tenantId, session_id: sessionId, epoch }));
    const rows = await selectRows<{ sessionId: string }>(this.db, sql`
      SELECT held.session_id FROM jsonb_to_recordset(${JSON.stringify(fences)}::jsonb)
        AS held(tenant_id text, session_id uuid, epoch bigint)
      LEFT JOIN ${sessions} ON ${sessions.tenantId} = held.tenant_id AND ${sessions.id} = held.session_id
      WHERE ${sessions.ownerEpoch} IS DISTINCT FROM held.epoch`);
    return rows.map((row) => row.sessionId);
  }

  /**
   * One prepared statement whatever the sessions and their changes (no query building): it
   * runs for every hold change of every call, the changes of all sessions of a moment
   * together (see `SnapshotWrites`).
   */
  async saveSessions(writes: SessionWrite[]): Promise<string[]> {
    if (writes.length === 0) return [];
    const rows = writes.map(({ fence, changes }) => ({
      tenant_id: fence.tenantId,
      session_id: fence.sessionId,
      epoch: fence.epoch,
      has_state: changes.state !== undefined,
      state: changes.state ?? null,
      has_snapshot: changes.snapshot !== undefined,
      snapshot: changes.snapshot ?? null,
      status: changes.status ?? null,
      has_outcome: changes.outcome !== undefined,
      outcome: changes.outcome ?? null,
      ended: changes.ended === true,
    }));
    const saved = rowsOf<{ id: string }>(
      await this.db.execute(sql`
        UPDATE ${sessions} SET
          state = CASE WHEN written.has_state THEN written.state ELSE ${sessions.state} END,
          snapshot = CASE WHEN written.has_snapshot THEN written.snapshot ELSE ${sessions.snapshot} END,
          status = coalesce(written.status, ${sessions.status}),
          outcome = CASE WHEN written.has_outcome THEN written.outcome ELSE ${sessions.outcome} END,
          ended_at = CASE WHEN written.ended THEN now() ELSE ${sessions.endedAt} END,
          updated_at = now()
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS written(tenant_id text, session_id uuid, epoch bigint,
          has_state boolean, state jsonb, has_snapshot boolean, snapshot jsonb, status text, has_outcome boolean, outcome text, ended boolean)
        WHERE ${sessions.tenantId} = written.tenant_id AND ${sessions.id} = written.session_id AND ${sessions.ownerEpoch} = written.epoch
        RETURNING ${sessions.id} AS id`),
    );
    const written = new Set(saved.map((row) => row.id));
    return writes.filter(({ fence }) => !written.has(fence.sessionId)).map(({ fence }) => fence.sessionId);
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

  /**
   * Rows of a session at another epoch than they were recorded under are dropped in the
   * statement (the session has moved to another instance); the sessions matched are locked
   * FOR KEY SHARE, as `callhold_fence` does, so no row commits after a takeover. Each row is matched to its
   * session by (tenant, id), the session's key, and stored with the session's tenant.
   * Under Citus a batch that spans tenants is a multi-shard insert (one per shard it
   * touches); the join itself stays co-located. The answers and the events of a flush are
   * one prepared statement (one round trip, one commit) whatever the batch size, with no
   * query building: the log is written for every frame of every call.
   */
  async appendLog(events: SessionEventRecord[], answers: ToolAnswerRecord[]): Promise<void> {
    if (events.length === 0) return this.saveToolAnswers(answers);
    const rows = events.map((event) => ({
      tenant_id: event.tenantId,
      session_id: event.sessionId,
      epoch: event.epoch,
      at: event.at.toISOString(),
      direction: event.direction,
      type: event.type,
      payload: event.payload,
      tool_call_id: event.toolCallId,
      latency_ms: event.latencyMs,
    }));
    await this.db.execute(sql`
      WITH kept_answers AS (${insertAnswers(answers)})
      INSERT INTO ${sessionEvents} (tenant_id, session_id, at, direction, type, payload, tool_call_id, latency_ms)
      SELECT ${sessions.tenantId}, event.session_id, event.at, event.direction, event.type, coalesce(event.payload, 'null'::jsonb), event.tool_call_id, event.latency_ms
      FROM ROWS FROM (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        AS (tenant_id text, session_id uuid, epoch bigint, at timestamptz, direction text, type text, payload jsonb, tool_call_id text, latency_ms real))
        WITH ORDINALITY AS event(tenant_id, session_id, epoch, at, direction, type, payload, tool_call_id, latency_ms, position)
      JOIN ${sessions} ON ${sessions.tenantId} = event.tenant_id AND ${sessions.id} = event.session_id AND ${sessions.ownerEpoch} = event.epoch
      ORDER BY event.position
      FOR KEY SHARE OF ${sessions}`);
  }

  /** Keeps the first answer to each id: a repeated one leaves the stored answer in place. Fenced like `appendLog`. */
  async saveToolAnswers(answers: ToolAnswerRecord[]): Promise<void> {
    if (answers.length === 0) return;
    await this.db.execute(insertAnswers(answers));
  }

  async events(tenantId: string, sessionId: string): Promise<StoredSessionEvent[]> {
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
      .where(and(eq(sessionEvents.tenantId, tenantId), eq(sessionEvents.sessionId, sessionId)))
      .orderBy(asc(sessionEvents.id));
  }

  async findToolResult(tenantId: string, sessionId: string, toolCallId: string): Promise<unknown | null> {
    const [row] = await this.db
      .select({ response: toolResults.response })
      .from(toolResults)
      .where(and(eq(toolResults.tenantId, tenantId), eq(toolResults.sessionId, sessionId), eq(toolResults.toolCallId, toolCallId)));
    return row?.response ?? null;
  }
}

/** The fenced insert of tool answers (see `appendLog`); an empty list inserts nothing. */
function insertAnswers(answers: ToolAnswerRecord[]): SQL {
  const rows = answers.map(({ tenantId, sessionId, epoch, toolCallId, name, response }) => ({
    tenant_id: tenantId,
    session_id: sessionId,
    epoch,
    tool_call_id: toolCallId,
    name,
    response,
  }));
  return sql`
    INSERT INTO ${toolResults} (tenant_id, session_id, tool_call_id, name, response)
    SELECT ${sessions.tenantId}, answer.session_id, answer.tool_call_id, answer.name, answer.response
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS answer(tenant_id text, session_id uuid, epoch bigint, tool_call_id text, name text, response jsonb)
    JOIN ${sessions} ON ${sessions.tenantId} = answer.tenant_id AND ${sessions.id} = answer.session_id AND ${sessions.ownerEpoch} = answer.epoch
    FOR KEY SHARE OF ${sessions}
    ON CONFLICT DO NOTHING`;
}

/** postgres.js returns a raw bigint as a string; drizzle's own selects give the schema's number. */
function ownerEpochAsNumber(record: SessionRecord): SessionRecord {
  return { ...record, ownerEpoch: Number(record.ownerEpoch) };
}
