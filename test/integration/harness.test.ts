/**
 * The simulated caller harness against a real broker on PGlite with short holds: a race
 * for one slot and a short busy day keep every promise the harness checks. Invariants
 * only; the speed of PGlite is not what this test is about.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInScenarios, parseScenario } from '../../src/harness/scenario.js';
import { runSimulation, type SimulationOptions } from '../../src/harness/simulate.js';
import type { SimulationReport } from '../../src/harness/report.js';
import { UnhostableScenarioError } from '../../src/harness/learn.js';
import { ADMIN_TOKEN, startBroker, type TestBroker } from '../fixtures/broker.js';
import { demoCatalogBody, kiriCatalogBody } from '../fixtures/catalogs.js';
import { upcoming } from '../fixtures/dates.js';

function expectPromisesKept(report: SimulationReport) {
  expect(report.failed_callers, JSON.stringify(report.incidents.failures)).toBe(0);
  expect(report.double_bookings, JSON.stringify(report.incidents.double_bookings)).toBe(0);
  expect(report.missing_bookings).toBe(0);
  expect(report.told_available_then_refused, JSON.stringify(report.incidents.violations)).toBe(0);
  expect(report.refusals_without_alternatives, JSON.stringify(report.incidents.violations)).toBe(0);
  expect(report.unexpected_tool_errors, JSON.stringify(report.incidents.tool_errors)).toEqual({});
  expect(report.completed_scripts).toBe(report.callers);
  expect(report.invariants).toEqual({ ok: true, broken: [] });
}

describe('the simulated caller harness', () => {
  let broker: TestBroker;
  let base: Omit<SimulationOptions, 'scenario'>;
  beforeAll(async () => {
    broker = await startBroker('pglite', { HOLD_TTL_S: '2', HOLD_MAX_S: '20' });
    const token = await broker.tenant('sonnenschein');
    base = { url: broker.url, token, tenant: 'sonnenschein', adminToken: ADMIN_TOKEN, holdTtlMs: 2000, holdMaxMs: 20_000, seed: 7 };
  });
  afterAll(() => broker.close());

  it('runs a race for one slot: every refusal carries alternatives, callers book those, nobody is double booked', async () => {
    const report = await runSimulation({ ...base, scenario: parseScenario(builtInScenarios.race), callers: 8, date: upcoming('fri') });
    expectPromisesKept(report);
    expect(report.calls).toBe(8);
    expect(report.bookings).toBeGreaterThan(0);
    expect(report.refusals).toBeGreaterThan(0);
    expect(report.appointments_read_back).toBeGreaterThanOrEqual(report.bookings);
    expect(report.latency_ms.check_availability!.count).toBeGreaterThanOrEqual(8);
  });

  it('books a short busy day of random services and times with indecisive callers among them', async () => {
    const report = await runSimulation({ ...base, scenario: parseScenario(builtInScenarios['busy-day']), callers: 14, concurrency: 7, date: upcoming('sat') });
    expectPromisesKept(report);
    expect(report.calls).toBe(14);
    expect(report.bookings).toBeGreaterThan(0);
    expect(report.holds.placed).toBeGreaterThanOrEqual(report.holds.converted);
  });

  it('learns the hold TTL from a probe hold when it is not given, and lets silent callers lose their holds without calling that a broken promise', async () => {
    const { holdTtlMs: _ignored, ...withoutTtl } = base;
    const report = await runSimulation({ ...withoutTtl, scenario: parseScenario(builtInScenarios.silent), callers: 2, date: upcoming('thu') });
    expectPromisesKept(report);
    expect(report.hold_ttl_s).toBe(2);
    // The sleeper's hold ends by its own expiry, or as lost when the rival's claim reclaims it first.
    expect(report.holds.expired + report.holds.lost).toBeGreaterThanOrEqual(1);
    expect(report.bookings).toBeGreaterThanOrEqual(1);
  });

  it('takes a --catalog as an override of what it would learn, and refuses one that names services the salon does not list', async () => {
    const report = await runSimulation({ ...base, scenario: parseScenario(builtInScenarios.happy), catalog: demoCatalogBody, date: upcoming('tue') });
    expectPromisesKept(report);
    expect(report.salon).toMatchObject({ name: 'Salon Sonnenschein', learned_from: 'catalog', services: 4, staff: 3 });
    expect(report.completed_scripts).toBe(1);
    const refused = runSimulation({ ...base, scenario: parseScenario(builtInScenarios.happy), catalog: kiriCatalogBody });
    await expect(refused).rejects.toThrow(UnhostableScenarioError);
    await expect(refused).rejects.toThrow(/the given --catalog names services the salon does not list: Balayage, Scalp Treatment, Beard Trim, Kids Cut/);
  });
});
