/**
 * PROTOCOL §6.2 over real HTTP against a started broker: a whole call through each HTTP
 * runtime (Vapi, Retell, ElevenLabs), signatures (bad and stale ones change nothing),
 * replayed deliveries and retried tool calls (one effect), expiry by silence, and callers
 * of every runtime racing for one slot. Requests are signed here with node:crypto
 * directly, independent of the broker's verifying code.
 */
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { rowsOf } from '../../src/store/booking-store.js';
import { TcpFaultProxy } from '../fakes/tcp-proxy.js';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { drivers } from '../fixtures/database.js';
import { upcoming } from '../fixtures/dates.js';

const RETELL_KEY = 'key_retell_test_0123456789';
const VAPI_SECRET = 'vapi-secret-0123456789';
const TOOL_SECRET = 'el-tool-secret-0123456789';
const WEBHOOK_SECRET = 'wsec_el_0123456789abcdef';

type Json = any;

function retellSignature(raw: string, at = Date.now(), key = RETELL_KEY) {
  return `v=${at},d=${createHmac('sha256', key).update(raw + at).digest('hex')}`;
}
function elevenLabsSignature(raw: string, atS = Math.floor(Date.now() / 1000), secret = WEBHOOK_SECRET) {
  return `t=${atS},v0=${createHmac('sha256', secret).update(`${atS}.${raw}`).digest('hex')}`;
}

describe.each(drivers)('HTTP tool-webhook runtimes on %s', (driver) => {
  let broker: TestBroker;
  let token: string;
  let calls = 0;
  const callId = (runtime: string) => `${runtime}-${driver}-${++calls}-${Date.now()}`;

  async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Json }> {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    const response = await fetch(new URL(path, broker.url), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: raw });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }
  const vapi = (message: Json, secret = VAPI_SECRET, tenant = 'sonnenschein') => post(`/v1/integrations/vapi/${tenant}`, { message }, { 'x-vapi-secret': secret });
  const vapiTools = (call: string, list: Array<{ id: string; name: string; parameters: Json }>) =>
    vapi({ type: 'tool-calls', call: { id: call, customer: { number: '+4915111111111' } }, toolCallList: list });
  const resultOf = (answer: { body: Json }, index = 0) => JSON.parse(answer.body.results[index].result);
  function retell(path: 'tools' | 'webhook', body: Json, signature?: (raw: string) => string) {
    const raw = JSON.stringify(body);
    return post(`/v1/integrations/retell/sonnenschein/${path}`, raw, { 'x-retell-signature': (signature ?? retellSignature)(raw) });
  }
  const retellTool = (call: string, name: string, args: Json) => retell('tools', { name, call: { call_id: call, from_number: '+4915122222222', to_number: '+4930123' }, args });
  const elevenTool = (call: string, name: string, params: Json, secret = TOOL_SECRET) =>
    post(`/v1/integrations/elevenlabs/sonnenschein/tools/${name}`, { ...params, conversation_id: call, caller_id: '+4915133333333' }, { authorization: `Bearer ${secret}` });
  function elevenWebhook(call: string, signature?: (raw: string) => string) {
    const raw = JSON.stringify({ type: 'post_call_transcription', event_timestamp: Math.floor(Date.now() / 1000), data: { conversation_id: call, agent_id: 'agent_1', transcript: [] } });
    return post('/v1/integrations/elevenlabs/sonnenschein/webhook', raw, { 'elevenlabs-signature': (signature ?? elevenLabsSignature)(raw) });
  }
  const session = (call: string) => broker.admin('GET', `/v1/sessions/sonnenschein/${call}`);
  const liveHolds = async (date: string, time: string) => {
    const rows = rowsOf<{ count: number }>(
      await broker.database.db.execute(sql`SELECT count(*)::int AS count FROM holds h WHERE h.tenant_id = 'sonnenschein' AND h.status = 'held' AND h.expires_at > now()
        AND to_char(h.start_at AT TIME ZONE 'Europe/Berlin', 'YYYY-MM-DD HH24:MI') = ${`${date} ${time}`}`),
    );
    return rows[0]!.count;
  };

  beforeAll(async () => {
    broker = await startBroker(driver, { HOLD_TTL_S: '2', HOLD_MAX_S: '30', HTTP_SESSION_IDLE_S: '3' });
    token = await broker.tenant('sonnenschein');
    await broker.tenant('nosettings');
    for (const [kind, body] of Object.entries({
      retell: { api_key: RETELL_KEY, locale: 'de-DE' },
      vapi: { secret: VAPI_SECRET, locale: 'de-DE' },
      elevenlabs: { tool_secret: TOOL_SECRET, webhook_secret: WEBHOOK_SECRET, locale: 'en-US' },
    })) {
      expect((await broker.admin('PUT', `/v1/admin/tenants/sonnenschein/integrations/${kind}`, body)).status).toBe(200);
    }
  });
  afterAll(() => broker.close());

  it('Vapi: a whole call — several tools in order, a hold extended by the caller speaking, a booking, the end', async () => {
    const call = callId('vapi');
    const friday = upcoming('fri');
    const first = await vapiTools(call, [
      { id: 'tc-1', name: 'get_current_context', parameters: {} },
      { id: 'tc-2', name: 'check_availability', parameters: { service: 'Dauerwelle', date: friday, time: '09:00' } },
    ]);
    expect(first.status).toBe(200);
    expect(first.body.results.map((r: Json) => [r.toolCallId, r.name])).toEqual([
      ['tc-1', 'get_current_context'],
      ['tc-2', 'check_availability'],
    ]);
    expect(resultOf(first, 0)).toMatchObject({ ok: true, caller_phone: '+4915111111111', call_id: call });
    const held = resultOf(first, 1);
    expect(held).toMatchObject({ ok: true, available: true, hold: { status: 'held' }, message: expect.any(String) });

    // Caller speech keeps the hold alive past its 2 s TTL.
    for (let i = 0; i < 4; i++) {
      await sleep(700);
      const speech = await vapi({ type: i % 2 ? 'transcript' : 'speech-update', role: 'user', status: 'started', transcript: 'ja', call: { id: call } });
      expect(speech).toEqual({ status: 200, body: {} });
    }
    const detail = await session(call);
    expect(detail.body).toMatchObject({ runtime: 'vapi', status: 'live', hold: { id: held.hold.id } });
    expect(Date.parse(detail.body.hold.expires_at)).toBeGreaterThan(Date.parse(held.hold.expires_at));
    // Other message types are answered {} and touch nothing.
    expect(await vapi({ type: 'conversation-update', call: { id: call } })).toEqual({ status: 200, body: {} });

    const booked = await vapiTools(call, [{ id: 'tc-3', name: 'book_appointment', parameters: JSON.stringify({ customer_name: 'Ida Vapi' }) }]);
    expect(resultOf(booked)).toMatchObject({ ok: true, booked: true, appointment: { id: expect.any(String) } });
    // A repeated delivery replays the first answer.
    const again = await vapiTools(call, [{ id: 'tc-3', name: 'book_appointment', parameters: { customer_name: 'Ida Vapi' } }]);
    expect(resultOf(again)).toEqual(resultOf(booked));

    expect(await vapi({ type: 'end-of-call-report', call: { id: call }, endedReason: 'customer-ended-call' })).toEqual({ status: 200, body: {} });
    await expect.poll(async () => (await session(call)).body).toMatchObject({ status: 'ended', outcome: 'booked', runtime: 'vapi' });
    const listed = await broker.admin('GET', '/v1/sessions?tenant=sonnenschein&status=ended');
    expect(listed.body.find((s: Json) => s.call_id === call)).toMatchObject({ runtime: 'vapi' });
    // A tool call after the end: the answer it had is replayed, a new one is refused.
    expect(resultOf(await vapiTools(call, [{ id: 'tc-3', name: 'book_appointment', parameters: { customer_name: 'Ida Vapi' } }]))).toEqual(resultOf(booked));
    expect(resultOf(await vapiTools(call, [{ id: 'tc-9', name: 'list_services', parameters: {} }]))).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('Vapi: a wrong secret is 401, a tenant without settings is 404, a message without a call is 400', async () => {
    const call = callId('vapi');
    expect((await vapi({ type: 'tool-calls', call: { id: call }, toolCallList: [] }, 'wrong-secret-123')).status).toBe(401);
    expect((await post('/v1/integrations/vapi/sonnenschein', { message: { type: 'end-of-call-report', call: { id: call } } }, { authorization: `Bearer ${VAPI_SECRET}` })).status).toBe(200);
    expect((await vapi({ type: 'tool-calls', call: { id: call }, toolCallList: [] }, VAPI_SECRET, 'nosettings')).status).toBe(404);
    expect(await vapi({ type: 'tool-calls', toolCallList: [] })).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST', message: expect.stringMatching(/message\.call/) } } });
    expect((await session(callId('never'))).status).toBe(404);
  });

  it('Retell: a whole call with signed requests; a retried function replays its first answer', async () => {
    const call = callId('retell');
    const friday = upcoming('fri');
    expect(await retell('webhook', { event: 'call_started', call: { call_id: call, from_number: '+4915122222222' } })).toEqual({ status: 200, body: {} });
    const args = { service: 'Dauerwelle', date: friday, time: '11:00' };
    const held = await retellTool(call, 'check_availability', args);
    expect(held.body).toMatchObject({ ok: true, available: true, hold: { status: 'held' } });
    // Retell retries a failed request: same call, tool and arguments (in any key order) → the first answer, one hold.
    const retried = await retellTool(call, 'check_availability', { time: '11:00', date: friday, service: 'Dauerwelle' });
    expect(retried.body).toEqual(held.body);
    expect(await liveHolds(friday, '11:00')).toBe(1);
    await sleep(900);
    // A later request is caller activity too.
    expect((await retellTool(call, 'get_current_context', {})).body).toMatchObject({ ok: true, caller_phone: '+4915122222222' });
    const booked = await retellTool(call, 'book_appointment', { customer_name: 'Ida Retell' });
    expect(booked.body).toMatchObject({ ok: true, booked: true });
    expect(await retell('webhook', { event: 'call_analyzed', call: { call_id: call } })).toEqual({ status: 200, body: {} });
    // A forged or stale call_ended changes nothing: the call goes on.
    expect((await retell('webhook', { event: 'call_ended', call: { call_id: call } }, (raw) => retellSignature(raw, Date.now(), 'forged-key-0123456789'))).status).toBe(401);
    expect((await retell('webhook', { event: 'call_ended', call: { call_id: call } }, (raw) => retellSignature(raw, Date.now() - 400_000))).status).toBe(401);
    expect((await session(call)).body).toMatchObject({ status: 'live', runtime: 'retell' });
    expect(await retell('webhook', { event: 'call_ended', call: { call_id: call } })).toEqual({ status: 200, body: {} });
    await expect.poll(async () => (await session(call)).body).toMatchObject({ status: 'ended', outcome: 'booked', runtime: 'retell' });
    // The same delivery again: same answer, nothing changes.
    expect(await retell('webhook', { event: 'call_ended', call: { call_id: call } })).toEqual({ status: 200, body: {} });
  });

  it('Retell: a bad or stale signature is 401 and changes nothing; "args only" is 400', async () => {
    const call = callId('retell');
    const saturday = upcoming('sat');
    const args = { service: 'Dauerwelle', date: saturday, time: '10:00' };
    const body = { name: 'check_availability', call: { call_id: call, from_number: '+49151' }, args };
    expect((await retell('tools', body, (raw) => retellSignature(raw, Date.now(), 'another-key-0123456789'))).status).toBe(401);
    expect((await retell('tools', body, (raw) => retellSignature(raw, Date.now() - 301_000))).status).toBe(401);
    expect((await retell('tools', body, (raw) => retellSignature(raw, Date.now() + 310_000))).status).toBe(401);
    expect((await retell('tools', body, (raw) => retellSignature(`${raw} `))).status).toBe(401);
    expect((await retell('tools', body, () => 'v=abc,d=00')).status).toBe(401);
    expect((await post('/v1/integrations/retell/sonnenschein/tools', body)).status).toBe(401);
    // A body that is not JSON is only told once the signature is good.
    expect((await post('/v1/integrations/retell/sonnenschein/tools', '{not json', { 'x-retell-signature': 'v=1,d=00' })).status).toBe(401);
    expect((await session(call)).status).toBe(404);
    expect(await liveHolds(saturday, '10:00')).toBe(0);
    expect(await retell('tools', { name: 'check_availability', args })).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST', message: expect.stringMatching(/^call:/) } } });
    // Well inside the window is fine.
    expect((await retell('tools', body, (raw) => retellSignature(raw, Date.now() - 200_000))).body).toMatchObject({ ok: true, available: true });
  });

  it('ElevenLabs: a whole call over server tools and the signed post-call webhook; retries replay', async () => {
    const call = callId('conv');
    const friday = upcoming('fri');
    expect((await elevenTool(call, 'check_availability', { service: 'Dauerwelle', date: friday, time: '14:00' }, 'wrong-secret-0123')).status).toBe(401);
    const held = await elevenTool(call, 'check_availability', { service: 'Dauerwelle', date: friday, time: '14:00' });
    expect(held.body).toMatchObject({ ok: true, available: true, hold: { status: 'held' }, message: expect.stringMatching(/[a-z]/) });
    expect((await elevenTool(call, 'check_availability', { service: 'Dauerwelle', date: friday, time: '14:00' })).body).toEqual(held.body);
    expect(await liveHolds(friday, '14:00')).toBe(1);
    expect((await elevenTool(call, 'summon_stylist', {})).body).toMatchObject({ ok: false, error: { code: 'UNKNOWN_TOOL' } });
    const booked = await elevenTool(call, 'book_appointment', { customer_name: 'Ida Eleven' });
    expect(booked.body).toMatchObject({ ok: true, booked: true });

    expect((await elevenWebhook(call, (raw) => elevenLabsSignature(raw, Math.floor(Date.now() / 1000), 'not-the-secret-000'))).status).toBe(401);
    expect((await elevenWebhook(call, (raw) => elevenLabsSignature(raw, Math.floor(Date.now() / 1000) - 301))).status).toBe(401);
    expect((await session(call)).body).toMatchObject({ status: 'live', runtime: 'elevenlabs' });
    expect(await elevenWebhook(call)).toEqual({ status: 200, body: {} });
    await expect.poll(async () => (await session(call)).body).toMatchObject({ status: 'ended', outcome: 'booked', runtime: 'elevenlabs' });
    expect(await elevenWebhook(call)).toEqual({ status: 200, body: {} });
  });

  it('ends an HTTP session that hears nothing for HTTP_SESSION_IDLE_S as dropped and releases its hold', async () => {
    // Its own broker: a hold that would outlive the idle limit (TTL 20 s, idle 2 s), so the release is the idle limit's doing.
    const idle = await startBroker(driver, { HOLD_TTL_S: '20', HOLD_MAX_S: '60', HTTP_SESSION_IDLE_S: '2' });
    try {
      await idle.tenant('sonnenschein');
      await idle.admin('PUT', '/v1/admin/tenants/sonnenschein/integrations/vapi', { secret: VAPI_SECRET });
      const call = callId('vapi');
      const thursday = upcoming('thu');
      const response = await fetch(new URL('/v1/integrations/vapi/sonnenschein', idle.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-vapi-secret': VAPI_SECRET },
        body: JSON.stringify({ message: { type: 'tool-calls', call: { id: call }, toolCallList: [{ id: 'h-1', name: 'check_availability', parameters: { service: 'Dauerwelle', date: thursday, time: '15:00' } }] } }),
      });
      const held = JSON.parse(((await response.json()) as Json).results[0].result);
      expect(held).toMatchObject({ available: true });
      await expect
        .poll(async () => (await idle.admin('GET', `/v1/sessions/sonnenschein/${call}`)).body, { timeout: 10_000, interval: 250 })
        .toMatchObject({ status: 'ended', outcome: 'dropped', runtime: 'vapi' });
      const rows = rowsOf<{ status: string }>(await idle.database.db.execute(sql`SELECT status FROM holds WHERE id = ${held.hold.id}`));
      expect(rows).toEqual([{ status: 'released' }]);
    } finally {
      await idle.close();
    }
  });

  it.runIf(driver === 'postgres')('answers a tool within 2 s with a spoken UNAVAILABLE while storage stalls', async () => {
    const proxy = await TcpFaultProxy.forUrl(inject('postgresTemplateUrl'));
    const stalled = await startBroker('postgres', {}, { connectVia: (url) => proxy.urlFor(url) });
    try {
      await stalled.tenant('sonnenschein');
      await stalled.admin('PUT', '/v1/admin/tenants/sonnenschein/integrations/vapi', { secret: VAPI_SECRET, locale: 'de-DE' });
      const call = callId('vapi');
      const ask = (id: string, name: string, parameters: Json) =>
        fetch(new URL('/v1/integrations/vapi/sonnenschein', stalled.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-vapi-secret': VAPI_SECRET },
          body: JSON.stringify({ message: { type: 'tool-calls', call: { id: call }, toolCallList: [{ id, name, parameters }] } }),
        });
      expect((await ask('s-1', 'list_services', {})).status).toBe(200);
      proxy.stall();
      const started = performance.now();
      const answer = await ask('s-2', 'check_availability', { service: 'Dauerwelle', date: upcoming('fri'), time: '16:00' });
      const elapsed = performance.now() - started;
      expect(answer.status).toBe(200);
      expect(JSON.parse(((await answer.json()) as Json).results[0].result)).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' }, message: expect.stringMatching(/Buchungssystem/) });
      expect(elapsed).toBeLessThan(2000);
    } finally {
      proxy.restore();
      await stalled.close();
      await proxy.close();
    }
  });

  it.runIf(driver === 'postgres')('a race of callers over every runtime for one slot: one hold, everyone else alternatives', async () => {
    const saturday = upcoming('sat', 2);
    const args = { service: 'Herrenschnitt', date: saturday, time: '11:00', staff: 'Fabian' };
    const ws = await RuntimeClient.connect(broker.url, callId('ws'), token);
    await ws.start();
    const answers: Json[] = await Promise.all([
      ws.tool('check_availability', args).then((frame) => ({ ...frame.result, ok: frame.ok })),
      vapiTools(callId('vapi'), [{ id: 'r-1', name: 'check_availability', parameters: args }]).then((answer) => resultOf(answer)),
      retellTool(callId('retell'), 'check_availability', args).then((answer) => answer.body),
      elevenTool(callId('conv'), 'check_availability', args).then((answer) => answer.body),
      vapiTools(callId('vapi'), [{ id: 'r-2', name: 'check_availability', parameters: args }]).then((answer) => resultOf(answer)),
      retellTool(callId('retell'), 'check_availability', args).then((answer) => answer.body),
    ]);
    ws.close();
    expect(answers.every((answer) => answer.ok === true)).toBe(true);
    expect(answers.filter((answer) => answer.available === true)).toHaveLength(1);
    for (const loser of answers.filter((answer) => answer.available === false)) {
      expect(loser).toMatchObject({ reason: 'SLOT_TAKEN' });
      expect(loser.alternatives.length).toBeGreaterThan(0);
    }
    expect(await liveHolds(saturday, '11:00')).toBe(1);
  });
});
