/**
 * `npm run simulate -- --runtime openai`: the harness plays OpenAI Realtime over SIP (signed
 * webhooks, the stand-in Realtime service, function calls on the broker's sideband) against
 * a real broker pointed at that stand-in. The same promises hold as over our WebSocket,
 * and the broker never asks for a response while one is running.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareOpenAiRuntime, type OpenAiRuntime } from '../../src/harness/openai-runtime.js';
import { builtInScenarios, parseScenario } from '../../src/harness/scenario.js';
import { runSimulation } from '../../src/harness/simulate.js';
import { ADMIN_TOKEN, startBroker, type TestBroker } from '../fixtures/broker.js';
import { upcoming } from '../fixtures/dates.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the simulated caller harness over OpenAI Realtime', () => {
  let broker: TestBroker;
  let token: string;
  let port: number;
  let runtime: OpenAiRuntime;

  beforeAll(async () => {
    port = await freePort();
    broker = await startBroker('pglite', {
      HOLD_TTL_S: '2',
      HOLD_MAX_S: '20',
      RESUME_GRACE_S: '5',
      OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
      OPENAI_REALTIME_URL: `ws://127.0.0.1:${port}/v1/realtime`,
    });
    token = await broker.tenant('sonnenschein');
    runtime = await prepareOpenAiRuntime({ url: broker.url, tenant: 'sonnenschein', adminToken: ADMIN_TOKEN, port, locale: 'de-DE', runId: 'test' });
  });
  afterAll(async () => {
    await runtime?.close();
    await broker?.close();
  });

  it('runs a race and drops with redials through the sideband, keeping every promise', async () => {
    const base = { url: broker.url, token, tenant: 'sonnenschein', adminToken: ADMIN_TOKEN, holdTtlMs: 2000, holdMaxMs: 20_000, seed: 3, dial: runtime.dial.bind(runtime) };
    const race = await runSimulation({ ...base, scenario: parseScenario(builtInScenarios.race), callers: 6, date: upcoming('fri') });
    const dropper = await runSimulation({ ...base, scenario: parseScenario(builtInScenarios.dropper), callers: 3, date: upcoming('sat') });
    for (const report of [race, dropper]) {
      expect(report.failed_callers, JSON.stringify(report.incidents.failures)).toBe(0);
      expect(report.double_bookings).toBe(0);
      expect(report.told_available_then_refused).toBe(0);
      expect(report.invariants).toEqual({ ok: true, broken: [] });
      expect(report.bookings).toBeGreaterThan(0);
    }
    expect(runtime.violations()).toBe(0);
    // The settings the harness gave the tenant are its own, and it refuses to replace a tenant's real ones.
    await expect(prepareOpenAiRuntime({ url: broker.url, tenant: 'sonnenschein', adminToken: ADMIN_TOKEN, port: await freePort(), locale: 'de-DE', runId: 'again' })).rejects.toThrow(/already/);
  });
});
