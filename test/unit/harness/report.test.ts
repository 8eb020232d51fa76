import { describe, expect, it } from 'vitest';
import { findDoubleBookings, type ListedAppointment } from '../../../src/harness/audit.js';
import { HarnessCatalog } from '../../../src/harness/catalog.js';
import { buildReport, formatReport, type ReportInput } from '../../../src/harness/report.js';
import { CatalogSalon } from '../../../src/harness/salon.js';
import { RunTally } from '../../../src/harness/tally.js';

function input(tally: RunTally, audit: ReportInput['audit'] = { dates: ['2026-12-04'], appointments: 0, doubleBookings: [], unjudgedOverlaps: 0, missing: [] }, expectsBookings = false): ReportInput {
  return { scenario: 'race', salon: { name: 'Salon', learned_from: 'runtime', services: 2, staff: 1 }, expectsBookings, naive: false, seed: 1, date: '2026-12-04', url: 'http://127.0.0.1:1', callers: 2, concurrency: 2, holdTtlMs: 60_000, timeScale: 1, durationMs: 1234, tally, audit };
}

describe('the simulation report', () => {
  it('has the fields --json promises, with latency per tool', () => {
    const tally = new RunTally();
    tally.calls = 2;
    tally.latency.record('check_availability', 2);
    tally.latency.record('check_availability', 4);
    tally.holdSeen('held', 'h1');
    tally.holdSeen('held', 'h1');
    tally.holdSeen('booked', 'h1');
    tally.holdSeen('extended', 'h1');
    tally.bookings.push({ id: 'a1', service: 'dauerwelle', staff: 'fabian', start: '2026-12-04T10:00:00+01:00', end: '2026-12-04T11:45:00+01:00', callId: 'c1' });
    const report = buildReport(input(tally));
    expect(report).toMatchObject({
      calls: 2,
      bookings: 1,
      double_bookings: 0,
      told_available_then_refused: 0,
      refusals_without_alternatives: 0,
      holds: { placed: 1, converted: 1, expired: 0, lost: 0, extended_frames: 1 },
      latency_ms: { check_availability: { p50: 2, p95: 4, p99: 4, max: 4, count: 2 } },
      invariants: { ok: true, broken: [] },
      duration_s: 1.2,
    });
    expect(formatReport(report)).toContain('all invariants held');
  });

  it('breaks the invariants on a double booking, a told-then-refused caller, a refusal without alternatives and a failed caller', () => {
    const tally = new RunTally();
    tally.toldAvailableThenRefused = 1;
    tally.refusalsWithoutAlternatives = 2;
    tally.failure({ call_id: 'c9', what: 'timeout' });
    const double = { staff: 'fabian', first: { id: 'a', service: 'x', start: 's', end: 'e', call_id: null }, second: { id: 'b', service: 'x', start: 's', end: 'e', call_id: null } };
    const report = buildReport(input(tally, { dates: [], appointments: 2, doubleBookings: [double], unjudgedOverlaps: 0, missing: [] }));
    expect(report.invariants.ok).toBe(false);
    expect(report.invariants.broken).toHaveLength(4);
    expect(formatReport(report)).toContain('INVARIANTS BROKEN');
  });

  it('counts completed scripts in the JSON and the table', () => {
    const tally = new RunTally();
    tally.calls = 2;
    tally.completedScripts = 2;
    tally.bookings.push({ id: 'a1', service: 'balayage', staff: 'mei', start: 's', end: 'e', callId: 'c1' });
    const report = buildReport(input(tally, null, true));
    expect(report).toMatchObject({ completed_scripts: 2, expects_bookings: true, salon: { learned_from: 'runtime' }, invariants: { ok: true } });
    expect(formatReport(report)).toMatch(/scripts completed\s+2 of 2 {2}✓/);
    expect(formatReport(report)).toMatch(/salon\s+Salon: 2 service\(s\), 1 staff seen \(learned from the runtime tools\)/);
  });

  it('fails a run whose callers could not do their part: unexpected tool errors, and no booking where the callers book', () => {
    const tally = new RunTally();
    tally.calls = 2;
    for (const call of ['c1', 'c2']) {
      tally.toolError('UNKNOWN_SERVICE');
      tally.unexpectedToolError('UNKNOWN_SERVICE', { call_id: call, what: 'check_availability answered UNKNOWN_SERVICE' });
    }
    tally.toolError('SLOT_TAKEN');
    const report = buildReport(input(tally, null, true));
    expect(report.completed_scripts).toBe(0);
    expect(report.tool_errors).toEqual({ UNKNOWN_SERVICE: 2, SLOT_TAKEN: 1 });
    expect(report.unexpected_tool_errors).toEqual({ UNKNOWN_SERVICE: 2 });
    expect(report.invariants.ok).toBe(false);
    expect(report.invariants.broken).toEqual([
      '2 unexpected tool error(s) (UNKNOWN_SERVICE 2): callers could not do their part',
      'no caller booked, though the scenario’s callers book',
    ]);
    const table = formatReport(report);
    expect(table).toMatch(/scripts completed\s+0 of 2 {2}✗/);
    expect(table).toContain('c1: check_availability answered UNKNOWN_SERVICE');
    // A scenario whose callers do not book may end with none.
    expect(buildReport(input(new RunTally(), null, false)).invariants).toEqual({ ok: true, broken: [] });
  });

  it('reports double bookings as unchecked (null) without an admin token, which alone breaks nothing', () => {
    const report = buildReport(input(new RunTally(), null));
    expect(report.double_bookings).toBeNull();
    expect(report.invariants.ok).toBe(true);
    expect(formatReport(report)).toContain('not checked');
  });
});

describe('finding double bookings', () => {
  const catalog = new CatalogSalon(HarnessCatalog.demo(), 'catalog');
  const appointment = (id: string, service: string, staff: string, start: string, end: string, status = 'booked'): ListedAppointment => ({ id, service, staff, start, end, status });

  it('accepts an appointment inside another one’s processing gap', () => {
    // Dauerwelle 10:00: busy 10:00–10:30 and 11:15–11:45; a Herrenschnitt 10:30–11:00 fits the gap.
    const list = [
      appointment('a', 'dauerwelle', 'fabian', '2026-12-04T10:00:00+01:00', '2026-12-04T11:45:00+01:00'),
      appointment('b', 'herrenschnitt', 'fabian', '2026-12-04T10:30:00+01:00', '2026-12-04T11:00:00+01:00'),
    ];
    expect(findDoubleBookings(list, catalog)).toEqual({ doubleBookings: [], unjudged: 0 });
  });

  it('finds overlapping busy phases and identical starts of one staff member', () => {
    const list = [
      appointment('a', 'dauerwelle', 'fabian', '2026-12-04T10:00:00+01:00', '2026-12-04T11:45:00+01:00'),
      appointment('b', 'herrenschnitt', 'fabian', '2026-12-04T11:30:00+01:00', '2026-12-04T12:00:00+01:00'),
      appointment('c', 'dauerwelle', 'lena', '2026-12-04T10:00:00+01:00', '2026-12-04T11:45:00+01:00'),
      appointment('d', 'dauerwelle', 'lena', '2026-12-04T10:00:00+01:00', '2026-12-04T11:45:00+01:00'),
    ];
    const found = findDoubleBookings(list, catalog).doubleBookings;
    expect(found.map((double) => [double.staff, double.first.id, double.second.id])).toEqual([
      ['fabian', 'a', 'b'],
      ['lena', 'c', 'd'],
    ]);
  });

  it('ignores cancelled appointments and other staff', () => {
    const list = [
      appointment('a', 'herrenschnitt', 'fabian', '2026-12-04T10:00:00+01:00', '2026-12-04T10:30:00+01:00'),
      appointment('b', 'herrenschnitt', 'fabian', '2026-12-04T10:00:00+01:00', '2026-12-04T10:30:00+01:00', 'cancelled'),
      appointment('c', 'herrenschnitt', 'aylin', '2026-12-04T10:00:00+01:00', '2026-12-04T10:30:00+01:00'),
    ];
    expect(findDoubleBookings(list, catalog)).toEqual({ doubleBookings: [], unjudged: 0 });
  });
});
