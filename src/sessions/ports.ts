/**
 * What the session host needs from the world, and what it offers a transport. The host
 * works in machine events only: each transport (our WebSocket, an integration's socket or
 * webhook) decodes its format into `CallSessionEvent`s, and implements `SessionPort` to
 * encode what the session emits. Storage implements `SessionStore` (src/store/).
 */
import type { CallSessionEmitted, HoldView, SessionOutcome } from '../../machines/call-session.types.js';
import type { SessionFence } from '../booking/ports.js';
import type { SessionRuntime } from '../integrations/settings.js';

/** Why the host closes a session's connection; each transport maps it to its own close code. */
export type CloseReason = 'ended' | 'restarting' | 'taken_over';

/** What a connection is told when its session opens or resumes. */
export interface SessionReady {
  callId: string;
  resumed: boolean;
  state: unknown;
  now: number;
  timezone: string;
  hold: HoldView | null;
}

/** The carrier of one session's connection, as the host sees it. */
export interface SessionPort {
  ready(ready: SessionReady): void;
  /** Something the session emitted, with the tenant's time zone for encoding instants. */
  emitted(event: CallSessionEmitted, timezone: string): void;
  close(reason: CloseReason): void;
}

/** What the runtime says about a call when it opens it. */
export interface SessionOpening {
  callerPhone: string | null;
  locale: string | null;
  /** Which runtime carries the call, stored with a new session for the inspector; `callhold` if not given. */
  runtime?: SessionRuntime;
  /**
   * How long the session waits for its runtime once its port is gone, instead of
   * `RESUME_GRACE_S`: an HTTP runtime's port is gone between requests, so its idle limit
   * (`HTTP_SESSION_IDLE_S`) is this grace period. Kept in the machine's context, so it
   * survives a restart.
   */
  resumeGraceMs?: number;
}

export const sessionStatuses = ['live', 'ended'] as const;
export type SessionStatus = (typeof sessionStatuses)[number];
export const sessionOutcomes = ['booked', 'no_booking', 'dropped'] as const satisfies readonly SessionOutcome[];
export type { SessionOutcome };

export interface SessionRecord {
  id: string;
  tenantId: string;
  callId: string;
  status: SessionStatus;
  outcome: SessionOutcome | null;
  state: unknown;
  startedAt: Date;
  endedAt: Date | null;
  snapshot: unknown;
  machineVersion: number;
  runtime: SessionRuntime;
  /** The instance that owns the session, and the epoch of that ownership (PROTOCOL §3). */
  ownerInstance: string | null;
  ownerEpoch: number;
}

/**
 * One entry of a session's event log: a frame or request of its runtime, in or out.
 * `epoch`: the ownership it was recorded under; storage drops it when the session has
 * another owner by then (PROTOCOL §3: an instance that lost a session never writes for it).
 */
export interface SessionEventRecord {
  /** The session's tenant: its rows are keyed by (tenant, session) (drizzle/0012). */
  tenantId: string;
  sessionId: string;
  epoch: number;
  at: Date;
  direction: 'in' | 'out';
  type: string;
  payload: unknown;
  toolCallId: string | null;
  latencyMs: number | null;
}

/** An entry of the event log as stored, read for one session: the epoch it was recorded under is not kept. */
export type StoredSessionEvent = Omit<SessionEventRecord, 'epoch' | 'tenantId'>;

/** The first answer to a tool call id, replayed when the id comes again. */
export interface ToolAnswerRecord {
  /** As for `SessionEventRecord`. */
  tenantId: string;
  sessionId: string;
  /** As for `SessionEventRecord`. */
  epoch: number;
  toolCallId: string;
  name: string;
  response: unknown;
}

export interface SessionChanges {
  state?: unknown;
  snapshot?: unknown;
  status?: SessionStatus;
  outcome?: SessionOutcome | null;
  ended?: boolean;
}

export interface SessionWrite {
  fence: SessionFence;
  changes: SessionChanges;
}

/** Who opens a session: this instance, and the epoch it holds the session at already, if any. */
export interface SessionOpener {
  instanceId: string;
  heldEpoch: number | null;
}

/**
 * Sessions, their snapshots, event log and tool answers in storage, and which broker
 * instance owns each live session (PROTOCOL §3). Every write for a session is fenced by
 * the ownership epoch it is made under.
 */
export interface SessionStore {
  /**
   * The session for (tenant, call), created live and owned by `opener` if there is none
   * yet. A live one that `opener` does not hold at `heldEpoch` is taken over (a new epoch,
   * the old owner is told); an ended one is returned as it is.
   */
  openSession(tenantId: string, callId: string, machineVersion: number, opener: SessionOpener, runtime?: SessionRuntime): Promise<{ session: SessionRecord; created: boolean }>;
  findSession(tenantId: string, callId: string): Promise<SessionRecord | null>;
  /**
   * Takes over the live sessions no live instance serves (their owner's lease ran out, or
   * they have none) and, with `own`, this instance's own from before a restart.
   */
  adoptSessions(instanceId: string, own: boolean, limit: number): Promise<SessionRecord[]>;
  /** The instance is alive for `leaseMs` more; the first renewal registers it. */
  renewLease(instanceId: string, leaseMs: number): Promise<void>;
  /** The instance stops: its sessions may be adopted at once. */
  endLease(instanceId: string): Promise<void>;
  /** Which of these fences no longer hold: the session has another owner, or is gone. */
  lostSessions(held: SessionFence[]): Promise<string[]>;
  /**
   * Stores the changes of several sessions at once, each under its fence; returns the
   * sessions no longer owned at their fence's epoch (nothing of theirs is written).
   * At most one write per session.
   */
  saveSessions(writes: SessionWrite[]): Promise<string[]>;
  /** Stores answers and events together; the event log writes a batch refused for its data again row by row. */
  appendLog(events: SessionEventRecord[], answers: ToolAnswerRecord[]): Promise<void>;
  /** Keeps the first answer to each id. */
  saveToolAnswers(answers: ToolAnswerRecord[]): Promise<void>;
  findToolResult(tenantId: string, sessionId: string, toolCallId: string): Promise<unknown | null>;
}
