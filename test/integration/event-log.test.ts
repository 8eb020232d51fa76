/** The event log against real storage: one call's bad row never costs another call's rows. */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../../src/sessions/event-log.js';
import { DrizzleCatalogStore } from '../../src/store/catalog-store.js';
import { DrizzleSessionStore, type SessionEventRecord } from '../../src/store/session-store.js';
import { demoCatalog } from '../fixtures/catalogs.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';

describe.each(drivers)('event log on %s', (driver) => {
  let database: TestDatabase;
  let store: DrizzleSessionStore;
  const logger = pino({ level: 'silent' });

  beforeAll(async () => {
    database = await openTestDatabase(driver);
    store = new DrizzleSessionStore(database.db);
    const { catalog, customers } = demoCatalog('salon');
    await new DrizzleCatalogStore(database.db).putCatalog(catalog, customers);
  });
  afterAll(() => database.close());

  const opener = { instanceId: 'event-log-test', heldEpoch: null };
  const sessionOf = async () => (await store.openSession('salon', `call-${randomUUID()}`, 1, opener)).session.id;
  const event = (sessionId: string, type: string, payload: unknown): SessionEventRecord => ({
    tenantId: 'salon',
    sessionId,
    epoch: 1,
    at: new Date(),
    direction: 'in',
    type,
    payload,
    toolCallId: null,
    latencyMs: null,
  });

  it('stores frames with NUL and lone surrogates as storable text, beside other calls\' frames of the same batch', async () => {
    const [victim, attacker] = [await sessionOf(), await sessionOf()];
    const log = new EventLog(store, logger);
    log.record(event(victim, 'ping', { type: 'ping', id: 1 }));
    log.record(event(attacker, 'bad\u0000type', { type: 'x', text: 'a\u0000b', ['k\ud800']: ['\udc00'] }));
    log.record(event(victim, 'transcript', { type: 'transcript', text: 'Guten Tag' }));
    await log.flush();
    expect((await store.events('salon', victim)).map((row) => row.type)).toEqual(['ping', 'transcript']);
    const [stored] = await store.events('salon', attacker);
    expect(stored).toMatchObject({ type: 'bad\ufffdtype', payload: { type: 'x', text: 'a\ufffdb', ['k\ufffd']: ['\ufffd'] } });
  });

  it('writes the rest of a batch when storage refuses one row', async () => {
    const victim = await sessionOf();
    const log = new EventLog(store, logger);
    log.record(event(victim, 'ping', { n: 1 }));
    log.record(event(randomUUID(), 'ping', { n: 'of a session that does not exist' }));
    log.record(event(victim, 'ping', { n: 2 }));
    await log.flush();
    expect((await store.events('salon', victim)).map((row) => row.payload)).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
