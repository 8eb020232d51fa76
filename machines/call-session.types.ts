/**
 * The data a call session machine works with. Plain, serializable values only (times are
 * epoch milliseconds), so a persisted snapshot survives a restart.
 */
import { z } from 'zod';

/** Bumped whenever the shape of context or the state tree changes incompatibly. */
export const CALL_SESSION_MACHINE_VERSION = 1;

export const holdStatusSchema = z.enum(['held', 'extended', 'released', 'expired', 'booked', 'lost']);
export type HoldUpdateStatus = z.infer<typeof holdStatusSchema>;

export interface HoldView {
  id: string;
  serviceId: string;
  staffId: string;
  start: number;
  end: number;
  placedAt: number;
  expiresAt: number;
  maxExpiresAt: number;
}

export interface AppointmentView {
  id: string;
  serviceId: string;
  staffId: string;
  start: number;
  end: number;
}

/** What the caller last asked about, resolved to catalog ids and a local date and time. */
export interface SlotRequestView {
  serviceId: string;
  date: string;
  time: string;
  staffId: string | null;
}

export interface AlternativeView {
  start: number;
  end: number;
  staffId: string;
}

export interface ToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  receivedAt: number;
}

export interface ToolResponse {
  ok: boolean;
  result: Record<string, unknown>;
  error?: { code: string; message: string };
}

/** How a tool changed the session's hold, if it did. */
export type HoldChange = { kind: 'placed'; hold: HoldView } | { kind: 'ended'; status: 'released' | 'booked' | 'lost' | 'expired' };

export interface ToolOutcome {
  response: ToolResponse;
  hold?: HoldChange;
  appointment?: AppointmentView;
  /** An appointment this tool cancelled: if it was the call's own, the call has none any more. */
  cancelledAppointmentId?: string;
  /**
   * The change it reports was made under the tool call's id as idempotency key, so the
   * same call again finds that hold or appointment in storage instead of making another:
   * its answer need not be stored before it goes out (see src/sessions/tool-answers.ts).
   */
  keyedByCall?: true;
  /** Replaces the remembered request; `null` keeps the old one. */
  request?: SlotRequestView | null;
  alternatives?: AlternativeView[];
  finishedAt: number;
}

/** The session as a tool sees it: who is calling, and what the session holds and remembers. */
export interface SessionView {
  sessionId: string;
  tenantId: string;
  callId: string;
  locale: string | null;
  callerPhone: string | null;
  hold: HoldView | null;
  request: SlotRequestView | null;
}

/** Result of asking storage to end a hold whose deadline has passed. */
/** What the hold actors work on: the session's hold (its id is what storage fences the write by). */
export interface HoldOfSession<HoldId = string> {
  sessionId: string;
  holdId: HoldId;
}

export type ExpiryCheck = { status: 'held'; expiresAt: number } | { status: 'expired' | 'lost' | 'released' | 'booked' };
export type ExtensionResult = { extended: true; expiresAt: number } | { extended: false; status: 'expired' | 'lost' | 'released' | 'booked' };

export type SessionOutcome = 'booked' | 'no_booking' | 'dropped';

export interface CallSessionInput {
  sessionId: string;
  tenantId: string;
  callId: string;
  locale: string | null;
  callerPhone: string | null;
  holdTtlMs: number;
  resumeGraceMs: number;
  /** A tool that takes longer is answered `UNAVAILABLE` (PROTOCOL §4: within 2 s). */
  toolTimeoutMs: number;
  /** The answer given when storage fails or is too slow, already in the call's language. */
  unavailableResponse: ToolResponse;
  /** How long the end of a call waits for tools answered `UNAVAILABLE` to settle (the database was slow, not down). */
  lateResultWaitMs?: number;
}

export interface ToolLatency {
  id: string;
  name: string;
  latencyMs: number;
}

export interface CallSessionContext extends CallSessionInput {
  hold: HoldView | null;
  request: SlotRequestView | null;
  alternatives: AlternativeView[];
  appointment: AppointmentView | null;
  outcome: SessionOutcome | null;
  callerSpeaking: boolean;
  disconnectedAt: number | null;
  toolQueue: ToolCall[];
  toolLatencies: ToolLatency[];
  /** `session.end` came while tools were still running or queued: the call ends once they are answered. */
  endRequested?: boolean;
  /**
   * Tool calls answered `UNAVAILABLE` on the timeout whose run may still commit: the session
   * waits for their word (`tool.settledLate`), up to `lateResultWaitMs`, before it ends.
   */
  lateToolIds?: string[];
  /** When the wait for late results gives up; null while none is awaited. */
  lateWaitUntil?: number | null;
  /** The grace period ran out while late results were awaited: the call is dropped once they are in. */
  dropDue?: boolean;
}

/** Events the transport (or a test) sends in. Every event carries the instant it happened. */
export type CallSessionEvent =
  | { type: 'caller.activity'; speaking: boolean; at: number }
  | { type: 'caller.transcript'; at: number }
  | { type: 'tool.requested'; call: ToolCall }
  | { type: 'session.end'; at: number }
  | { type: 'connection.lost'; at: number }
  | { type: 'connection.opened'; at: number }
  /** After a restart: storage's word on the session's live hold and appointment, which wins over the snapshot. */
  | { type: 'session.restored'; at: number; hold: HoldView | null; appointment: AppointmentView | null }
  /**
   * A tool answered `UNAVAILABLE` finished after all: its outcome (null if it failed) and the
   * hold the session had when the call was asked, so a hold placed since is not overridden.
   */
  | { type: 'tool.settledLate'; call: ToolCall; outcome: ToolOutcome | null; holdIdWhenAsked: string | null }
  /** The salon cancelled or moved an appointment (PROTOCOL §7); the session takes it if the appointment is its own. */
  | { type: 'appointment.changed'; status: 'booked' | 'cancelled'; appointment: AppointmentView }
  | { type: 'hold.placed'; hold: HoldView }
  | { type: 'hold.ended'; status: 'released' | 'booked' | 'lost' | 'expired' }
  /** Raised after every tool settles (and its hold events), so ending sees the tool's changes. */
  | { type: 'tools.settled' };

/** Events the machine emits for whoever carries the session (a socket, an adapter, a test). */
export type CallSessionEmitted =
  | { type: 'tool.answered'; call: ToolCall; response: ToolResponse; latencyMs: number }
  | { type: 'hold.updated'; status: HoldUpdateStatus; hold: HoldView }
  /** The session's appointment changed outside a tool answer: a booking answered `UNAVAILABLE` that committed after all, or the salon cancelled or moved it. */
  | { type: 'appointment.updated'; status: 'booked' | 'cancelled'; appointment: AppointmentView }
  | { type: 'session.ended'; outcome: SessionOutcome; appointment: AppointmentView | null };
