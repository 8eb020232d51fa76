/**
 * What the inspector shows (PROTOCOL §5): sessions live in this process from their
 * running machine, everything else from the stored snapshot and event log; hold
 * statistics; the machine's state tree. Routes parse and answer; this reads and shapes.
 * @see ../../docs/PROTOCOL.md §5
 */
import { callSessionMachine } from '../../machines/call-session.machine.js';
import { CALL_SESSION_MACHINE_VERSION, type CallSessionContext, type HoldView } from '../../machines/call-session.types.js';
import type { CatalogCache } from '../booking/catalog-cache.js';
import { isoIn, wireAppointment } from '../protocol/records.js';
import type { StoredSessionEvent, SessionOutcome, SessionRecord, SessionStatus } from '../sessions/ports.js';
import type { SessionHost } from '../sessions/session-host.js';
import type { InspectedHold, InspectorQueries } from '../store/inspector-queries.js';
import type { DrizzleSessionStore } from '../store/session-store.js';

type StoredSnapshot = { context?: Partial<CallSessionContext> } | null;

/** The session's state as the inspector shows it: live from memory when this process runs it. */
interface SessionView {
  record: SessionRecord;
  state: unknown;
  context: Partial<CallSessionContext> | null;
  connected: boolean | null;
}

export interface SessionListQuery {
  tenant?: string | undefined;
  status?: SessionStatus | undefined;
  outcome?: SessionOutcome | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  limit: number;
  offset: number;
}

export interface InspectorViewsOptions {
  sessionStore: DrizzleSessionStore;
  queries: InspectorQueries;
  catalogs: CatalogCache;
  sessions: SessionHost;
  /** Makes everything logged so far readable. */
  flushEvents: () => Promise<void>;
}

export class InspectorViews {
  constructor(private readonly options: InspectorViewsOptions) {}

  /** One page of sessions, newest first, and how many match in all. */
  async list(query: SessionListQuery): Promise<{ sessions: unknown[]; total: number }> {
    const filter = { tenantId: query.tenant, status: query.status, outcome: query.outcome, startedFrom: query.from, startedBefore: query.to };
    const [records, total] = await Promise.all([
      this.options.sessionStore.listSessions({ ...filter, limit: query.limit, offset: query.offset }),
      this.options.queries.countSessions(filter),
    ]);
    const zoneOf = this.timezones();
    return { sessions: await Promise.all(records.map(async (record) => describeListed(this.view(record), await zoneOf(record.tenantId)))), total };
  }

  async stats(query: { tenant?: string | undefined; from?: Date | undefined; to?: Date | undefined }) {
    const rows = await this.options.queries.holdStatistics({ tenantId: query.tenant, placedFrom: query.from, placedBefore: query.to });
    return rows.map((row) => ({
      tenant: row.tenantId,
      placed: row.placed,
      held: row.held,
      converted: row.booked,
      expired: row.expired,
      lost: row.lost,
      released: row.released,
      conversion_rate: row.placed > 0 ? Math.round((row.booked / row.placed) * 10_000) / 10_000 : null,
    }));
  }

  machine() {
    return {
      id: callSessionMachine.id,
      version: CALL_SESSION_MACHINE_VERSION,
      initial: callSessionMachine.root.initial?.target[0]?.key ?? null,
      states: describeStates(callSessionMachine.root),
    };
  }

  /** One session with its timeline and a summary; null when there is none. */
  async detail(tenantId: string, callId: string) {
    const record = await this.options.sessionStore.findSession(tenantId, callId);
    if (!record) return null;
    await this.options.flushEvents();
    const [events, holds, zone] = await Promise.all([
      this.options.sessionStore.events(record.tenantId, record.id),
      this.options.queries.sessionHolds(record.tenantId, record.id),
      this.timezones()(record.tenantId),
    ]);
    return describeDetail(this.view(record), events, holds, zone);
  }

  /** Time zones of the tenants one answer mentions, each looked up once. */
  private timezones() {
    const zones = new Map<string, Promise<string>>();
    return (tenant: string) => {
      let zone = zones.get(tenant);
      if (!zone) {
        zone = this.options.catalogs.get(tenant).then((catalog) => catalog?.timezone ?? 'UTC');
        zones.set(tenant, zone);
      }
      return zone;
    };
  }

  private view(record: SessionRecord): SessionView {
    const live = record.status === 'live' ? this.options.sessions.inspect(record.tenantId, record.callId) : null;
    if (live) return { record, state: live.state, context: live.context, connected: live.connected };
    return { record, state: record.state, context: (record.snapshot as StoredSnapshot)?.context ?? null, connected: record.status === 'live' ? null : false };
  }
}

function describeListed({ record, state, context, connected }: SessionView, zone: string) {
  const lastTool = context?.toolLatencies?.at(-1);
  return {
    call_id: record.callId,
    tenant: record.tenantId,
    runtime: record.runtime,
    state,
    status: record.status,
    started_at: isoIn(record.startedAt, zone),
    hold: context?.hold ? inspectorHold(context.hold, zone) : null,
    outcome: record.outcome,
    ended_at: record.endedAt ? isoIn(record.endedAt, zone) : null,
    connected,
    last_tool: lastTool ? { id: lastTool.id, name: lastTool.name, latency_ms: lastTool.latencyMs } : null,
  };
}

function describeDetail(session: SessionView, events: StoredSessionEvent[], holds: InspectedHold[], zone: string) {
  const { record, context } = session;
  // A tool call as each runtime logs it (our `tool.call`, OpenAI's function call, …): an event in, with the call's id and a `name`.
  const toolNames = new Map<string, string>();
  for (const event of events) {
    if (event.direction === 'in' && event.toolCallId) {
      const name = (event.payload as { name?: unknown }).name;
      if (typeof name === 'string') toolNames.set(event.toolCallId, name);
    }
  }
  return {
    ...describeListed(session, zone),
    timezone: zone,
    context: context ? describeContext(context, zone) : null,
    appointment: context?.appointment ? wireAppointment(context.appointment, zone) : null,
    holds: holds.map((hold) => ({
      id: hold.id,
      status: hold.status,
      service: hold.serviceId,
      staff: hold.staffId,
      start: isoIn(hold.start, zone),
      end: isoIn(hold.end, zone),
      placed_at: isoIn(hold.placedAt, zone),
      expires_at: isoIn(hold.expiresAt, zone),
      max_expires_at: isoIn(hold.maxExpiresAt, zone),
      ended_at: hold.endedAt ? isoIn(hold.endedAt, zone) : null,
      extensions: hold.extensions,
    })),
    events: events.map((event) => ({
      at: isoIn(event.at, zone),
      direction: event.direction,
      type: event.type,
      tool: event.toolCallId ? (toolNames.get(event.toolCallId) ?? null) : null,
      payload: event.payload,
      tool_call_id: event.toolCallId,
      latency_ms: event.latencyMs,
    })),
    summary: summarize(record, events, toolNames, holds),
  };
}

function summarize(record: SessionRecord, events: StoredSessionEvent[], toolNames: Map<string, string>, holds: InspectedHold[]) {
  const latencies = new Map<string, number[]>();
  for (const event of events) {
    // A tool's answer as each runtime logs it: an event out, with the call's id and the tool's latency.
    if (event.direction !== 'out' || !event.toolCallId || event.latencyMs === null) continue;
    const name = (event.toolCallId && toolNames.get(event.toolCallId)) || 'unknown';
    latencies.set(name, [...(latencies.get(name) ?? []), event.latencyMs]);
  }
  const booked = holds.filter((hold) => hold.status === 'booked' && hold.endedAt).at(-1);
  return {
    tool_latency_ms: Object.fromEntries(
      [...latencies].map(([name, values]) => {
        const sorted = [...values].sort((a, b) => a - b);
        return [name, { count: sorted.length, p50: roundMs(sorted[Math.ceil(sorted.length / 2) - 1]!), max: roundMs(sorted.at(-1)!) }];
      }),
    ),
    hold_placed_to_booked_ms: booked ? booked.endedAt!.getTime() - booked.placedAt.getTime() : null,
    duration_ms: record.endedAt ? record.endedAt.getTime() - record.startedAt.getTime() : null,
    outcome: record.outcome,
  };
}

const roundMs = (ms: number) => Math.round(ms * 10) / 10;

/** The hold a session has now, with the instants its countdown needs. */
function inspectorHold(hold: HoldView, zone: string) {
  return {
    id: hold.id,
    status: 'held' as const,
    service: hold.serviceId,
    staff: hold.staffId,
    start: isoIn(hold.start, zone),
    end: isoIn(hold.end, zone),
    placed_at: isoIn(hold.placedAt, zone),
    expires_at: isoIn(hold.expiresAt, zone),
    max_expires_at: isoIn(hold.maxExpiresAt, zone),
  };
}

/** The machine's context on the wire: snake_case names, instants as ISO 8601 in the tenant's zone. */
function describeContext(context: Partial<CallSessionContext>, zone: string) {
  const {
    sessionId,
    tenantId,
    callId,
    locale,
    callerPhone,
    holdTtlMs,
    resumeGraceMs,
    toolTimeoutMs,
    unavailableResponse,
    hold,
    request,
    alternatives,
    appointment,
    outcome,
    callerSpeaking,
    disconnectedAt,
    toolQueue,
    toolLatencies,
    ...rest
  } = context;
  return {
    session_id: sessionId ?? null,
    tenant_id: tenantId ?? null,
    call_id: callId ?? null,
    locale: locale ?? null,
    caller_phone: callerPhone ?? null,
    hold_ttl_ms: holdTtlMs ?? null,
    resume_grace_ms: resumeGraceMs ?? null,
    tool_timeout_ms: toolTimeoutMs ?? null,
    hold: hold ? inspectorHold(hold, zone) : null,
    request: request ? { service: request.serviceId, date: request.date, time: request.time, staff: request.staffId } : null,
    alternatives: (alternatives ?? []).map((slot) => ({ start: isoIn(slot.start, zone), end: isoIn(slot.end, zone), staff: slot.staffId })),
    appointment: appointment ? wireAppointment(appointment, zone) : null,
    outcome: outcome ?? null,
    caller_speaking: callerSpeaking ?? false,
    disconnected_at: typeof disconnectedAt === 'number' ? isoIn(disconnectedAt, zone) : null,
    tool_queue: (toolQueue ?? []).map((call) => ({ id: call.id, name: call.name, arguments: call.arguments, received_at: isoIn(call.receivedAt, zone) })),
    tool_latencies: (toolLatencies ?? []).map((latency) => ({ id: latency.id, name: latency.name, latency_ms: latency.latencyMs })),
    unavailable_response: unavailableResponse ?? null,
    // Fields added to the context later still show, under their snake_case names.
    ...Object.fromEntries(Object.entries(rest).map(([key, value]) => [key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`), value])),
  };
}

/** The structure of the machine's state tree; paths match the dotted paths of a state value. */
interface StateNodeLike {
  key: string;
  type: string;
  path: readonly string[];
  states: Readonly<Record<string, StateNodeLike>>;
  invoke: ReadonlyArray<{ src: unknown }>;
  initial?: { target: ReadonlyArray<{ key: string }> } | undefined;
}

interface DescribedState {
  key: string;
  path: string;
  type: string;
  initial: string | null;
  invokes: string[];
  states: DescribedState[];
}

function describeStates(node: StateNodeLike): DescribedState[] {
  return Object.values(node.states).map((child) => ({
    key: child.key,
    path: child.path.join('.'),
    type: child.type,
    initial: child.initial?.target[0]?.key ?? null,
    invokes: child.invoke.map((invoke) => (typeof invoke.src === 'string' ? invoke.src : 'actor')),
    states: describeStates(child),
  }));
}
