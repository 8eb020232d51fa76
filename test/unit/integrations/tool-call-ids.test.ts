/** The derived tool call ids of runtimes that send none (Retell, ElevenLabs): what counts as a retry. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkSignature, SIGNATURE_WINDOW_MS } from '../../../src/integrations/signatures.js';
import { canonicalJson, DerivedToolCallIds, RETRY_WINDOW_MS } from '../../../src/integrations/tool-call-ids.js';

const call = { runtime: 'retell', tenantId: 'salon', callId: 'c1' };

describe('derived tool call ids', () => {
  it('gives a retry (same call, tool and arguments in any key order, within 5 min of the first) the same id', () => {
    let now = 1_000_000;
    const ids = new DerivedToolCallIds(() => now);
    const first = ids.idFor(call, 'check_availability', { service: 'a', date: 'b', nested: { y: 1, x: 2 } });
    now += RETRY_WINDOW_MS;
    expect(ids.idFor(call, 'check_availability', { nested: { x: 2, y: 1 }, date: 'b', service: 'a' })).toBe(first);
    now += 1;
    expect(ids.idFor(call, 'check_availability', { service: 'a', date: 'b', nested: { y: 1, x: 2 } })).not.toBe(first);
  });

  it('gives a new id once another tool call of the call came in between, and keeps calls, tools and runtimes apart', () => {
    const ids = new DerivedToolCallIds(() => 5);
    const first = ids.idFor(call, 'check_availability', { time: '10:00' });
    ids.idFor(call, 'release_hold', {});
    expect(ids.idFor(call, 'check_availability', { time: '10:00' })).not.toBe(first);
    const a = ids.idFor({ ...call, callId: 'c2' }, 'list_services', {});
    expect(ids.idFor({ ...call, callId: 'c3' }, 'list_services', {})).not.toBe(a);
    expect(ids.idFor({ ...call, callId: 'c2', runtime: 'elevenlabs' }, 'list_services', {})).not.toBe(a);
  });

  it('forgets calls 5 min after their latest tool request first came', () => {
    let now = 0;
    const ids = new DerivedToolCallIds(() => now);
    for (let i = 0; i < 100; i++) ids.idFor({ ...call, callId: `c${i}` }, 'list_services', {});
    now = RETRY_WINDOW_MS + 1;
    ids.idFor(call, 'list_services', {});
    expect(ids.size).toBe(1);
  });

  it('writes JSON canonically', () => {
    expect(canonicalJson({ b: [1, { d: null, c: 'x' }], a: undefined, e: 1 })).toBe('{"b":[1,{"c":"x","d":null}],"e":1}');
  });
});

describe('signature checks', () => {
  const key = 'secret-key-123';
  const signed = Buffer.from('{"a":1}');
  const hex = createHmac('sha256', key).update(signed).digest('hex');
  it('accepts a good signature within ±300 s and refuses the rest', () => {
    const now = 10_000_000;
    expect(checkSignature({ timestampMs: now - SIGNATURE_WINDOW_MS, signatureHex: hex, signed }, key, now)).toEqual({ ok: true });
    expect(checkSignature({ timestampMs: now + SIGNATURE_WINDOW_MS, signatureHex: hex.toUpperCase(), signed }, key, now)).toEqual({ ok: true });
    expect(checkSignature({ timestampMs: now - SIGNATURE_WINDOW_MS - 1, signatureHex: hex, signed }, key, now).ok).toBe(false);
    expect(checkSignature({ timestampMs: now, signatureHex: hex.slice(2), signed }, key, now).ok).toBe(false);
    expect(checkSignature({ timestampMs: now, signatureHex: `${hex.slice(0, -1)}0`.replace(/.$/, hex.endsWith('0') ? '1' : '0'), signed }, key, now).ok).toBe(false);
    expect(checkSignature({ timestampMs: now, signatureHex: 'zz', signed }, key, now).ok).toBe(false);
    expect(checkSignature(null, key, now).ok).toBe(false);
  });
});
