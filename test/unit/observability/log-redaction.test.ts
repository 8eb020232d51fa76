import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../../src/observability/log-redaction.js';

describe('redactUrl', () => {
  it.each([
    ['/v1/calls/a?token=rt_secret', '/v1/calls/a?token=[REDACTED]'],
    ['/v1/calls/a?x=1&TOKEN=s&y=2', '/v1/calls/a?x=1&TOKEN=[REDACTED]&y=2'],
    ['/v1/calls/a?%74oken=s', '/v1/calls/a?%74oken=[REDACTED]'],
    ['/v1/calls/a?token', '/v1/calls/a?token=[REDACTED]'],
    ['/v1/calls/a?token=a&token=b', '/v1/calls/a?token=[REDACTED]&token=[REDACTED]'],
    ['/v1/x?api_key=k&secret=s&access_token=t', '/v1/x?api_key=[REDACTED]&secret=[REDACTED]&access_token=[REDACTED]'],
    ['/v1/x?%E0%A4%A=1&token=s', '/v1/x?%E0%A4%A=1&token=[REDACTED]'],
  ])('%s is logged as %s', (url, logged) => {
    expect(redactUrl(url)).toBe(logged);
  });

  it('leaves URLs without secrets as they are', () => {
    for (const url of ['/healthz', '/v1/sessions?tenant=a&status=live', '/v1/x?tokens=1&my_token=2']) expect(redactUrl(url)).toBe(url);
  });
});
