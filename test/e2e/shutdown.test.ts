/**
 * A broker stopped with SIGTERM (fastify's close) tells live calls to come back: each
 * call socket is closed with 1012 (service restart) after its session was stored, so the
 * runtime reconnects to the restarted broker and resumes.
 */
import { describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { startBroker } from '../fixtures/broker.js';
import { upcoming } from '../fixtures/dates.js';
import { drivers } from '../fixtures/database.js';

describe.each(drivers)('a broker shutting down on %s', (driver) => {
  it('closes live calls with 1012 so their runtimes reconnect', async () => {
    const broker = await startBroker(driver);
    const token = await broker.tenant('sonnenschein');
    const client = await RuntimeClient.connect(broker.url, `shutdown-${driver}`, token);
    await client.start();
    const held = await client.tool('check_availability', { service: 'Herrenschnitt', date: upcoming('fri'), time: '11:00' });
    expect(held.result.available).toBe(true);
    const closed = client.waitClosed();
    await broker.close();
    expect(await closed).toMatchObject({ code: 1012 });
  });
});
