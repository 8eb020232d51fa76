/**
 * The broker as its own process, killed with SIGKILL mid-call and started again: the
 * runtime reconnects with the same call_id and gets its session back, hold intact.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { demoCatalogBody } from '../fixtures/catalogs.js';
import { upcoming } from '../fixtures/dates.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';

const ADMIN = 'restart-admin-token';

function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, PORT: '0', ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (!line.includes('callhold broker listening')) return;
      resolve({ child, url: (JSON.parse(line) as { address: string }).address });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
  });
}

const killed = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

describe.each(drivers)('a broker killed with SIGKILL on %s', (driver) => {
  let database: TestDatabase | null = null;
  let env: Record<string, string>;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'callhold-restart-'));
    if (driver === 'postgres') {
      database = await openTestDatabase('postgres', { maxConnections: 1 });
      env = { DATABASE_URL: database.url! };
    } else {
      env = { DATA_DIR: dataDir, DATABASE_URL: '' };
    }
  });
  afterAll(async () => {
    await database?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('resumes the call with its hold after a restart, and the caller can still book', async () => {
    const first = await startServer(env);
    const admin = (method: string, path: string, body?: unknown) =>
      fetch(new URL(path, first.url), {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      }).then((response) => response.json());
    await admin('PUT', '/v1/admin/tenants/phoenix', demoCatalogBody);
    const { token } = (await admin('POST', '/v1/admin/tenants/phoenix/runtime-tokens')) as { token: string };

    const before = await RuntimeClient.connect(first.url, 'call-survives-kill', token);
    await before.start();
    const held = await before.tool('check_availability', { service: 'Dauerwelle', date: upcoming('fri'), time: '10:00' }, 'check-before-kill');
    expect(held.result.available).toBe(true);
    // Killed right after the answer: an answer that placed a hold was stored before it went out.
    await killed(first.child);

    const second = await startServer(env);
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
      await killed(second.child);
    }
  }, 60_000);
});
