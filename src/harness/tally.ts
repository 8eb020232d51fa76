/**
 * What the simulated callers observed, counted as they go. One tally per run; callers
 * write to it, the progress line and the final report read from it.
 */
import { LatencyRecorder } from './stats.js';

export interface BookedAppointment {
  id: string;
  service: string;
  staff: string;
  start: string;
  end: string;
  callId: string;
}

export interface Incident {
  call_id: string;
  what: string;
  detail?: unknown;
}

const MAX_KEPT_INCIDENTS = 20;

export class RunTally {
  readonly latency = new LatencyRecorder();
  calls = 0;
  live = 0;
  finished = 0;
  checks = 0;
  toldAvailable = 0;
  toldUnavailable = 0;
  bookAttempts = 0;
  readonly bookings: BookedAppointment[] = [];
  refusals = 0;
  refusalsWithoutAlternatives = 0;
  toldAvailableThenRefused = 0;
  /** Refused after going quiet for longer than the hold is promised to last: expected, not a fault. */
  refusedAfterSilence = 0;
  declined = 0;
  gaveUp = 0;
  drops = 0;
  resumed = 0;
  resumedWithHold = 0;
  notResumed = 0;
  holdMissingAfterResume = 0;
  readonly holdStatuses = { held: new Set<string>(), booked: new Set<string>(), expired: new Set<string>(), lost: new Set<string>(), released: new Set<string>() };
  extendedFrames = 0;
  readonly toolErrors: Record<string, number> = {};
  /** Tool errors no script expects (all but a refused booking), by code: callers that could not do their part. */
  readonly unexpectedToolErrors: Record<string, number> = {};
  readonly unexpectedToolErrorIncidents: Incident[] = [];
  /** Callers that played their script to the end with no unexpected tool error. */
  completedScripts = 0;
  readonly outcomes: Record<string, number> = {};
  readonly failures: Incident[] = [];
  failureCount = 0;
  readonly violations: Incident[] = [];

  holdSeen(status: string, holdId: string): void {
    if (status === 'extended') {
      this.extendedFrames++;
      return;
    }
    const set = this.holdStatuses[status as keyof RunTally['holdStatuses']];
    set?.add(holdId);
  }

  toolError(code: string): void {
    this.toolErrors[code] = (this.toolErrors[code] ?? 0) + 1;
  }

  unexpectedToolError(code: string, incident: Incident): void {
    this.unexpectedToolErrors[code] = (this.unexpectedToolErrors[code] ?? 0) + 1;
    if (this.unexpectedToolErrorIncidents.length < MAX_KEPT_INCIDENTS) this.unexpectedToolErrorIncidents.push(incident);
  }

  outcome(outcome: string): void {
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
  }

  /** A caller script that could not go on (a timeout, a refused connection, an unexpected frame). */
  failure(incident: Incident): void {
    this.failureCount++;
    if (this.failures.length < MAX_KEPT_INCIDENTS) this.failures.push(incident);
  }

  /** A broken promise of the broker, kept for the report (the counters say how many). */
  violation(incident: Incident): void {
    if (this.violations.length < MAX_KEPT_INCIDENTS) this.violations.push(incident);
  }
}
