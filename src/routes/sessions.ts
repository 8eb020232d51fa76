/**
 * Inspector API (PROTOCOL §5 and issue 5): what every call is doing now and what
 * happened in a finished one. Sessions live in this process are shown from their
 * running machine; everything else from the stored snapshot and event log.
 *
 * - `GET /v1/sessions` lists sessions (filters, `limit`/`offset`, total in `x-total-count`)
 * - `GET /v1/sessions/{tenant}/{call_id}` is one session with its timeline and a summary
 * - `GET /v1/sessions/stats` counts what became of each tenant's holds
 * - `GET /v1/sessions/machine` describes the session machine's state tree, for drawing it
 * - `GET /v1/sessions/feed` (WebSocket) forwards every `SessionFeedEvent` as it happens
 *
 * All answer 401 without the admin token. The feed alone also takes it as `?token=`,
 * because browsers cannot set headers on a WebSocket.
 * @see ../../../shared/PROTOCOL.md §5
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import WebSocket from 'ws';
import { z } from 'zod';
import { callSessionMachine } from '../../machines/call-session.machine.js';
import { CALL_SESSION_MACHINE_VERSION, type CallSessionContext, type HoldView } from '../../machines/call-session.types.js';
import type { Broker } from '../broker.js';
import { BrokerError } from '../errors.js';
import type { SessionFeedEvent } from '../sessions/session-feed.js';
import type { InspectedHold } from '../store/inspector-queries.js';
import { sessionOutcomes, sessionStatuses, type SessionEventRecord, type SessionRecord } from '../sessions/ports.js';
import { isoIn, wireAppointment, wireHold } from '../protocol/records.js';
import { parseOr400 } from './admin.js';
import { requireAdmin } from './auth.js';

const tenantId = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1-64 characters of [A-Za-z0-9_.:-]');
const callId = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'expected 1-128 characters of [A-Za-z0-9_.:-]');
const instant = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time with offset' }).transform((value) => new Date(value));

const listQuery = z.object({
  tenant: tenantId.optional(),
  status: z.enum(sessionStatuses).optional(),
  outcome: z.enum(sessionOutcomes).optional(),
  from: instant.optional(),
  to: instant.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
const statsQuery = z.object({ tenant: tenantId.optional(), from: instant.optional(), to: instant.optional() });
const sessionParams = z.object({ tenant: tenantId, call_id: callId });
const feedQuery = z.object({ tenant: tenantId.optional() });

/** A feed subscriber that falls this far behind is closed rather than buffered without end. */
const MAX_FEED_BUFFER_BYTES = 1024 * 1024;
const FEED_TOO_SLOW = 1013;

type StoredSnapshot = { context?: Partial<CallSessionContext> } | null;

/** The session's state as the inspector shows it: live from memory when this process runs it. */
interface SessionView {
  record: SessionRecord;
  state: unknown;
  context: Partial<CallSessionContext> | null;
  connected: boolean | null;
}

export async function sessionRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  const queries = broker.inspectorQueries;
  const adminOnly = requireAdmin(broker.config.adminToken);
  const feedAuth = requireAdmin(broker.config.adminToken, { allowQueryToken: true });

  /** Time zones of the tenants one answer mentions, each looked up once. */
  function timezones() {
    const zones = new Map<string, Promise<string>>();
    return (tenant: string) => {
      let zone = zones.get(tenant);
      if (!zone) {
        zone = broker.catalogs.get(tenant).then((catalog) => catalog?.timezone ?? 'UTC');
        zones.set(tenant, zone);
      }
      return zone;
    };
  }

  function view(record: SessionRecord): SessionView {
    const live = record.status === 'live' ? broker.sessions.inspect(record.tenantId, record.callId) : null;
    if (live) return { record, state: live.state, context: live.context, connected: live.connected };
    return { record, state: record.state, context: (record.snapshot as StoredSnapshot)?.context ?? null, connected: record.status === 'live' ? null : false };
  }

  app.get('/v1/sessions', { onRequest: adminOnly }, async (request, reply) => {
    const query = parseOr400(listQuery, request.query);
    const filter = { tenantId: query.tenant, status: query.status, outcome: query.outcome, startedFrom: query.from, startedBefore: query.to };
    const [records, total] = await Promise.all([
      broker.sessionStore.listSessions({ ...filter, limit: query.limit, offset: query.offset }),
      queries.countSessions(filter),
    ]);
    reply.header('x-total-count', String(total));
    const zoneOf = timezones();
    return Promise.all(records.map(async (record) => describeListed(view(record), await zoneOf(record.tenantId))));
  });

  app.get('/v1/sessions/stats', { onRequest: adminOnly }, async (request) => {
    const query = parseOr400(statsQuery, request.query);
    const rows = await queries.holdStatistics({ tenantId: query.tenant, placedFrom: query.from, placedBefore: query.to });
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
  });

  app.get('/v1/sessions/machine', { onRequest: adminOnly }, async () => ({
    id: callSessionMachine.id,
    version: CALL_SESSION_MACHINE_VERSION,
    initial: callSessionMachine.root.initial?.target[0]?.key ?? null,
    states: describeStates(callSessionMachine.root),
  }));

  app.get('/v1/sessions/:tenant/:call_id', { onRequest: adminOnly }, async (request) => {
    const params = parseOr400(sessionParams, request.params);
    const record = await broker.sessionStore.findSession(params.tenant, params.call_id);
    if (!record) throw new BrokerError('NOT_FOUND', `no session "${params.call_id}" for tenant "${params.tenant}"`);
    await broker.flushEvents();
    const [events, holds, zone] = await Promise.all([
      broker.sessionStore.events(record.id),
      queries.sessionHolds(record.id),
      timezones()(record.tenantId),
    ]);
    return describeDetail(view(record), events, holds, zone);
  });

  const validFeedQuery = async (request: FastifyRequest) => void parseOr400(feedQuery, request.query);
  // `logLevel: warn` keeps the request lines, whose URL carries the admin token, out of the log.
  app.get('/v1/sessions/feed', { websocket: true, logLevel: 'warn', onRequest: feedAuth, preValidation: validFeedQuery }, (socket, request) => {
    const { tenant } = parseOr400(feedQuery, request.query);
    const send = (message: Record<string, unknown>) => {
      if (socket.readyState !== WebSocket.OPEN) return;
      if (socket.bufferedAmount > MAX_FEED_BUFFER_BYTES) {
        socket.close(FEED_TOO_SLOW, 'feed subscriber too slow');
        return;
      }
      socket.send(JSON.stringify(message));
    };
    const unsubscribe = broker.feed.subscribe((event) => {
      if (!tenant || event.tenant === tenant) send(feedMessage(event));
    });
    socket.on('close', unsubscribe);
    socket.on('error', unsubscribe);
    // Tells the subscriber that every later change reaches it, and the server's clock for countdowns.
    send({ type: 'feed.ready', tenant: tenant ?? null, at: new Date().toISOString() });
  });
}

/** A feed event as the inspector reads it: holds and appointments as on the wire. */
function feedMessage(event: SessionFeedEvent): Record<string, unknown> {
  switch (event.type) {
    case 'hold.changed': {
      const { status, hold, timezone, ...rest } = event;
      return { ...rest, hold: wireHold(hold, status, timezone) };
    }
    case 'appointment.changed': {
      const { status, appointment, timezone, ...rest } = event;
      return { ...rest, appointment: { ...wireAppointment(appointment, timezone), status } };
    }
    default:
      return event;
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

function describeDetail(session: SessionView, events: SessionEventRecord[], holds: InspectedHold[], zone: string) {
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

function summarize(record: SessionRecord, events: SessionEventRecord[], toolNames: Map<string, string>, holds: InspectedHold[]) {
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
