/**
 * The simulated callers against a salon that shares nothing with the demo (services,
 * staff, hours, zone, slot step), driven the way a new user drives it: the CLI with a URL
 * and a runtime token alone. Every built-in scenario must run, have every caller complete
 * its script, book, and pass; a salon that cannot host a scenario must be refused before
 * any caller dials, naming what it lacks.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulationReport } from '../../src/harness/report.js';
import { builtInScenarios } from '../../src/harness/scenario.js';
import { ADMIN_TOKEN, startBroker, type TestBroker } from '../fixtures/broker.js';
import { kiriCatalogBody } from '../fixtures/catalogs.js';
import { drivers } from '../fixtures/database.js';

const KIRI_SERVICES = kiriCatalogBody.services.map((service) => service.id);
const KIRI_STAFF = kiriCatalogBody.staff.map((member) => member.id);
/** The demo race as it was written before scenarios said what they need: the salon has neither. */
const DEMO_NAMED_RACE = {
  name: 'demo-race',
  callers: 4,
  roles: [{ name: 'racer', steps: [{ do: 'connect' }, { do: 'check', slot: { service: 'Dauerwelle', time: '10:00', staff: 'Fabian' }, sync: true }, { do: 'book', when: 'offered' }, { do: 'hangup' }] }],
};
/** Fewer callers than the defaults where the defaults only add load, not coverage. */
const CALLERS: Record<string, string[]> = { race: ['--callers', '10'], 'busy-day': ['--callers', '12'] };

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run simulate -- …` as a user types it; asynchronous, since the broker lives in this process. */
function simulate(args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'simulate', '--', ...args], { cwd: process.cwd(), env: { ...process.env, DATA_DIR: '/nonexistent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function parseReport(run: CliRun): SimulationReport {
  expect(run.code, run.stderr).not.toBeNull();
  try {
    return JSON.parse(run.stdout) as SimulationReport;
  } catch {
    throw new Error(`no JSON report (exit ${run.code}): ${run.stdout.slice(0, 500)} ${run.stderr.slice(0, 2000)}`);
  }
}

const weekdayOf = (date: string) => DateTime.fromISO(date).toFormat('ccc').toLowerCase();

describe.each(drivers)('the simulated callers against a salon of its own (%s)', (driver) => {
  let broker: TestBroker;
  let token: string;
  let folder: string;
  beforeAll(async () => {
    broker = await startBroker(driver, { HOLD_TTL_S: '2', HOLD_MAX_S: '20' });
    token = await broker.tenant('kiri', kiriCatalogBody);
    folder = await mkdtemp(join(tmpdir(), 'callhold-harness-'));
  });
  afterAll(async () => {
    await broker?.close();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  const bookedOn = async (date: string) => {
    const listed = await broker.admin('GET', `/v1/admin/tenants/kiri/appointments?date=${date}`);
    expect(listed.status).toBe(200);
    return (listed.body as Array<{ service: string; staff: string; start: string; status: string; call_id: string | null }>).filter((appointment) => appointment.status === 'booked');
  };

  it.each(Object.keys(builtInScenarios))('runs the built-in "%s" with a runtime token alone, every caller completing its script and booking in this salon', async (name) => {
    const run = await simulate(['--url', broker.url, '--token', token, '--scenario', name, '--seed', '5', '--json', ...(CALLERS[name] ?? [])]);
    const report = parseReport(run);
    expect(run.code, JSON.stringify(report.invariants)).toBe(0);
    expect(report.invariants).toEqual({ ok: true, broken: [] });
    expect(report.salon).toMatchObject({ name: 'Kiri Hair Lab', learned_from: 'runtime', services: 4 });
    expect(report.hold_ttl_s).toBe(2);
    expect(['wed', 'sun']).toContain(weekdayOf(report.date));
    expect(report.completed_scripts).toBe(report.callers);
    expect(report.unexpected_tool_errors).toEqual({});
    expect(report.bookings).toBeGreaterThan(0);
    // Read back as the salon sees it: the callers' bookings are there, of this salon's services and staff.
    const ours = (await bookedOn(report.date)).filter((appointment) => appointment.call_id?.includes(`-${name}-`));
    expect(ours.length).toBeGreaterThan(0);
    for (const appointment of ours) {
      expect(KIRI_SERVICES).toContain(appointment.service);
      expect(KIRI_STAFF).toContain(appointment.staff);
    }
    if (name === 'race') {
      // Everyone raced for the longest phased service at its first start of the day; one caller won exactly that slot.
      const first = weekdayOf(report.date) === 'wed' ? '06:30' : '07:20';
      const won = ours.filter((appointment) => appointment.service === 'balayage' && DateTime.fromISO(appointment.start, { setZone: true }).toFormat('HH:mm') === first);
      expect(won).toHaveLength(1);
      expect(report.refusals).toBeGreaterThan(0);
    }
  }, 90_000);

  it('with an admin token, uses the catalog read back when the broker has it and the runtime tools when it answers 404, and finds no double booking', async () => {
    const readBack = await broker.admin('GET', '/v1/admin/tenants/kiri');
    const run = await simulate(['--url', broker.url, '--tenant', 'kiri', '--admin-token', ADMIN_TOKEN, '--scenario', 'race', '--callers', '8', '--seed', '9', '--json']);
    const report = parseReport(run);
    expect(run.code, JSON.stringify(report.invariants)).toBe(0);
    expect(report.salon.learned_from).toBe(readBack.status === 200 ? 'admin' : 'runtime');
    expect(report.double_bookings).toBe(0);
    expect(report.missing_bookings).toBe(0);
    expect(report.appointments_read_back).toBeGreaterThanOrEqual(report.bookings);
    expect(report.completed_scripts).toBe(8);
  }, 90_000);

  it('refuses a scenario naming a service and a staff member the salon lacks before any caller dials, naming both', async () => {
    const path = join(folder, 'demo-race.json');
    await writeFile(path, JSON.stringify(DEMO_NAMED_RACE));
    const run = await simulate(['--url', broker.url, '--token', token, '--scenario', path]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/cannot host scenario "demo-race"/);
    expect(run.stderr).toMatch(/no service "Dauerwelle" \(it offers: Balayage, Scalp Treatment, Beard Trim, Kids Cut\)/);
    expect(run.stderr).toMatch(/no staff "Fabian"/);
    expect(run.stdout).toBe('');
    const sessions = await broker.admin('GET', '/v1/sessions?tenant=kiri');
    expect(sessions.status).toBe(200);
    expect((sessions.body as Array<{ call_id: string }>).filter((session) => session.call_id.includes('-demo-race-'))).toEqual([]);
  }, 60_000);

  it('refuses every built-in scenario against a salon with no open time, saying so', async () => {
    const closedToken = await broker.tenant('kiri-closed', { ...kiriCatalogBody, name: 'Kiri (closed)', opening_hours: {}, staff: kiriCatalogBody.staff.map(({ opening_hours: _own, ...member }) => member) });
    for (const name of Object.keys(builtInScenarios)) {
      const run = await simulate(['--url', broker.url, '--token', closedToken, '--scenario', name]);
      expect(run.code, name).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`cannot host scenario "${name}": no free time for any service within two weeks from \\d{4}-\\d{2}-\\d{2} \\(services: Balayage, Scalp Treatment, Beard Trim, Kids Cut\\)`));
      expect(run.stdout).toBe('');
    }
    const listed = await broker.admin('GET', '/v1/sessions?tenant=kiri-closed');
    expect(listed.body.length).toBeGreaterThan(0);
    expect((listed.body as Array<{ call_id: string }>).every((session) => session.call_id.endsWith('-probe'))).toBe(true);
  }, 90_000);
});
