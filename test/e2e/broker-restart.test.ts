/**
 * The broker as its own process, killed with SIGKILL mid-call and started again: the
 * runtime reconnects with the same call_id and gets its session back, hold intact.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../../bench/broker-process.js';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { demoCatalogBody } from '../fixtures/catalogs.js';
import { upcoming } from '../fixtures/dates.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';

const ADMIN = 'restart-admin-token';

describe.each(drivers)('a broker killed with SIGKILL on %s', (driver) => {
  let database: TestDatabase | null = null;
  let dataDir: string;
  const start = (): Promise<BrokerProcess> =>
    startBrokerProcess({ databaseUrl: database?.url, env: { ADMIN_TOKEN: ADMIN, DATA_DIR: dataDir } });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'callhold-restart-'));
    if (driver === 'postgres') database = await openTestDatabase('postgres', { maxConnections: 1 });
  });
  afterAll(async () => {
    await database?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('resumes the call with its hold after a restart, and the caller can still book', async () => {
    const first = await start();
    try {
      await first.admin('PUT', '/v1/admin/tenants/phoenix', demoCatalogBody);
      const { token } = (await first.admin('POST', '/v1/admin/tenants/phoenix/runtime-tokens')).body as { token: string };

      const before = await RuntimeClient.connect(first.url, 'call-survives-kill', token);
      await before.start();
      const held = await before.tool('check_availability', { service: 'Dauerwelle', date: upcoming('fri'), time: '10:00' }, 'check-before-kill');
      expect(held.result.available).toBe(true);
      // Killed right after the answer, likely before its answer was stored with the event log: the
      // hold was placed under the call's id, so the same id after the restart finds it and answers the same.
      await first.stop('SIGKILL');

      const second = await start();
      try {
        const after = await RuntimeClient.connect(second.url, 'call-survives-kill', token);
        const ready = await after.start();
        expect(ready).toMatchObject({ resumed: true, hold: { id: (held.result.hold as { id: string }).id, status: 'held' } });
        const repeated = await after.tool('check_availability', { service: 'Dauerwelle', date: upcoming('fri'), time: '10:00' }, 'check-before-kill');
        expect(repeated).toEqual(held);
        const booked = await after.tool('book_appointment', { customer_name: 'Siegfried Reu' }, 'book-after-restart');
        expect(booked).toMatchObject({ ok: true, result: { booked: true } });
        expect(await after.end()).toMatchObject({ outcome: 'booked' });
      } finally {
        await second.stop('SIGKILL');
      }
    } finally {
      await first.stop('SIGKILL');
    }
  }, 60_000);
});
