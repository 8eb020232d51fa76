/**
 * What the session host needs from the world, and what it offers a transport. The host
 * works in machine events only: each transport (our WebSocket, an integration's socket or
 * webhook) decodes its format into `CallSessionEvent`s, and implements `SessionPort` to
 * encode what the session emits. Storage implements `SessionStore` (src/store/).
 */
import type { CallSessionEmitted, HoldView, SessionOutcome } from '../../machines/call-session.types.js';
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
}

/** One entry of a session's event log: a frame or request of its runtime, in or out. */
export interface SessionEventRecord {
  sessionId: string;
  at: Date;
  direction: 'in' | 'out';
  type: string;
  payload: unknown;
  toolCallId: string | null;
  latencyMs: number | null;
}

/** The first answer to a tool call id, replayed when the id comes again. */
export interface ToolAnswerRecord {
  sessionId: string;
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

/** Sessions, their snapshots, event log and tool answers in storage. */
export interface SessionStore {
  /** The session for (tenant, call), created live if there is none yet. */
  openSession(tenantId: string, callId: string, machineVersion: number, runtime?: SessionRuntime): Promise<{ session: SessionRecord; created: boolean }>;
  liveSessions(): Promise<SessionRecord[]>;
  saveSession(sessionId: string, changes: SessionChanges): Promise<void>;
  /** Stores answers first, then events: a failed event write cannot take answers with it. */
  appendLog(events: SessionEventRecord[], answers: ToolAnswerRecord[]): Promise<void>;
  /** Keeps the first answer to each id. */
  saveToolAnswers(answers: ToolAnswerRecord[]): Promise<void>;
  findToolResult(sessionId: string, toolCallId: string): Promise<unknown | null>;
}
