/**
 * The live sessions of this broker, keyed by (tenant, call_id): one machine actor per
 * call, the connection currently carrying it (if any), and the plumbing between them.
 *
 * It speaks to connections only through `SessionConnection` (send a frame, close), so the
 * same registry serves our WebSocket, a runtime adapter or a test. Snapshots are written
 * in the background when something a restart must know changes; holds and appointments are
 * in the database before their answer goes out, and a restored session takes the
 * database's word for them, so an answer given is never forgotten. Writes of one session
 * never overlap: changes made during a write collapse into the next.
 */
import type { FastifyBaseLogger } from 'fastify';
import { createActor, type Actor, type SnapshotFrom } from 'xstate';
import { CALL_SESSION_MACHINE_VERSION, type CallSessionContext, type CallSessionEmitted } from '../../machines/call-session.types.js';
import type { CatalogCache } from '../booking/catalog-cache.js';
import type { BookingStore } from '../booking/ports.js';
import { languageOf, messages } from '../language/index.js';
import type { InboundFrame, OutboundFrame } from '../protocol/call-frames.js';
import { storableText } from '../protocol/storable-text.js';
import type { DrizzleSessionStore, SessionEventRecord, SessionRecord } from '../store/session-store.js';
import { appointmentView, holdView, isoIn, wireAppointment, wireHold } from '../tools/wire.js';
import type { EventLog } from './event-log.js';
import type { SessionFeed } from './session-feed.js';
import { SESSION_SYSTEM_ID, type ProvidedSessionMachine } from './session-machine.js';
import type { ToolAnswers } from './tool-answers.js';

/** Whatever carries a session's frames: a WebSocket, an adapter's socket, a test double. */
export interface SessionConnection {
  send(frame: OutboundFrame): void;
  close(code: number, reason: string): void;
}

/** Close codes of PROTOCOL §3 and RFC 6455 that the registry uses. */
export const CloseCode = { normal: 1000, restarting: 1012, takenOver: 4000, noStart: 4001, tooSlow: 4008 } as const;

type SessionActor = Actor<ProvidedSessionMachine>;
type SessionSnapshot = SnapshotFrom<ProvidedSessionMachine>;

interface LiveSession {
  key: string;
  sessionId: string;
  tenantId: string;
  callId: string;
  timezone: string;
  actor: SessionActor;
  connection: SessionConnection | null;
  logger: FastifyBaseLogger;
  /** The state value last published to the feed. */
  lastValue: string | null;
  /** What the last snapshot write contained, to tell whether the next change must be written. */
  lastPersisted: { holdId: string | null; appointment: unknown; request: unknown; disconnectedAt: unknown } | null;
  /** A snapshot change not yet written, and the write loop taking care of it. */
  dirty: boolean;
  writing: Promise<void> | null;
  ended: boolean;
}

export interface SessionRegistryOptions {
  machine: ProvidedSessionMachine;
  sessionStore: DrizzleSessionStore;
  catalogs: CatalogCache;
  bookingStore: BookingStore;
  eventLog: EventLog;
  answers: ToolAnswers;
  feed: SessionFeed;
  logger: FastifyBaseLogger;
  clock: () => number;
  holdTtlMs: number;
  resumeGraceMs: number;
  toolTimeoutMs: number;
}

/** What the event log keeps beside a frame: its tool call and, for an answer, the latency. */
type FrameDetails = Partial<Pick<SessionEventRecord, 'toolCallId' | 'latencyMs'>>;

const UNREADABLE_LOGGED_CHARS = 2048;

export type StartFrame = Extract<InboundFrame, { type: 'session.start' }>;

/** What a connection holds after `session.start`: enough to route its frames. */
export interface SessionHandle {
  readonly key: string;
  readonly sessionId: string;
}

export class SessionRegistry {
  private readonly live = new Map<string, LiveSession>();
  private readonly starting = new Map<string, Promise<unknown>>();

  constructor(private readonly options: SessionRegistryOptions) {}

  get size(): number {
    return this.live.size;
  }

  has(tenantId: string, callId: string): boolean {
    return this.live.has(`${tenantId}\u0000${callId}`);
  }

  /**
   * Opens or resumes the session for (tenant, call) on `connection` and answers
   * `session.ready`. Returns null when the call is already over (it was answered
   * `session.ended` and closed).
   */
  async start(tenantId: string, callId: string, connection: SessionConnection, frame: StartFrame): Promise<SessionHandle | null> {
    const key = `${tenantId}\u0000${callId}`;
    const previous = this.starting.get(key) ?? Promise.resolve();
    const attempt = previous.catch(() => {}).then(() => this.attach(key, tenantId, callId, connection, frame));
    this.starting.set(key, attempt);
    try {
      return await attempt;
    } finally {
      if (this.starting.get(key) === attempt) this.starting.delete(key);
    }
  }

  /** Hands a decoded frame (other than start and ping) to the session's machine. */
  receive(handle: SessionHandle, frame: InboundFrame): void {
    const session = this.live.get(handle.key);
    if (!session || session.ended) return;
    const at = this.options.clock();
    this.logFrame(session, 'in', frame, { toolCallId: frame.type === 'tool.call' ? frame.id : null });
    switch (frame.type) {
      case 'caller.activity':
        session.actor.send({ type: 'caller.activity', speaking: frame.speaking, at });
        break;
      case 'transcript':
        if (frame.role === 'caller') session.actor.send({ type: 'caller.transcript', at });
        break;
      case 'tool.call':
        session.actor.send({ type: 'tool.requested', call: { id: frame.id, name: frame.name, arguments: frame.arguments, receivedAt: at } });
        break;
      case 'session.end':
        session.actor.send({ type: 'session.end', at });
        break;
      case 'session.start':
      case 'ping':
        break;
    }
  }

  /** Records a frame answered by the transport itself (ping, protocol errors) in the session's log. */
  note(handle: SessionHandle, direction: 'in' | 'out', frame: InboundFrame | OutboundFrame): void {
    const session = this.live.get(handle.key);
    if (session) this.logFrame(session, direction, frame);
  }

  /** Records an inbound frame that could not be read, as the text that came (cut to 2 KiB). */
  noteUnreadable(handle: SessionHandle, text: string): void {
    const session = this.live.get(handle.key);
    if (!session) return;
    this.options.eventLog.record({
      sessionId: session.sessionId,
      at: new Date(this.options.clock()),
      direction: 'in',
      type: 'unreadable',
      payload: { text: storableText(text.slice(0, UNREADABLE_LOGGED_CHARS)) },
      toolCallId: null,
      latencyMs: null,
    });
  }

  /** The connection went away without `session.end`: the grace period starts. */
  disconnect(handle: SessionHandle, connection: SessionConnection): void {
    const session = this.live.get(handle.key);
    if (!session || session.connection !== connection || session.ended) return;
    session.connection = null;
    session.actor.send({ type: 'connection.lost', at: this.options.clock() });
  }

  /** Brings back the sessions that were live when the broker stopped; each waits for its runtime for the grace period. */
  async recover(): Promise<number> {
    const records = await this.options.sessionStore.liveSessions();
    let recovered = 0;
    for (const record of records) {
      const key = `${record.tenantId}\u0000${record.callId}`;
      if (this.live.has(key)) continue;
      const session = await this.revive(key, record);
      if (session) recovered++;
    }
    return recovered;
  }

  /** Stops every actor without ending its call, so a restarted broker can resume them all. */
  async shutdown(): Promise<void> {
    for (const session of this.live.values()) {
      this.persist(session);
      session.connection?.close(CloseCode.restarting, 'broker restarting');
      session.connection = null;
    }
    await Promise.all([...this.live.values()].map((session) => session.writing));
    for (const session of this.live.values()) {
      session.actor.stop();
      this.options.answers.forget(session.sessionId);
    }
    this.live.clear();
    await this.options.eventLog.flush();
  }

  /** The in-memory view of a live session, for the inspector. */
  inspect(tenantId: string, callId: string): { state: unknown; context: CallSessionContext; connected: boolean } | null {
    const session = this.live.get(`${tenantId}\u0000${callId}`);
    if (!session) return null;
    const snapshot = session.actor.getSnapshot();
    return { state: snapshot.value, context: snapshot.context, connected: session.connection !== null };
  }

  private async attach(key: string, tenantId: string, callId: string, connection: SessionConnection, frame: StartFrame): Promise<SessionHandle | null> {
    let session = this.live.get(key);
    let resumed = true;
    if (!session) {
      const catalog = await this.options.catalogs.get(tenantId);
      const { session: record, created } = await this.options.sessionStore.openSession(tenantId, callId, CALL_SESSION_MACHINE_VERSION);
      if (record.status === 'ended') {
        this.answerEnded(record, connection, catalog?.timezone ?? 'UTC');
        return null;
      }
      const revived = created ? null : await this.revive(key, record);
      session = revived ?? this.create(key, record, frame, catalog?.timezone ?? 'UTC', created);
      resumed = revived !== null;
    }
    if (session.connection && session.connection !== connection) {
      session.connection.close(CloseCode.takenOver, 'taken over by a newer connection');
    }
    session.connection = connection;
    session.actor.send({ type: 'connection.opened', at: this.options.clock() });
    const snapshot = session.actor.getSnapshot();
    const hold = snapshot.context.hold;
    this.logFrame(session, 'in', frame);
    this.enqueue(session, {
      type: 'session.ready',
      call_id: callId,
      resumed,
      state: snapshot.value,
      now: isoIn(this.options.clock(), session.timezone),
      timezone: session.timezone,
      hold: hold ? wireHold(hold, 'held', session.timezone) : null,
    });
    this.options.feed.publish({ type: 'session.started', tenant: tenantId, call_id: callId, resumed, at: new Date(this.options.clock()).toISOString() });
    return { key, sessionId: session.sessionId };
  }

  /** `fresh`: the session record was created just now, so no earlier answers of it exist anywhere. */
  private create(key: string, record: SessionRecord, frame: StartFrame, timezone: string, fresh: boolean): LiveSession {
    const locale = frame.locale ?? null;
    const actor = createActor(this.options.machine, {
      systemId: SESSION_SYSTEM_ID,
      input: {
        sessionId: record.id,
        tenantId: record.tenantId,
        callId: record.callId,
        locale,
        callerPhone: frame.call.from_number ?? null,
        holdTtlMs: this.options.holdTtlMs,
        resumeGraceMs: this.options.resumeGraceMs,
        toolTimeoutMs: this.options.toolTimeoutMs,
        unavailableResponse: unavailableResponse(locale),
      },
    });
    return this.track(key, record, actor, timezone, fresh);
  }

  /** Restores a persisted session, re-arming its timers from the deadlines in its context. */
  private async revive(key: string, record: SessionRecord): Promise<LiveSession | null> {
    if (!record.snapshot || record.machineVersion !== CALL_SESSION_MACHINE_VERSION) {
      this.options.logger.warn({ tenant: record.tenantId, call_id: record.callId }, 'live session without a usable snapshot: starting it afresh');
      return null;
    }
    const catalog = await this.options.catalogs.get(record.tenantId);
    const persisted = record.snapshot as SessionSnapshot;
    const actor = createActor(this.options.machine, { systemId: SESSION_SYSTEM_ID, snapshot: persisted, input: persisted.context });
    const session = this.track(key, record, actor, catalog?.timezone ?? 'UTC', false);
    const holdings = await this.options.bookingStore.sessionHoldings(record.id);
    actor.send({
      type: 'session.restored',
      at: this.options.clock(),
      hold: holdings.hold ? holdView(holdings.hold) : null,
      appointment: holdings.appointment ? appointmentView(holdings.appointment) : null,
    });
    return session;
  }

  private track(key: string, record: SessionRecord, actor: SessionActor, timezone: string, fresh: boolean): LiveSession {
    const session: LiveSession = {
      key,
      sessionId: record.id,
      tenantId: record.tenantId,
      callId: record.callId,
      timezone,
      actor,
      connection: null,
      logger: this.options.logger.child({ tenant: record.tenantId, call_id: record.callId }),
      lastValue: null,
      lastPersisted: null,
      dirty: false,
      writing: null,
      ended: false,
    };
    this.live.set(key, session);
    this.options.answers.track(record.id, fresh);
    actor.on('*', (event) => this.onEmitted(session, event));
    actor.subscribe({
      next: (snapshot) => this.onSnapshot(session, snapshot),
      error: (error) => session.logger.error({ err: error }, 'session machine failed'),
    });
    actor.start();
    return session;
  }

  private onEmitted(session: LiveSession, event: CallSessionEmitted): void {
    const at = new Date(this.options.clock()).toISOString();
    const base = { tenant: session.tenantId, call_id: session.callId, at };
    switch (event.type) {
      case 'tool.answered': {
        const { ok, result, error } = event.response;
        this.enqueue(session, { type: 'tool.result', id: event.call.id, ok, result, ...(error ? { error } : {}) }, { toolCallId: event.call.id, latencyMs: event.latencyMs });
        this.options.feed.publish({ ...base, type: 'tool.answered', tool: event.call.name, id: event.call.id, ok, latency_ms: event.latencyMs, ...(error ? { error_code: error.code } : {}) });
        break;
      }
      case 'hold.updated': {
        const hold = wireHold(event.hold, event.status, session.timezone);
        this.enqueue(session, { type: 'hold.updated', hold });
        this.options.feed.publish({ ...base, type: 'hold.changed', hold });
        break;
      }
      case 'appointment.updated': {
        const appointment = { ...wireAppointment(event.appointment, session.timezone), status: event.status };
        this.enqueue(session, { type: 'appointment.updated', appointment });
        this.options.feed.publish({ ...base, type: 'appointment.changed', appointment });
        break;
      }
      case 'session.ended': {
        session.ended = true;
        const frame: OutboundFrame = {
          type: 'session.ended',
          outcome: event.outcome,
          appointment: event.appointment ? wireAppointment(event.appointment, session.timezone) : null,
        };
        // The end is answered once it is stored: the snapshot write starts when this step
        // settles, so wait for it a microtask later. Whoever reads the session next sees it ended.
        queueMicrotask(() => {
          void (session.writing ?? Promise.resolve()).then(() => {
            this.enqueue(session, frame);
            this.options.feed.publish({ ...base, type: 'session.ended', outcome: event.outcome });
          });
        });
        break;
      }
    }
  }

  /**
   * Publishes state changes and writes the snapshot when something a restart must know
   * changed: the hold (by id: a later deadline is re-read from the database on restore),
   * the appointment, what was asked, the connection, or the end. Passing states such as a
   * running tool or an extension in flight are not written.
   */
  private onSnapshot(session: LiveSession, snapshot: SessionSnapshot): void {
    const { context } = snapshot;
    const value = JSON.stringify(snapshot.value);
    const last = session.lastPersisted;
    const done = snapshot.status === 'done';
    if (session.lastValue !== value) {
      session.lastValue = value;
      this.options.feed.publish({ type: 'state.changed', tenant: session.tenantId, call_id: session.callId, state: snapshot.value, at: new Date(this.options.clock()).toISOString() });
    }
    const changed =
      !last ||
      done ||
      last.holdId !== (context.hold?.id ?? null) ||
      last.appointment !== context.appointment ||
      last.request !== context.request ||
      last.disconnectedAt !== context.disconnectedAt;
    if (changed) void this.persist(session);
    if (done) {
      this.live.delete(session.key);
      this.options.answers.forget(session.sessionId);
    }
  }

  /**
   * Writes the session's latest snapshot. While a write is in flight, further changes
   * collapse into one more write of whatever is latest then; the returned promise settles
   * once the state current at the call is stored.
   */
  private persist(session: LiveSession): Promise<void> {
    const { context } = session.actor.getSnapshot();
    session.lastPersisted = {
      holdId: context.hold?.id ?? null,
      appointment: context.appointment,
      request: context.request,
      disconnectedAt: context.disconnectedAt,
    };
    session.dirty = true;
    session.writing ??= this.writeLatest(session);
    return session.writing;
  }

  private async writeLatest(session: LiveSession): Promise<void> {
    while (session.dirty) {
      session.dirty = false;
      const snapshot = session.actor.getSnapshot();
      const done = snapshot.status === 'done';
      try {
        await this.options.sessionStore.saveSession(session.sessionId, {
          state: snapshot.value,
          snapshot: session.actor.getPersistedSnapshot(),
          ...(done ? { status: 'ended' as const, outcome: snapshot.context.outcome, ended: true } : {}),
        });
      } catch (error) {
        session.logger.error({ err: error }, 'session snapshot write failed');
      }
    }
    // Cleared in the same tick as the last dirty check, so no change can slip between them.
    session.writing = null;
  }

  private enqueue(session: LiveSession, frame: OutboundFrame, details: FrameDetails = {}): void {
    this.logFrame(session, 'out', frame, details);
    session.connection?.send(frame);
    if (frame.type === 'session.ended') {
      session.connection?.close(CloseCode.normal, 'session ended');
      session.connection = null;
    }
  }

  private answerEnded(record: SessionRecord, connection: SessionConnection, timezone: string): void {
    const appointment = (record.snapshot as SessionSnapshot | null)?.context?.appointment ?? null;
    connection.send({
      type: 'session.ended',
      outcome: record.outcome ?? 'no_booking',
      appointment: appointment ? wireAppointment(appointment, timezone) : null,
    });
    connection.close(CloseCode.normal, 'session already ended');
  }

  private logFrame(session: LiveSession, direction: 'in' | 'out', frame: InboundFrame | OutboundFrame, details: FrameDetails = {}): void {
    this.options.eventLog.record({
      sessionId: session.sessionId,
      at: new Date(this.options.clock()),
      direction,
      type: frame.type,
      payload: frame,
      toolCallId: details.toolCallId ?? null,
      latencyMs: details.latencyMs ?? null,
    });
  }

}

function unavailableResponse(locale: string | null) {
  const message = messages.unavailableStorage(languageOf(locale ?? undefined));
  return { ok: false, result: { message }, error: { code: 'UNAVAILABLE', message: 'storage did not answer in time' } };
}
