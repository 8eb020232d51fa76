/**
 * The report of one simulation run: the JSON object `--json` prints (snake_case, like
 * the wire), the table printed otherwise, the live progress line, and the invariants
 * that decide the exit code.
 */
import type { AuditResult, DoubleBooking } from './audit.js';
import { summarize, type LatencySummary } from './stats.js';
import type { SalonSource } from './salon.js';
import type { BookedAppointment, Incident, RunTally } from './tally.js';

export interface SimulationReport {
  scenario: string;
  mode: 'callhold' | 'naive';
  /** The salon driven, and where the harness learned it from (the --catalog file, the admin read-back, or the runtime tools). */
  salon: { name: string; learned_from: SalonSource; services: number; staff: number };
  seed: number;
  date: string;
  url: string;
  callers: number;
  concurrency: number;
  hold_ttl_s: number;
  time_scale: number;
  duration_s: number;
  calls: number;
  completed_calls: number;
  /** Callers that played their script to the end with no unexpected tool error. */
  completed_scripts: number;
  /** Whether the scenario's callers book: a run where none did then proves nothing and fails. */
  expects_bookings: boolean;
  bookings: number;
  /** null when appointments could not be read back (no admin token). */
  double_bookings: number | null;
  missing_bookings: number | null;
  appointments_read_back: number | null;
  /** Overlapping appointments of one staff member that could not be judged (phases unknown); null without read-back. */
  overlaps_unjudged: number | null;
  told_available: number;
  told_available_then_refused: number;
  refused_after_silence: number;
  refusals: number;
  refusals_without_alternatives: number;
  declined: number;
  gave_up: number;
  holds: { placed: number; converted: number; expired: number; lost: number; released: number; extended_frames: number };
  reconnects: { dropped: number; resumed: number; resumed_with_hold: number; not_resumed: number; hold_missing: number };
  outcomes: Record<string, number>;
  tool_errors: Record<string, number>;
  /** The tool errors of `tool_errors` no script expects (all but SLOT_TAKEN/NO_HOLD from a booking). */
  unexpected_tool_errors: Record<string, number>;
  failed_callers: number;
  latency_ms: Record<string, Pick<LatencySummary, 'p50' | 'p95' | 'p99' | 'max'> & { count: number }>;
  invariants: { ok: boolean; broken: string[] };
  incidents: { violations: Incident[]; failures: Incident[]; tool_errors: Incident[]; double_bookings: DoubleBooking[]; missing_bookings: BookedAppointment[] };
}

export interface ReportInput {
  scenario: string;
  salon: SimulationReport['salon'];
  expectsBookings: boolean;
  naive: boolean;
  seed: number;
  date: string;
  url: string;
  callers: number;
  concurrency: number;
  holdTtlMs: number;
  timeScale: number;
  durationMs: number;
  tally: RunTally;
  audit: AuditResult | null;
}

export function buildReport(input: ReportInput): SimulationReport {
  const { tally, audit } = input;
  const latency = Object.fromEntries(
    tally.latency.names().map((name) => {
      const { count, p50, p95, p99, max } = summarize(tally.latency.values(name));
      return [name, { p50, p95, p99, max, count }];
    }),
  );
  const report: Omit<SimulationReport, 'invariants'> = {
    scenario: input.scenario,
    mode: input.naive ? 'naive' : 'callhold',
    salon: input.salon,
    seed: input.seed,
    date: input.date,
    url: input.url,
    callers: input.callers,
    concurrency: input.concurrency,
    hold_ttl_s: input.holdTtlMs / 1000,
    time_scale: Math.round(input.timeScale * 10_000) / 10_000,
    duration_s: Math.round(input.durationMs / 100) / 10,
    calls: tally.calls,
    completed_calls: Object.values(tally.outcomes).reduce((sum, count) => sum + count, 0),
    completed_scripts: tally.completedScripts,
    expects_bookings: input.expectsBookings,
    bookings: tally.bookings.length,
    double_bookings: audit ? audit.doubleBookings.length : null,
    missing_bookings: audit ? audit.missing.length : null,
    appointments_read_back: audit ? audit.appointments : null,
    overlaps_unjudged: audit ? audit.unjudgedOverlaps : null,
    told_available: tally.toldAvailable,
    told_available_then_refused: tally.toldAvailableThenRefused,
    refused_after_silence: tally.refusedAfterSilence,
    refusals: tally.refusals,
    refusals_without_alternatives: tally.refusalsWithoutAlternatives,
    declined: tally.declined,
    gave_up: tally.gaveUp,
    holds: {
      placed: tally.holdStatuses.held.size,
      converted: tally.holdStatuses.booked.size,
      expired: tally.holdStatuses.expired.size,
      lost: tally.holdStatuses.lost.size,
      released: tally.holdStatuses.released.size,
      extended_frames: tally.extendedFrames,
    },
    reconnects: {
      dropped: tally.drops,
      resumed: tally.resumed,
      resumed_with_hold: tally.resumedWithHold,
      not_resumed: tally.notResumed,
      hold_missing: tally.holdMissingAfterResume,
    },
    outcomes: { ...tally.outcomes },
    tool_errors: { ...tally.toolErrors },
    unexpected_tool_errors: { ...tally.unexpectedToolErrors },
    failed_callers: tally.failureCount,
    latency_ms: latency,
    incidents: {
      violations: tally.violations,
      failures: tally.failures,
      tool_errors: tally.unexpectedToolErrorIncidents,
      double_bookings: audit?.doubleBookings ?? [],
      missing_bookings: audit?.missing ?? [],
    },
  };
  return { ...report, invariants: judge(report) };
}

/** The promises a run checks; any broken one makes `npm run simulate` exit non-zero. */
export function judge(report: Omit<SimulationReport, 'invariants'>): { ok: boolean; broken: string[] } {
  const broken: string[] = [];
  if (report.double_bookings) broken.push(`${report.double_bookings} double booking(s)`);
  if (report.missing_bookings) broken.push(`${report.missing_bookings} confirmed booking(s) missing from the appointments`);
  if (report.told_available_then_refused) broken.push(`${report.told_available_then_refused} caller(s) told "available" and refused although they kept talking`);
  if (report.refusals_without_alternatives) broken.push(`${report.refusals_without_alternatives} refusal(s) without alternatives`);
  if (report.reconnects.hold_missing) broken.push(`${report.reconnects.hold_missing} hold(s) missing after a resume`);
  if (report.failed_callers) broken.push(`${report.failed_callers} caller script(s) failed (timeouts, refused connections)`);
  const unexpected = Object.entries(report.unexpected_tool_errors);
  if (unexpected.length > 0) {
    const count = unexpected.reduce((sum, [, n]) => sum + n, 0);
    broken.push(`${count} unexpected tool error(s) (${unexpected.map(([code, n]) => `${code} ${n}`).join(', ')}): callers could not do their part`);
  }
  if (report.expects_bookings && report.callers > 0 && report.bookings === 0) broken.push('no caller booked, though the scenario’s callers book');
  return { ok: broken.length === 0, broken };
}

const LEARNED_FROM: Record<SalonSource, string> = { catalog: 'the --catalog file', admin: 'the admin read-back of the catalog', runtime: 'the runtime tools' };

const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - text.length));
const padStart = (text: string, width: number) => ' '.repeat(Math.max(0, width - text.length)) + text;
const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(value < 10 ? 2 : 1) : '–');

/** The human-readable summary printed at the end of a run. */
export function formatReport(report: SimulationReport): string {
  const shown = (value: number | null, must?: 0) => (value === null ? 'not checked (needs --admin-token and --tenant)' : `${value}${must === 0 ? (value === 0 ? '  ✓' : '  ✗ must be 0') : ''}`);
  const rows: Array<[string, string]> = [
    ['scenario', `${report.scenario}${report.mode === 'naive' ? ' (naive baseline: no holds)' : ''}, seed ${report.seed}, ${report.date}`],
    ['salon', `${report.salon.name}: ${report.salon.services} service(s), ${report.salon.staff} staff ${report.salon.learned_from === 'runtime' ? 'seen' : 'known'} (learned from ${LEARNED_FROM[report.salon.learned_from]})`],
    ['broker', `${report.url}, hold TTL ${report.hold_ttl_s} s, time scale ${report.time_scale}`],
    ['calls', `${report.calls} (${report.completed_calls} hung up normally, ${report.failed_callers} failed) in ${report.duration_s} s`],
    ['scripts completed', `${report.completed_scripts} of ${report.callers}${report.completed_scripts === report.callers ? '  ✓' : '  ✗'}`],
    ['bookings', `${report.bookings} (${report.gave_up} caller(s) gave up)${report.expects_bookings && report.bookings === 0 ? '  ✗ must be more than 0' : ''}`],
    ['holds', `placed ${report.holds.placed}, converted ${report.holds.converted}, expired ${report.holds.expired}, lost ${report.holds.lost}, released ${report.holds.released}`],
    ['told "available"', `${report.told_available}`],
    ['…then refused while talking', shown(report.told_available_then_refused, 0)],
    ['refused after going silent', `${report.refused_after_silence} (expected: the hold had lapsed)`],
    ['refusals', `${report.refusals}`],
    ['…without alternatives', shown(report.refusals_without_alternatives, 0)],
    ['double bookings', shown(report.double_bookings, 0)],
    ['confirmed but missing', shown(report.missing_bookings, 0)],
  ];
  if (report.reconnects.dropped > 0) {
    rows.push(['drops / resumed with hold', `${report.reconnects.dropped} / ${report.reconnects.resumed_with_hold} (hold missing: ${report.reconnects.hold_missing})`]);
  }
  if (report.overlaps_unjudged) rows.push(['overlaps not judged', `${report.overlaps_unjudged} (phases unknown to a runtime token)`]);
  if (Object.keys(report.tool_errors).length > 0) {
    const unexpected = Object.values(report.unexpected_tool_errors).reduce((sum, n) => sum + n, 0);
    rows.push(['tool errors', `${Object.entries(report.tool_errors).map(([code, count]) => `${code} ${count}`).join(', ')}${unexpected > 0 ? `  ✗ ${unexpected} unexpected` : ''}`]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `  ${pad(label, width)}  ${value}`);

  const tools = Object.keys(report.latency_ms);
  if (tools.length > 0) {
    const nameWidth = Math.max(4, ...tools.map((tool) => tool.length));
    lines.push('', `  ${pad('tool', nameWidth)}  ${['count', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'].map((head) => padStart(head, 8)).join('')}`);
    for (const tool of tools) {
      const row = report.latency_ms[tool]!;
      lines.push(`  ${pad(tool, nameWidth)}  ${[String(row.count), ms(row.p50), ms(row.p95), ms(row.p99), ms(row.max)].map((cell) => padStart(cell, 8)).join('')}`);
    }
  }
  lines.push('', report.invariants.ok ? '  all invariants held' : `  INVARIANTS BROKEN: ${report.invariants.broken.join('; ')}`);
  for (const incident of [...report.incidents.violations, ...report.incidents.failures, ...report.incidents.tool_errors].slice(0, 5)) {
    lines.push(`    ${incident.call_id}: ${incident.what}`);
  }
  for (const double of report.incidents.double_bookings.slice(0, 5)) {
    lines.push(`    double booking of ${double.staff}: ${double.first.service} ${double.first.start} and ${double.second.service} ${double.second.start}`);
  }
  return lines.join('\n');
}

/** One line for a terminal, rewritten in place while the run goes. */
export function progressLine(scenario: string, callers: number, tally: RunTally): string {
  const check = tally.latency.values('check_availability');
  const p99 = check.length > 0 ? summarize(check).p99 : Number.NaN;
  return (
    `${scenario}: ${tally.finished}/${callers} calls done, ${tally.live} live · ${tally.bookings.length} booked · ` +
    `${tally.toldAvailable} told available, ${tally.refusals} refusals · check p99 ${ms(p99)} ms` +
    (tally.toldAvailableThenRefused + tally.refusalsWithoutAlternatives + tally.failureCount > 0
      ? ` · ✗ ${tally.toldAvailableThenRefused} told-then-refused, ${tally.refusalsWithoutAlternatives} without alternatives, ${tally.failureCount} failed`
      : '')
  );
}
