import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../../../src/protocol/callhold/frames.js';
import { findJsonProblem, storableJson } from '../../../../src/protocol/json-walk.js';

const nestedArrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('decodeFrame against hostile input', () => {
  it('answers a tool.call nested 6,000 deep with BAD_MESSAGE naming where, instead of overflowing the stack', () => {
    const decoded = decodeFrame(`{"type":"tool.call","id":"t1","name":"list_services","arguments":{"a":${nestedArrays(6000)}}}`);
    expect(decoded).toEqual({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: expect.stringMatching(/^arguments\.a(\.0)+: JSON must not be nested deeper than 32 levels$/), ref: 't1' },
    });
  });

  it('refuses deep nesting hidden in arguments sent as a JSON string', () => {
    const args = JSON.stringify({ a: JSON.parse(nestedArrays(40)) });
    const decoded = decodeFrame(JSON.stringify({ type: 'tool.call', id: 't2', name: 'list_services', arguments: args }));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.message).toMatch(/nested deeper than 32 levels/);
  });

  it('takes 32 levels and refuses 33', () => {
    // The frame object is level 1 and arguments level 2, so 30 arrays inside make 32.
    const frame = (arrays: number) => `{"type":"tool.call","id":"t","name":"list_services","arguments":{"a":${nestedArrays(arrays - 2)}}}`;
    expect(decodeFrame(frame(32)).ok).toBe(true);
    expect(decodeFrame(frame(33)).ok).toBe(false);
  });

  it('never echoes NUL or half a surrogate pair: an unknown type is refused for its text first', () => {
    const withNul = decodeFrame(JSON.stringify({ type: 'evil\u0000type' }));
    expect(withNul).toEqual({ ok: false, error: { code: 'BAD_MESSAGE', message: 'type: text must not contain NUL characters or unpaired surrogates', ref: null } });
    // 63 letters and then a pair: cutting the echo at 64 must not leave half of it.
    const long = decodeFrame(JSON.stringify({ type: `${'x'.repeat(63)}\u{1F600}tail` }));
    expect(long.ok).toBe(false);
    if (!long.ok) {
      expect(long.error.code).toBe('UNKNOWN_TYPE');
      expect(findJsonProblem(long.error.message)).toBeNull();
    }
  });

  it('names an unstorable key anywhere in the frame', () => {
    const decoded = decodeFrame('{"type":"tool.call","id":"t3","name":"list_services","arguments":{"ok":{"bad\\ud800":1}}}');
    expect(decoded).toEqual({ ok: false, error: { code: 'BAD_MESSAGE', message: 'arguments.ok.bad\ufffd: key must not contain NUL characters or unpaired surrogates', ref: 't3' } });
  });

  it('echoes an unstorable id as storable text', () => {
    const decoded = decodeFrame('{"type":"nope","id":"a\\u0000b"}');
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.ref).toBe('a\ufffdb');
  });
});

describe('storableJson', () => {
  it('copies with unstorable text replaced, deep values cut, and __proto__ kept a plain field', () => {
    const value = JSON.parse('{"__proto__":{"polluted":true},"t\\u0000":["\\ud800x"],"deep":' + nestedArrays(50) + '}');
    const copy = storableJson(value) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__', 't\ufffd', 'deep']);
    expect(copy['t\ufffd']).toEqual(['\ufffdx']);
    expect(JSON.stringify(copy.deep)).toContain('"[nested too deep]"');
    expect(findJsonProblem(copy, 64)).toBeNull();
  });
});
