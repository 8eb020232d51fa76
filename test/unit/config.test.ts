import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration from the environment', () => {
  it('applies the defaults of PROTOCOL §1', () => {
    expect(loadConfig({})).toMatchObject({ port: 8080, host: '127.0.0.1', databaseUrl: undefined, dataDir: './data', adminToken: undefined, holdTtlMs: 60_000, holdMaxMs: 600_000, resumeGraceMs: 30_000, startTimeoutMs: 10_000, maxFramesPerS: 50, maxBufferedBytes: 1024 * 1024, maxLiveSessions: 20_000, httpSessionIdleMs: 300_000 });
  });

  it('stops with a message naming each bad variable', () => {
    const bad = () => loadConfig({ PORT: 'eighty', HOLD_TTL_S: '-1', DATABASE_URL: 'mysql://x' });
    expect(bad).toThrow(ConfigError);
    for (const variable of ['PORT', 'HOLD_TTL_S', 'DATABASE_URL']) expect(bad).toThrow(new RegExp(`${variable}: `));
    expect(() => loadConfig({ HOLD_TTL_S: '120', HOLD_MAX_S: '60' })).toThrow(/HOLD_MAX_S/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', ADMIN_TOKEN: '' })).toMatchObject({ databaseUrl: undefined, adminToken: undefined });
  });
});
