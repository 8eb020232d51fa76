/** The OpenAI Realtime codec and the Standard Webhooks check, without sockets. */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { acceptBody, callerNumberOf, decodeServerEvent, encodeEmitted, sessionEventOf } from '../../../src/protocol/openai-realtime/codec.js';
import { incomingCallSchema } from '../../../src/protocol/openai-realtime/events.js';
import { verifyStandardWebhook } from '../../../src/protocol/standard-webhooks.js';

const hold = { id: 'h1', serviceId: 'herrenschnitt', staffId: 'fabian', start: Date.parse('2030-01-04T14:00:00Z'), end: Date.parse('2030-01-04T14:30:00Z'), placedAt: 0, expiresAt: 0, maxExpiresAt: 0 };
const from = (value: string) => callerNumberOf(incomingCallSchema.parse({ type: 'realtime.call.incoming', data: { call_id: 'rtc_1', sip_headers: [{ name: 'From', value }] } }));

describe('openai-realtime codec', () => {
  it('reads the caller number from the SIP From header', () => {
    expect(from('"Siegfried" <sip:+4915112345678@sip.example.net>;tag=1')).toBe('+4915112345678');
    expect(from('<tel:+49-151-1234-5678>;tag=1')).toBe('+4915112345678');
    expect(from('sip:0301234567@10.0.0.1')).toBe('0301234567');
    expect(from('"Anonymous" <sip:anonymous@anonymous.invalid>')).toBeNull();
    expect(callerNumberOf(incomingCallSchema.parse({ type: 'realtime.call.incoming', data: { call_id: 'rtc_1' } }))).toBeNull();
  });

  it('decodes the events the session needs and ignores the rest', () => {
    expect(decodeServerEvent('{"type":"response.output_audio.delta","delta":"AAA"}')).toEqual({ ok: true, event: null, type: 'response.output_audio.delta' });
    expect(decodeServerEvent('nope')).toMatchObject({ ok: false });
    const call = decodeServerEvent(JSON.stringify({ type: 'response.function_call_arguments.done', call_id: 'fc_1', name: 'list_services', arguments: '{"x":1}' }));
    expect(call.ok && call.event && sessionEventOf(call.event, 5)).toEqual({ type: 'tool.requested', call: { id: 'fc_1', name: 'list_services', arguments: { x: 1 }, receivedAt: 5 } });
    const speech = decodeServerEvent('{"type":"input_audio_buffer.speech_started","audio_start_ms":10}');
    expect(speech.ok && speech.event && sessionEventOf(speech.event, 7)).toEqual({ type: 'caller.activity', speaking: true, at: 7 });
    // Arguments storage cannot keep never reach a tool.
    const bad = decodeServerEvent(JSON.stringify({ type: 'response.function_call_arguments.done', call_id: 'fc_2', name: 'book_appointment', arguments: '{"customer_name":"Ida\\u0000"}' }));
    expect(bad.ok && bad.event && sessionEventOf(bad.event, 1)).toBeNull();
  });

  it('encodes answers as function_call_output and a lost hold as a system note', () => {
    const answered = encodeEmitted({ type: 'tool.answered', call: { id: 'fc_1', name: 'release_hold', arguments: {}, receivedAt: 0 }, response: { ok: true, result: { released: true, message: 'ok' } }, latencyMs: 3 }, 'Europe/Berlin', 'de');
    expect(answered).toMatchObject({ kind: 'reply', event: { type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'fc_1' } } });
    expect(JSON.parse((answered as any).event.item.output)).toEqual({ ok: true, released: true, message: 'ok' });
    expect(encodeEmitted({ type: 'hold.updated', status: 'lost', hold }, 'Europe/Berlin', 'en')).toMatchObject({ kind: 'note', event: { item: { type: 'message', role: 'system', content: [{ text: expect.stringMatching(/was lost/) }] } } });
    expect(encodeEmitted({ type: 'hold.updated', status: 'extended', hold }, 'Europe/Berlin', 'en')).toBeNull();
  });

  it('describes the tools in the call’s language', () => {
    const en = acceptBody({ model: 'gpt-realtime', voice: null, instructions: 'x', locale: 'en-US', transcriptionModel: 't' });
    expect(en.audio).toEqual({ input: { transcription: { model: 't', language: 'en' } } });
    expect(en.tools.find((tool) => tool.name === 'book_appointment')).toMatchObject({ description: expect.stringMatching(/^Books/), parameters: { properties: { customer_name: { description: "The customer's name" } } } });
    expect(JSON.stringify(en.tools)).not.toContain('$schema');
  });
});

describe('Standard Webhooks verification', () => {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const sign = (id: string, ts: number, body: string, key = secret) => `v1,${createHmac('sha256', Buffer.from(key.slice(6), 'base64')).update(`${id}.${ts}.${body}`).digest('base64')}`;
  const body = '{"type":"realtime.call.incoming"}';
  const now = Math.floor(Date.now() / 1000);

  it('accepts a valid signature among several and hands back the delivery id', () => {
    const headers = { 'webhook-id': 'wh_1', 'webhook-timestamp': String(now), 'webhook-signature': `v1,AAAA ${sign('wh_1', now, body)}` };
    expect(verifyStandardWebhook(body, headers, secret)).toEqual({ ok: true, id: 'wh_1', payload: { type: 'realtime.call.incoming' } });
  });

  it('refuses a changed body, another key, a stale timestamp and missing headers', () => {
    const headers = (ts: number, signature: string) => ({ 'webhook-id': 'wh_1', 'webhook-timestamp': String(ts), 'webhook-signature': signature });
    expect(verifyStandardWebhook(`${body} `, headers(now, sign('wh_1', now, body)), secret).ok).toBe(false);
    expect(verifyStandardWebhook(body, headers(now, sign('wh_1', now, body, `whsec_${randomBytes(24).toString('base64')}`)), secret).ok).toBe(false);
    expect(verifyStandardWebhook(body, headers(now - 301, sign('wh_1', now - 301, body)), secret).ok).toBe(false);
    expect(verifyStandardWebhook(body, { 'webhook-id': 'wh_1' }, secret)).toMatchObject({ ok: false, reason: expect.stringMatching(/missing/) });
  });
});
