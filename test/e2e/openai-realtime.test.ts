/**
 * PROTOCOL §6.1 over real sockets: a started broker, a stand-in of OpenAI's Realtime
 * service on loopback (test/fakes/openai-realtime.ts) that enforces one active response
 * at a time, and webhooks signed here with node:crypto, independently of the broker's
 * verifier. Holds are short (HOLD_TTL_S=2) so expiry and extension happen within a test.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { ADMIN_TOKEN } from '../fixtures/broker.js';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { drivers } from '../fixtures/database.js';
import { upcoming } from '../fixtures/dates.js';
import { FakeRealtime, type FakeCall } from '../fakes/openai-realtime.js';

const API_KEY = 'sk-test-openai-realtime';
const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const CALLER = '+4915112345678';
const TENANT = 'sonnenschein';

/** Standard Webhooks, written out here on purpose: not the broker's code. */
function signature(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

interface Delivery {
  id?: string;
  timestamp?: number;
  secret?: string;
  signatureHeader?: string;
  body?: string;
  tenant?: string;
}

describe.each(drivers)('OpenAI Realtime over SIP on %s', (driver) => {
  let broker: TestBroker;
  let fake: FakeRealtime;
  /** The app started over the same database by the restart test (the last one), if it ran. */
  let restarted: FastifyInstance | null = null;
  let calls = 0;
  const callId = () => `rtc_${driver}_${++calls}_${Date.now()}`;

  const incoming = (id: string, from = `"Siegfried Reu" <sip:${CALLER}@sip.example.net>;tag=8f3a`) =>
    JSON.stringify({
      object: 'event',
      id: `evt_${id}`,
      type: 'realtime.call.incoming',
      created_at: Math.floor(Date.now() / 1000),
      data: {
        call_id: id,
        sip_headers: [
          { name: 'From', value: from },
          { name: 'To', value: 'sip:+4930123456@sip.api.openai.com' },
          { name: 'Call-ID', value: `${id}@sip.example.net` },
        ],
      },
    });

  async function deliver(call: string, options: Delivery = {}) {
    const body = options.body ?? incoming(call);
    const id = options.id ?? `wh_${call}`;
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const response = await fetch(new URL(`/v1/integrations/openai/${options.tenant ?? TENANT}/webhook`, broker.url), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': options.signatureHeader ?? signature(options.secret ?? WEBHOOK_SECRET, id, timestamp, body),
      },
      body,
    });
    return { status: response.status, body: await response.json().catch(() => null) };
  }

  /** A call that rang, was accepted and whose sideband is open. */
  async function answeredCall(id = callId()): Promise<FakeCall> {
    expect((await deliver(id)).status).toBe(200);
    return fake.waitForSideband(id);
  }

  const session = (id: string) => broker.admin('GET', `/v1/sessions/${TENANT}/${id}`);

  /** Waits until the session is stored as ended, and returns it. */
  async function ended(id: string, timeoutMs = 10_000) {
    let detail = await session(id);
    await expect
      .poll(async () => {
        detail = await session(id);
        return detail.body?.status;
      }, { timeout: timeoutMs, interval: 100 })
      .toBe('ended');
    return detail.body;
  }

  beforeAll(async () => {
    fake = await FakeRealtime.start({ apiKey: API_KEY });
    broker = await startBroker(driver, {
      HOLD_TTL_S: '2',
      HOLD_MAX_S: '30',
      RESUME_GRACE_S: '3',
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_REALTIME_URL: fake.realtimeUrl,
    });
    await broker.tenant(TENANT);
    const put = await broker.admin('PUT', `/v1/admin/tenants/${TENANT}/integrations/openai_realtime`, {
      api_key: API_KEY,
      webhook_secret: WEBHOOK_SECRET,
      voice: 'marin',
      locale: 'de-DE',
    });
    expect(put.status).toBe(200);
  });
  afterAll(async () => {
    if (restarted) {
      await restarted.close();
      await broker.database.close();
    } else {
      await broker?.close();
    }
    await fake?.close();
  });
  afterEach(() => {
    // The fake answered each of these with conversation_already_has_active_response.
    expect(fake.violations).toEqual([]);
  });

  it('runs a whole call: webhook, accept with our tools, hold, extension by speech, booking, and a normal close ending it booked', async () => {
    const id = callId();
    const call = await answeredCall(id);

    const accept = fake.acceptsOf(id);
    expect(accept).toHaveLength(1);
    expect(accept[0]!.authorization).toBe(`Bearer ${API_KEY}`);
    const body = accept[0]!.body;
    expect(body).toMatchObject({ type: 'realtime', model: expect.any(String), instructions: expect.stringContaining('Salon'), audio: { input: { transcription: { language: 'de' } }, output: { voice: 'marin' } } });
    const tools = body.tools as Array<{ type: string; name: string; description: string; parameters: any }>;
    expect(tools.map((tool) => tool.name).sort()).toEqual(['book_appointment', 'cancel_appointment', 'check_availability', 'check_customer', 'get_current_context', 'list_services', 'release_hold']);
    const check = tools.find((tool) => tool.name === 'check_availability')!;
    expect(check).toMatchObject({ type: 'function', description: expect.stringMatching(/Termin/), parameters: { type: 'object', required: ['service', 'date', 'time'] } });
    expect(check.parameters.properties.service).toMatchObject({ type: 'string', description: expect.stringMatching(/Leistung/) });

    const friday = upcoming('fri');
    call.speech(true);
    call.callerSaid('Ich hätte gern einen Herrenschnitt am Freitag um drei bei Fabian.');
    call.speech(false);
    const checked = call.functionCall('check_availability', { service: 'Herrenschnitt', date: friday, time: '15:00', staff: 'Fabian' });
    const held = await call.output(checked);
    expect(held).toMatchObject({ ok: true, available: true, hold: { status: 'held' }, message: expect.any(String) });
    // The answer waited for the function call's response to end, and asked for the next one.
    const outputIndex = call.received.findIndex((event) => event.item?.call_id === checked);
    await call.waitFor((event) => event.type === 'response.create', { fromIndex: outputIndex + 1 });
    call.agentSaid('Der Termin ist frei, ich halte ihn für Sie fest.');

    // The caller keeps talking past the TTL: the hold stays.
    for (let i = 0; i < 6; i++) {
      call.speech(true);
      await sleep(250);
      call.callerSaid('und dann wollte ich noch sagen');
      call.speech(false);
      await sleep(250);
    }
    const booking = call.functionCall('book_appointment', { customer_name: 'Siegfried Reu' });
    const booked = await call.output(booking);
    expect(booked).toMatchObject({ ok: true, booked: true, appointment: { service: 'herrenschnitt', staff: 'fabian' } });
    const holds = (await session(id)).body.holds as Array<{ status: string; extensions: number }>;
    expect(holds).toHaveLength(1);
    expect(holds[0]!.extensions).toBeGreaterThan(0);

    // The caller's number came from the SIP From header.
    const listed = await broker.admin('GET', `/v1/admin/tenants/${TENANT}/appointments?date=${friday}`);
    expect(listed.body).toContainEqual(expect.objectContaining({ call_id: id, phone: CALLER, customer_name: 'Siegfried Reu' }));

    await sleep(100); // let the last response end before the caller hangs up
    call.hangUp();
    expect(await ended(id)).toMatchObject({ status: 'ended', outcome: 'booked' });
    // The call's own events are in its log, and the inspector names its tools.
    const detail = (await session(id)).body;
    expect(detail).toMatchObject({ runtime: 'openai_realtime', summary: { tool_latency_ms: { check_availability: { count: 1 }, book_appointment: { count: 1 } } } });
    const events = detail.events as Array<{ direction: string; type: string }>;
    expect(events.map((event) => `${event.direction} ${event.type}`)).toEqual(
      expect.arrayContaining(['in realtime.call.incoming', 'out realtime.call.accept', 'in response.function_call_arguments.done', 'out conversation.item.create', 'out response.create', 'in conversation.item.input_audio_transcription.completed']),
    );
  });

  it('tells the model when a silent caller’s hold expires, as a system message that asks for no response', async () => {
    const id = callId();
    const call = await answeredCall(id);
    const checked = call.functionCall('check_availability', { service: 'Damenschnitt', date: upcoming('fri'), time: '14:00', staff: 'Lena' });
    expect(await call.output(checked)).toMatchObject({ available: true });
    await call.waitFor((event) => event.type === 'response.create', { fromIndex: 0 });
    const note = await call.waitFor((event) => event.type === 'conversation.item.create' && event.item?.type === 'message', { timeoutMs: 8000 });
    expect(note.item).toMatchObject({ role: 'system', content: [{ type: 'input_text', text: expect.stringMatching(/abgelaufen/) }] });
    const noteIndex = call.received.indexOf(note);
    await sleep(300);
    expect(call.received.slice(noteIndex + 1).filter((event) => event.type === 'response.create')).toEqual([]);
    call.hangUp();
    expect(await ended(id)).toMatchObject({ outcome: 'no_booking' });
  });

  it('answers a bad or stale signature with 401 and accepts nothing', async () => {
    const id = callId();
    const body = incoming(id);
    const now = Math.floor(Date.now() / 1000);
    const otherSecret = `whsec_${randomBytes(32).toString('base64')}`;
    const refusals = [
      await deliver(id, { body, secret: otherSecret }),
      await deliver(id, { body, signatureHeader: signature(WEBHOOK_SECRET, `wh_${id}`, now, body.replace('From', 'FROM')) }),
      // Each read of the clock is fresh: the deliveries before take time, and a future stamp
      // ages towards the window while they run (it once landed on its edge, 300 s, accepted).
      await deliver(id, { body, timestamp: Math.floor(Date.now() / 1000) - 301 }),
      await deliver(id, { body, timestamp: Math.floor(Date.now() / 1000) + 310 }),
      await deliver(id, { body, signatureHeader: 'v1,' }),
    ];
    const missing = await fetch(new URL(`/v1/integrations/openai/${TENANT}/webhook`, broker.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(refusals.map((refusal) => refusal.status)).toEqual([401, 401, 401, 401, 401]);
    expect(refusals[0]!.body).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect(missing.status).toBe(401);
    // A tenant without openai_realtime settings has no such route.
    expect((await deliver(id, { tenant: 'nobody' })).status).toBe(404);
    await sleep(300);
    expect(fake.acceptsOf(id)).toEqual([]);
    expect((await session(id)).status).toBe(404);

    // A valid one among several signatures (a secret being rotated) is enough.
    const timestamp = Math.floor(Date.now() / 1000);
    const rotated = `${signature(otherSecret, `wh_${id}`, timestamp, body)} ${signature(WEBHOOK_SECRET, `wh_${id}`, timestamp, body)}`;
    expect((await deliver(id, { body, timestamp, signatureHeader: rotated })).status).toBe(200);
    (await fake.waitForSideband(id)).hangUp();
    await ended(id);
  });

  it('accepts a replayed webhook once', async () => {
    const id = callId();
    const first = await deliver(id);
    const again = await deliver(id);
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.body).toEqual(first.body);
    const call = await fake.waitForSideband(id);
    expect((await deliver(id)).status).toBe(200);
    await sleep(300);
    expect(fake.acceptsOf(id)).toHaveLength(1);
    expect(call.connections).toBe(1);
    call.hangUp();
    await ended(id);
  });

  it('answers the webhook before it accepts, and retries an accept that failed on the service’s side only', async () => {
    const slow = callId();
    fake.acceptDelayMs = 1000;
    try {
      const answered = fake.acceptsAnswered;
      expect((await deliver(slow)).status).toBe(200);
      expect(fake.acceptsAnswered).toBe(answered);
      (await fake.waitForSideband(slow)).hangUp();
    } finally {
      fake.acceptDelayMs = 0;
    }
    await ended(slow);

    const failing = callId();
    const refused = callId();
    fake.acceptStatus = 500;
    try {
      expect((await deliver(failing)).status).toBe(200);
      await expect.poll(() => fake.acceptsOf(failing).length, { timeout: 5000 }).toBe(3);
      fake.acceptStatus = 401;
      expect((await deliver(refused)).status).toBe(200);
      await fake.waitForAccept(refused);
      await sleep(1000);
    } finally {
      fake.acceptStatus = 200;
    }
    expect(fake.acceptsOf(failing)).toHaveLength(3);
    expect(fake.acceptsOf(refused)).toHaveLength(1);
    expect((await session(failing)).status).toBe(404);
  });

  it('runs a retried function call id once and answers it with the first result', async () => {
    const id = callId();
    const call = await answeredCall(id);
    const args = { service: 'Herrenschnitt', date: upcoming('fri', 2), time: '10:00', staff: 'Fabian' };
    call.functionCall('check_availability', args, { callId: 'fc_retried' });
    const first = await call.output('fc_retried');
    await call.waitFor((event) => event.type === 'response.create', { fromIndex: 0 });
    await sleep(100);
    const before = call.received.length;
    call.functionCall('check_availability', args, { callId: 'fc_retried' });
    const second = await call.waitFor((event) => event.item?.call_id === 'fc_retried', { fromIndex: before });
    expect(JSON.parse(second.item.output)).toEqual(first);
    expect(first).toMatchObject({ available: true });
    const holds = (await session(id)).body.holds as unknown[];
    expect(holds).toHaveLength(1);
    await sleep(100);
    call.hangUp();
    await ended(id);
  });

  it('answers several function calls of one response in one turn, and never asks while a response runs', async () => {
    const id = callId();
    const call = await answeredCall(id);
    // The model is talking: a response is active when its function calls come in.
    const talking = call.startResponse();
    call.send({ type: 'response.function_call_arguments.done', response_id: talking, call_id: 'fc_a', name: 'list_services', arguments: '{}' });
    call.send({ type: 'response.function_call_arguments.done', response_id: talking, call_id: 'fc_b', name: 'get_current_context', arguments: '{}' });
    call.send({ type: 'response.function_call_arguments.done', response_id: talking, call_id: 'fc_c', name: 'check_availability', arguments: '{"service": ' });
    await sleep(300);
    expect(call.received.filter((event) => event.type === 'response.create')).toEqual([]);
    call.finishResponse(talking);
    await call.waitFor((event) => event.type === 'response.create', { fromIndex: 0 });
    expect(await call.output('fc_a')).toMatchObject({ ok: true, services: expect.any(Array) });
    expect(await call.output('fc_b')).toMatchObject({ ok: true, caller_phone: CALLER });
    expect(await call.output('fc_c')).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    await sleep(100);
    expect(call.received.filter((event) => event.type === 'response.create')).toHaveLength(1);
    call.hangUp();
    await ended(id);
  });

  it('asks again when server VAD started a response just before ours was asked for', async () => {
    const id = callId();
    const call = await answeredCall(id);
    call.vadOnNextOutput(150);
    const asked = call.functionCall('list_services', {}, { runMs: 20 });
    expect(await call.output(asked)).toMatchObject({ ok: true });
    const outputAt = call.received.findIndex((event) => event.item?.call_id === asked);
    const refused = await call.waitFor((event) => event.type === 'response.create', { fromIndex: outputAt + 1 });
    const again = await call.waitFor((event) => event.type === 'response.create', { fromIndex: call.received.indexOf(refused) + 1, timeoutMs: 3000 });
    expect(again).toEqual({ type: 'response.create' });
    // The refusal was the service's race, not the broker's: take it out of what afterEach checks.
    expect(fake.violations.splice(0).map((violation) => violation.callId)).toEqual([id]);
    await sleep(100);
    expect(fake.violations).toEqual([]);
    call.hangUp();
    await ended(id);
  });

  it('redials a sideband that broke, resumes the session with its hold, and books', async () => {
    const id = callId();
    const call = await answeredCall(id);
    const checked = call.functionCall('check_availability', { service: 'Herrenschnitt', date: upcoming('fri', 2), time: '16:00', staff: 'Fabian' });
    const held = await call.output(checked);
    expect(held).toMatchObject({ available: true });
    await call.waitFor((event) => event.type === 'response.create', { fromIndex: 0 });
    await sleep(100);
    call.drop();
    await call.waitForConnections(2, 3000);
    const booking = call.functionCall('book_appointment', { customer_name: 'Siegfried Reu' });
    expect(await call.output(booking)).toMatchObject({ booked: true, appointment: { start: held.hold.start } });
    await sleep(100);
    call.hangUp();
    expect(await ended(id)).toMatchObject({ outcome: 'booked' });
  });

  it('ends the session as dropped when the sideband does not come back within the grace', async () => {
    const id = callId();
    const call = await answeredCall(id);
    const checked = call.functionCall('check_availability', { service: 'Herrenschnitt', date: upcoming('fri', 2), time: '17:00', staff: 'Fabian' });
    expect(await call.output(checked)).toMatchObject({ available: true });
    fake.refuseSideband = 503;
    try {
      call.drop();
      expect(await ended(id, 8000)).toMatchObject({ outcome: 'dropped' });
      const holds = (await session(id)).body.holds as Array<{ status: string }>;
      // Released at the end, unless its TTL ran out first (HOLD_TTL_S < RESUME_GRACE_S here): never left held.
      expect(holds).toHaveLength(1);
      expect(['released', 'expired']).toContain(holds[0]!.status);
    } finally {
      fake.refuseSideband = null;
    }
  });

  // Last: it replaces the broker with a new app over the same database.
  it('redials the sideband of a live call after a broker restart, and the call resumes with its hold', async () => {
    const id = callId();
    const call = await answeredCall(id);
    const checked = call.functionCall('check_availability', { service: 'Herrenschnitt', date: upcoming('fri', 2), time: '11:00', staff: 'Fabian' });
    const held = await call.output(checked);
    expect(held).toMatchObject({ available: true });
    await call.waitFor((event) => event.type === 'response.create', { fromIndex: 0 });
    await sleep(100);

    await broker.app.close();
    restarted = await buildApp({ config: broker.config, database: broker.database });
    const url = await restarted.listen({ port: 0, host: '127.0.0.1' });
    broker = {
      ...broker,
      app: restarted,
      url,
      admin: async (method: string, path: string) => {
        const response = await fetch(new URL(path, url), { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        const text = await response.text();
        return { status: response.status, body: text ? JSON.parse(text) : null };
      },
    };

    await call.waitForConnections(2);
    const booking = call.functionCall('book_appointment', { customer_name: 'Siegfried Reu' });
    expect(await call.output(booking)).toMatchObject({ booked: true, appointment: { start: held.hold.start } });
    const detail = await session(id);
    expect(detail.body).toMatchObject({ status: 'live', runtime: 'openai_realtime' });
    await sleep(100);
    call.hangUp();
    expect(await ended(id)).toMatchObject({ outcome: 'booked' });
  });
});
