/**
 * The live sessions of this broker, keyed by (tenant, call_id): one machine actor per
 * call and the port currently carrying it (if any). It knows no wire format: a transport
 * decodes its own format into `CallSessionEvent`s for `dispatch`, and implements
 * `SessionPort` to encode what the session emits. The same host serves our WebSocket,
 * an integration's socket or webhook, and tests.
 *
 * Lifecycle: `open` (create, resume, restore from storage, or take over from another
 * port or another instance), `dispatch`, `disconnect` (the grace period starts), `recover`
 * (after a restart), `adopt` (sessions of an instance that died), `shutdown` (leave every
 * call resumable).
 *
 * Several instances (PROTOCOL §3): the instance holding a call's newest connection owns
 * its session. Opening a session another instance owns takes it over in storage (a new
 * epoch), and every write for a session is fenced by the epoch this instance holds
 * (`SessionOwnership`), so an instance that lost a session cannot write for it again. The
 * old owner lets its copy go, and closes its connection as taken over, as soon as it
 * learns of the loss: from the takeover notice (`ownerMoved`), from a refused write, or
 * from its lease check (`checkOwnership`); correctness never waits for any of them. Holds and appointments are in the database
 * before their answer goes out, and a restored session takes the database's word for
 * them, so an answer given is never forgotten; snapshots are written in the background by
 * each session's `SnapshotWriter` (those of one moment in one statement), and the end of a
 * call is told only once its final snapshot is stored.
 */
import type { FastifyBaseLogger } from 'fastify';
import { createActor, type Actor, type SnapshotFrom } from 'xstate';
import { CALL_SESSION_MACHINE_VERSION, type CallSessionContext, type CallSessionEmitted, type CallSessionEvent, type ToolResponse } from '../../machines/call-session.types.js';
import type { CatalogCache } from '../booking/catalog-cache.js';
import type { AppointmentRecord, BookingStore } from '../booking/ports.js';
import { BrokerError } from '../errors.js';
import { languageOf, messages } from '../language/index.js';
import { withinDeadline } from '../services/deadline.js';
import { appointmentView, holdView } from '../tools/machine-views.js';
import type { EventLog } from './event-log.js';
import type { SessionFence } from '../booking/ports.js';
import type { SessionOwnership } from './ownership.js';
import type { SessionEventRecord, SessionOpening, SessionPort, SessionRecord, SessionStore } from './ports.js';
import type { SessionFeed } from './session-feed.js';
import { SESSION_SYSTEM_ID, type ProvidedSessionMachine } from './session-machine.js';
import { SnapshotWriter, SnapshotWrites } from './snapshot-writer.js';
import type { ToolAnswers } from './tool-answers.js';

type SessionActor = Actor<ProvidedSessionMachine>;
type SessionSnapshot = SnapshotFrom<ProvidedSessionMachine>;

interface LiveSession {
  key: string;
  sessionId: string;
  /** The ownership epoch this instance holds the session at. */
  epoch: number;
  tenantId: string;
  callId: string;
  runtime: SessionRecord['runtime'];
  timezone: string;
  actor: SessionActor;
  port: SessionPort | null;
  snapshots: SnapshotWriter;
  logger: FastifyBaseLogger;
  /** The snapshot last seen, and its state value as published to the feed. */
  lastSnapshot: SessionSnapshot | null;
  lastValue: string | null;
  ended: boolean;
  /** Another instance owns the session now: this copy writes and tells nothing more. */
  takenOver: boolean;
}

export interface SessionHostOptions {
  machine: ProvidedSessionMachine;
  sessionStore: SessionStore;
  catalogs: CatalogCache;
  bookingStore: BookingStore;
  eventLog: EventLog;
  answers: ToolAnswers;
  ownership: SessionOwnership;
  feed: SessionFeed;
  logger: FastifyBaseLogger;
  clock: () => number;
  holdTtlMs: number;
  resumeGraceMs: number;
  toolTimeoutMs: number;
}

/** What a transport holds once its session is open: enough to route its events. */
export interface SessionHandle {
  readonly key: string;
  readonly tenantId: string;
  readonly sessionId: string;
  /** The epoch the session was opened at: what its transport records is fenced by it. */
  readonly epoch: number;
  readonly timezone: string;
}

/** One entry of a session's event log, as a transport records its own frames or requests. */
export type LoggedEntry = Pick<SessionEventRecord, 'direction' | 'type' | 'payload'> & Partial<Pick<SessionEventRecord, 'toolCallId' | 'latencyMs'>>;

/** Sessions adopted per lease check: a dead instance's calls move over in bounded steps. */
const ADOPT_BATCH = 500;

/** What an adopted session without a snapshot is opened with: its runtime has not said anything yet. */
const UNKNOWN_OPENING: SessionOpening = { callerPhone: null, locale: null };

/** How long an open waits for an earlier open of the same call before it goes ahead anyway. */
const EARLIER_OPEN_WAIT_MS = 500;

const keyOf = (tenantId: string, callId: string) => `${tenantId}\u0000${callId}`;

export class SessionHost {
  private readonly live = new Map<string, LiveSession>();
  private readonly bySessionId = new Map<string, LiveSession>();
  private readonly opening = new Map<string, Promise<unknown>>();
  /** Shut down: sessions adopted by a lease beat still under way are left to storage. */
  private closed = false;
  private readonly snapshotWrites: SnapshotWrites;

  constructor(private readonly options: SessionHostOptions) {
    this.snapshotWrites = new SnapshotWrites(options.sessionStore, options.ownership, options.logger);
    options.ownership.whenLost((fence) => this.lostAt(fence));
  }

  get size(): number {
    return this.live.size;
  }

  has(tenantId: string, callId: string): boolean {
    return this.live.has(keyOf(tenantId, callId));
  }

  /**
   * Opens, resumes or takes over the session for (tenant, call) on `port`, and tells the
   * port it is ready. Opens of one call are serialized. Returns null when the call is over
   * already (the port was told `session.ended` and closed).
   * @throws BrokerError `UNAVAILABLE` when storage fails or does not answer within the tool timeout
   */
  async open(tenantId: string, callId: string, port: SessionPort, opening: SessionOpening): Promise<SessionHandle | null> {
    const key = keyOf(tenantId, callId);
    const previous = this.opening.get(key) ?? Promise.resolve();
    // An earlier open stuck on storage (a query lost in a cut may never settle) must not
    // block this one for ever: wait for it at most the deadline; attach re-checks the map.
    const earlierSettled = withinDeadline(previous, EARLIER_OPEN_WAIT_MS, 'an earlier open').catch(() => {});
    const attempt = earlierSettled.then(() => this.attach(key, tenantId, callId, port, opening));
    this.opening.set(key, attempt);
    try {
      // Answered within the tool timeout like any tool (PROTOCOL §3–4: never a hang while
      // storage is down); an open that completes later leaves the session ready for a retry.
      return await withinDeadline(attempt, this.options.toolTimeoutMs, 'storage');
    } catch (error) {
      throw error instanceof BrokerError ? error : new BrokerError('UNAVAILABLE', 'the session could not be opened: storage is unavailable', { cause: error });
    } finally {
      if (this.opening.get(key) === attempt) this.opening.delete(key);
    }
  }

  /** Hands an event from the session's runtime to its machine. */
  dispatch(handle: SessionHandle, event: CallSessionEvent): void {
    const session = this.live.get(handle.key);
    if (session && !session.ended) session.actor.send(event);
  }

  /** Records a frame or request of the session's runtime in its event log. */
  log(handle: SessionHandle, entry: LoggedEntry): void {
    this.options.eventLog.record({
      tenantId: handle.tenantId,
      sessionId: handle.sessionId,
      epoch: handle.epoch,
      at: new Date(this.options.clock()),
      toolCallId: null,
      latencyMs: null,
      ...entry,
    });
  }

  /**
   * Tells the live session of the call that booked `appointment` that the salon cancelled
   * or moved it; the machine takes it only if it is the session's own appointment.
   */
  appointmentChanged(change: { tenantId: string; callId: string | null; appointment: AppointmentRecord }): void {
    if (!change.callId) return;
    const session = this.live.get(keyOf(change.tenantId, change.callId));
    if (!session || session.ended) return;
    const status = change.appointment.status === 'cancelled' ? 'cancelled' : 'booked';
    session.actor.send({ type: 'appointment.changed', status, appointment: appointmentView(change.appointment) });
  }

  /** The port went away without ending the call: the grace period starts. */
  disconnect(handle: SessionHandle, port: SessionPort): void {
    const session = this.live.get(handle.key);
    if (!session || session.port !== port || session.ended) return;
    session.port = null;
    session.actor.send({ type: 'connection.lost', at: this.options.clock() });
  }

  /**
   * Brings back the sessions this instance owned when it stopped, and those of instances
   * that are gone; each waits for its runtime for the grace period. Returns their records.
   */
  recover(): Promise<SessionRecord[]> {
    return this.adoptFromStorage(true);
  }

  /** Takes over the live sessions of instances whose lease has run out (killed, or paused). */
  adopt(): Promise<SessionRecord[]> {
    return this.adoptFromStorage(false);
  }

  /** Another instance took the session over at `epoch` (its notice): let this copy go. */
  ownerMoved(sessionId: string, epoch: number): void {
    const session = this.bySessionId.get(sessionId);
    if (session && session.epoch < epoch) this.letGo(session);
  }

  /** Asks storage which sessions this instance still owns, and lets go of the others. */
  async checkOwnership(): Promise<number> {
    const held = [...this.live.values()].map(({ tenantId, sessionId, epoch }) => ({ tenantId, sessionId, epoch }));
    const lost = await this.options.sessionStore.lostSessions(held);
    for (const sessionId of lost) this.lostAt(held.find((fence) => fence.sessionId === sessionId)!);
    return lost.length;
  }

  /** Stops every actor without ending its call, so a restarted broker can resume them all. */
  async shutdown(): Promise<void> {
    this.closed = true;
    const writes: Promise<void>[] = [];
    for (const session of this.live.values()) {
      writes.push(session.snapshots.write());
      session.port?.close('restarting');
      session.port = null;
    }
    await Promise.all(writes);
    for (const session of this.live.values()) {
      session.actor.stop();
      this.forget(session);
    }
    this.live.clear();
    await this.options.eventLog.flush();
  }

  /** The first answer to a tool call id of a call, also of a call that is over; null when there is none. */
  async storedAnswer(tenantId: string, callId: string, toolCallId: string): Promise<ToolResponse | null> {
    const record = await this.options.sessionStore.findSession(tenantId, callId);
    return record ? ((await this.options.sessionStore.findToolResult(tenantId, record.id, toolCallId)) as ToolResponse | null) : null;
  }

  /** The in-memory view of a live session, for the inspector. */
  inspect(tenantId: string, callId: string): { state: unknown; context: CallSessionContext; connected: boolean } | null {
    const session = this.live.get(keyOf(tenantId, callId));
    if (!session) return null;
    const snapshot = session.actor.getSnapshot();
    return { state: snapshot.value, context: snapshot.context, connected: session.port !== null };
  }

  private async attach(key: string, tenantId: string, callId: string, port: SessionPort, opening: SessionOpening): Promise<SessionHandle | null> {
    let session = this.live.get(key);
    let resumed = true;
    if (!session) {
      const catalog = await this.options.catalogs.get(tenantId);
      const timezone = catalog?.timezone ?? 'UTC';
      const opener = { instanceId: this.options.ownership.instanceId, heldEpoch: null };
      const { session: record, created } = await this.options.sessionStore.openSession(tenantId, callId, CALL_SESSION_MACHINE_VERSION, opener, opening.runtime);
      if (record.status === 'ended') {
        const appointment = (record.snapshot as SessionSnapshot | null)?.context?.appointment ?? null;
        port.emitted({ type: 'session.ended', outcome: record.outcome ?? 'no_booking', appointment }, timezone);
        port.close('ended');
        return null;
      }
      // An earlier open of this call that was given up on may have finished meanwhile.
      const meanwhile = this.live.get(key);
      if (meanwhile) {
        // This open took the session over from that one in storage: it now holds the newer epoch.
        session = meanwhile;
        if (record.ownerEpoch > session.epoch) {
          session.epoch = record.ownerEpoch;
          this.options.ownership.own(session.tenantId, session.sessionId, session.epoch);
        }
      } else {
        const revived = created ? null : await this.revive(key, record, opening);
        session = revived ?? this.create(key, record, opening, timezone, created);
        resumed = revived !== null;
      }
    }
    if (session.port && session.port !== port) session.port.close('taken_over');
    session.port = port;
    session.actor.send({ type: 'connection.opened', at: this.options.clock() });
    const snapshot = session.actor.getSnapshot();
    port.ready({ callId, resumed, state: snapshot.value, now: this.options.clock(), timezone: session.timezone, hold: snapshot.context.hold });
    this.options.feed.publish({ type: 'session.started', tenant: tenantId, call_id: callId, runtime: session.runtime, resumed, at: new Date(this.options.clock()).toISOString() });
    return { key, tenantId: session.tenantId, sessionId: session.sessionId, epoch: session.epoch, timezone: session.timezone };
  }

  /** `fresh`: the session record was created just now, so no earlier answers of it exist anywhere. */
  private create(key: string, record: SessionRecord, opening: SessionOpening, timezone: string, fresh: boolean): LiveSession {
    return this.track(key, record, createActor(this.options.machine, { systemId: SESSION_SYSTEM_ID, input: this.inputOf(record, opening) }), timezone, fresh);
  }

  private inputOf(record: SessionRecord, opening: SessionOpening) {
    return {
      sessionId: record.id,
      tenantId: record.tenantId,
      callId: record.callId,
      locale: opening.locale,
      callerPhone: opening.callerPhone,
      holdTtlMs: this.options.holdTtlMs,
      resumeGraceMs: opening.resumeGraceMs ?? this.options.resumeGraceMs,
      toolTimeoutMs: this.options.toolTimeoutMs,
      unavailableResponse: unavailableResponse(opening.locale),
    };
  }

  /**
   * Restores a persisted session, re-arming its timers from the deadlines in its context,
   * and gives it storage's word on its hold and appointment. A session whose snapshot is
   * not written yet (its instance died, or was taken over, the moment it opened) or is of
   * another machine version starts afresh from `opening` (an adopted one, with no runtime
   * yet, from nothing: no locale or caller number), but with storage's hold and
   * appointment all the same, so it is resumed or ends as dropped like any other.
   */
  private async revive(key: string, record: SessionRecord, opening: SessionOpening = UNKNOWN_OPENING): Promise<LiveSession | null> {
    const usable = Boolean(record.snapshot) && record.machineVersion === CALL_SESSION_MACHINE_VERSION;
    if (!usable) this.options.logger.warn({ tenant: record.tenantId, call_id: record.callId }, 'live session without a usable snapshot: starting it afresh with storage\'s hold');
    const catalog = await this.options.catalogs.get(record.tenantId);
    // Shut down meanwhile, or a newer copy came here meanwhile (an open while this was adopted).
    if (this.closed || (this.live.get(key)?.epoch ?? 0) >= record.ownerEpoch) return this.live.get(key) ?? null;
    const persisted = record.snapshot as SessionSnapshot;
    const actor = usable
      ? createActor(this.options.machine, { systemId: SESSION_SYSTEM_ID, snapshot: persisted, input: persisted.context })
      : createActor(this.options.machine, { systemId: SESSION_SYSTEM_ID, input: this.inputOf(record, opening) });
    const session = this.track(key, record, actor, catalog?.timezone ?? 'UTC', false);
    const holdings = await this.options.bookingStore.sessionHoldings(record.tenantId, record.id);
    actor.send({
      type: 'session.restored',
      at: this.options.clock(),
      hold: holdings.hold ? holdView(holdings.hold) : null,
      appointment: holdings.appointment ? appointmentView(holdings.appointment) : null,
    });
    return session;
  }

  private track(key: string, record: SessionRecord, actor: SessionActor, timezone: string, fresh: boolean): LiveSession {
    const older = this.live.get(key);
    if (older) this.letGo(older);
    const logger = this.options.logger.child({ tenant: record.tenantId, call_id: record.callId });
    const session: LiveSession = {
      key,
      sessionId: record.id,
      epoch: record.ownerEpoch,
      tenantId: record.tenantId,
      callId: record.callId,
      runtime: record.runtime,
      timezone,
      actor,
      port: null,
      // The fence reads the session, not `record`: a closure over the record would keep the whole row alive with the call.
      snapshots: new SnapshotWriter(() => ({ tenantId: session.tenantId, sessionId: session.sessionId, epoch: session.epoch }), actor, this.snapshotWrites),
      logger,
      lastSnapshot: null,
      lastValue: null,
      ended: false,
      takenOver: false,
    };
    this.live.set(key, session);
    this.bySessionId.set(record.id, session);
    this.options.ownership.own(record.tenantId, record.id, record.ownerEpoch);
    this.options.answers.track(record.id, fresh);
    // Listeners passed as arguments, not named in an object literal: under tsx a named
    // function is a dictionary-mode object (see CallSocket), and xstate binds a copy of each.
    actor.on('*', (event) => this.onEmitted(session, event));
    actor.subscribe(
      (snapshot) => this.onSnapshot(session, snapshot),
      (error) => logger.error({ err: error }, 'session machine failed'),
    );
    actor.start();
    return session;
  }

  private async adoptFromStorage(own: boolean): Promise<SessionRecord[]> {
    const { sessionStore, ownership } = this.options;
    const revived: SessionRecord[] = [];
    for (;;) {
      const records = await sessionStore.adoptSessions(ownership.instanceId, own, ADOPT_BATCH);
      for (const record of records) {
        // Owned by this instance in storage, so adopted again by whoever serves the database next.
        if (this.closed) return revived;
        const key = keyOf(record.tenantId, record.callId);
        try {
          const session = await this.revive(key, record);
          if (session?.epoch === record.ownerEpoch) revived.push(record);
        } catch (error) {
          // Owned here in storage without a copy: it comes back when its runtime reconnects
          // (anywhere), or with this instance's next restart.
          this.options.logger.error({ err: error, tenant: record.tenantId, call_id: record.callId }, 'restoring an adopted session failed');
        }
      }
      // At start every session is brought back; a beat adopts one batch, so it renews on time.
      if (!own || records.length < ADOPT_BATCH) return revived;
    }
  }

  /** A write under `fence` was refused, or storage says the session has moved on from it. */
  private lostAt(fence: SessionFence): void {
    const session = this.bySessionId.get(fence.sessionId);
    if (session && session.epoch === fence.epoch) this.letGo(session);
  }

  /**
   * Another instance owns the session: its connection here is closed as taken over (4000
   * on our WebSocket) and the copy stops without writing anything (its machine is stopped,
   * not ended, and its fence is gone, so any write still in flight is refused).
   */
  private letGo(session: LiveSession): void {
    session.takenOver = true;
    session.ended = true;
    session.logger.info({ epoch: session.epoch }, 'session taken over by another broker instance');
    if (this.live.get(session.key) === session) this.live.delete(session.key);
    this.forget(session);
    session.port?.close('taken_over');
    session.port = null;
    session.actor.stop();
  }

  private forget(session: LiveSession): void {
    if (this.bySessionId.get(session.sessionId) === session) this.bySessionId.delete(session.sessionId);
    this.options.ownership.disown(session.sessionId, session.epoch);
    this.options.answers.forget(session.sessionId);
  }

  private onEmitted(session: LiveSession, event: CallSessionEmitted): void {
    const at = new Date(this.options.clock()).toISOString();
    const base = { tenant: session.tenantId, call_id: session.callId, at };
    switch (event.type) {
      case 'tool.answered': {
        const { ok, error } = event.response;
        session.port?.emitted(event, session.timezone);
        this.options.feed.publish({ ...base, type: 'tool.answered', tool: event.call.name, id: event.call.id, ok, latency_ms: event.latencyMs, ...(error ? { error_code: error.code } : {}) });
        return;
      }
      case 'hold.updated':
        session.port?.emitted(event, session.timezone);
        this.options.feed.publish({ ...base, type: 'hold.changed', status: event.status, hold: event.hold, timezone: session.timezone });
        return;
      case 'appointment.updated':
        session.port?.emitted(event, session.timezone);
        this.options.feed.publish({ ...base, type: 'appointment.changed', status: event.status, appointment: event.appointment, timezone: session.timezone });
        return;
      case 'session.ended':
        // Told once the final snapshot is stored, when the machine is done (see onSnapshot).
        session.ended = true;
        return;
    }
  }

  /** The machine is done: store it as ended, then tell the port, so whoever hears of the end reads it ended. */
  private async finish(session: LiveSession, context: CallSessionContext): Promise<void> {
    const ended = { type: 'session.ended' as const, outcome: context.outcome ?? 'no_booking', appointment: context.appointment };
    await session.snapshots.write();
    this.options.ownership.disown(session.sessionId, session.epoch);
    // Taken over while ending (the end was not stored): the new owner's word on the call counts.
    if (session.takenOver || session.snapshots.takenOver) {
      session.port?.close('taken_over');
      session.port = null;
      return;
    }
    session.port?.emitted(ended, session.timezone);
    session.port?.close('ended');
    session.port = null;
    this.options.feed.publish({ type: 'session.ended', tenant: session.tenantId, call_id: session.callId, outcome: ended.outcome, at: new Date(this.options.clock()).toISOString() });
  }

  /** Publishes state changes and lets the snapshot writer see each change; forgets a session once it is done. */
  private onSnapshot(session: LiveSession, snapshot: SessionSnapshot): void {
    // xstate tells observers of every event, also of one that changed nothing (a transcript, say): it keeps the same snapshot then.
    if (snapshot === session.lastSnapshot) return;
    session.lastSnapshot = snapshot;
    const value = JSON.stringify(snapshot.value);
    if (session.lastValue !== value) {
      session.lastValue = value;
      this.options.feed.publish({ type: 'state.changed', tenant: session.tenantId, call_id: session.callId, state: snapshot.value, at: new Date(this.options.clock()).toISOString() });
    }
    if (snapshot.status === 'done') {
      this.live.delete(session.key);
      this.bySessionId.delete(session.sessionId);
      this.options.answers.forget(session.sessionId);
      void this.finish(session, snapshot.context);
      return;
    }
    session.snapshots.observe(snapshot.context);
  }
}

/** The answer to a tool that storage could not serve within PROTOCOL §4's 2 s, in the call's language. */
export function unavailableResponse(locale: string | null) {
  const message = messages.unavailableStorage(languageOf(locale ?? undefined));
  return { ok: false, result: { message }, error: { code: 'UNAVAILABLE', message: 'storage did not answer in time' } };
}
