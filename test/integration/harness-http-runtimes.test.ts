/**
 * `npm run simulate -- --runtime vapi|retell|elevenlabs`: the harness plays each HTTP
 * tool-webhook runtime (PROTOCOL §6.2) against a real broker, as a user runs it: the CLI
 * with a URL, a tenant and the admin token. The race keeps every promise on every path,
 * exactly one caller wins the raced slot, the temporary settings are gone afterwards, and a
 * run without a good admin token is refused before any caller dials.
 */
import { spawn } from 'node:child_process';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulationReport } from '../../src/harness/report.js';
import { ADMIN_TOKEN, startBroker, type TestBroker } from '../fixtures/broker.js';
import { drivers } from '../fixtures/database.js';

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

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
  try {
    return JSON.parse(run.stdout) as SimulationReport;
  } catch {
    throw new Error(`no JSON report (exit ${run.code}): ${run.stdout.slice(0, 500)} ${run.stderr.slice(0, 2000)}`);
  }
}

const RUNTIMES = ['vapi', 'retell', 'elevenlabs'] as const;

describe.each(drivers)('the simulated callers over the HTTP runtimes (%s)', (driver) => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker(driver, { HOLD_TTL_S: '2', HOLD_MAX_S: '20' });
    for (const runtime of RUNTIMES) await broker.tenant(`sim-${runtime}`);
  });
  afterAll(async () => {
    await broker?.close();
  });

  it.each(RUNTIMES)('plays a race through %s: every invariant holds, exactly one caller wins the raced slot, the settings are removed', async (runtime) => {
    const tenant = `sim-${runtime}`;
    const run = await simulate(['--url', broker.url, '--admin-token', ADMIN_TOKEN, '--tenant', tenant, '--scenario', 'race', '--runtime', runtime, '--callers', '6', '--seed', '4', '--json']);
    const report = parseReport(run);
    expect(run.code, `${JSON.stringify(report.invariants)} ${JSON.stringify(report.incidents)}`).toBe(0);
    expect(report.invariants).toEqual({ ok: true, broken: [] });
    expect(report.completed_scripts).toBe(6);
    expect(report.unexpected_tool_errors).toEqual({});
    expect(report.double_bookings).toBe(0);
    expect(report.refusals).toBeGreaterThan(0);

    // The sessions were carried by that runtime, and every caller's booking is there.
    const sessions = await broker.admin('GET', `/v1/sessions?tenant=${tenant}`);
    const raced = (sessions.body as Array<{ call_id: string; runtime: string; status: string }>).filter((session) => session.call_id.includes('-race-'));
    expect(raced, JSON.stringify(sessions.body)).toHaveLength(6);
    for (const session of raced) expect(session).toMatchObject({ runtime, status: 'ended' });
    const listed = await broker.admin('GET', `/v1/admin/tenants/${tenant}/appointments?date=${report.date}`);
    const ours = (listed.body as Array<{ service: string; start: string; status: string; call_id: string | null }>).filter((appointment) => appointment.status === 'booked' && appointment.call_id?.includes('-race-'));
    // Every confirmed booking was read back (the alternatives may lie on other days).
    expect(report.missing_bookings).toBe(0);
    expect(report.appointments_read_back).toBeGreaterThanOrEqual(report.bookings);
    // Everyone asked for the day's first start of the same service at once: exactly one caller has it.
    expect(ours.length).toBeGreaterThan(0);
    const first = DateTime.min(...ours.map((appointment) => DateTime.fromISO(appointment.start)))!;
    const won = ours.filter((appointment) => DateTime.fromISO(appointment.start).equals(first));
    expect(won).toHaveLength(1);
    expect(report.holds.placed).toBe(report.bookings);

    expect((await broker.admin('GET', `/v1/admin/tenants/${tenant}/integrations/${runtime}`)).status).toBe(404);
  }, 40_000);

  it('refuses a run without a good admin token, and a tenant that has real settings of that kind, before any caller dials', async () => {
    const wrong = await simulate(['--url', broker.url, '--admin-token', 'not-the-admin-token', '--tenant', 'sim-vapi', '--runtime', 'vapi', '--scenario', 'race']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/refused the admin token \(HTTP 401\)/);
    const token = (await broker.admin('POST', '/v1/admin/tenants/sim-retell/runtime-tokens')).body.token as string;
    const absent = await simulate(['--url', broker.url, '--token', token, '--tenant', 'sim-retell', '--runtime', 'retell', '--scenario', 'race']);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toMatch(/--runtime retell needs --admin-token/);

    expect((await broker.admin('PUT', '/v1/admin/tenants/sim-elevenlabs/integrations/elevenlabs', { tool_secret: 'a-real-tool-secret', webhook_secret: 'a-real-webhook-secret' })).status).toBe(200);
    const taken = await simulate(['--url', broker.url, '--admin-token', ADMIN_TOKEN, '--tenant', 'sim-elevenlabs', '--runtime', 'elevenlabs', '--scenario', 'race']);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/has elevenlabs settings already/);
    // The real settings are left as they were.
    expect((await broker.admin('GET', '/v1/admin/tenants/sim-elevenlabs/integrations/elevenlabs')).status).toBe(200);
    const sessions = await broker.admin('GET', '/v1/sessions?tenant=sim-vapi');
    expect((sessions.body as Array<{ call_id: string; runtime: string }>).filter((session) => session.runtime === 'vapi' && !session.call_id.includes('-race-'))).toEqual([]);
  }, 30_000);
});
