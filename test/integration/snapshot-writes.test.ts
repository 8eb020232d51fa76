/**
 * Session snapshots against real storage: the sessions that change in the same moment are
 * stored in one statement; a session taken over by another instance, or one whose
 * snapshot storage refuses, costs the others nothing; a session's writes never overlap,
 * and one made while another is under way stores the latest state.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, createActor, setup } from 'xstate';
import type { SessionFence } from '../../src/booking/ports.js';
import { SessionOwnership } from '../../src/sessions/ownership.js';
import type { SessionWrite } from '../../src/sessions/ports.js';
import { SnapshotWriter, SnapshotWrites } from '../../src/sessions/snapshot-writer.js';
import { DrizzleCatalogStore } from '../../src/store/catalog-store.js';
import { DrizzleSessionStore } from '../../src/store/session-store.js';
import { demoCatalog } from '../fixtures/catalogs.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';

/** The store, with each statement's sessions recorded, and a gate a test can hold a statement at. */
class RecordingSessionStore extends DrizzleSessionStore {
  statements: string[][] = [];
  gate: Promise<void> = Promise.resolve();
  inFlight = 0;
  mostInFlight = 0;
  override async saveSessions(writes: SessionWrite[]): Promise<string[]> {
    this.statements.push(writes.map(({ fence }) => fence.sessionId));
    this.mostInFlight = Math.max(this.mostInFlight, ++this.inFlight);
    try {
      await this.gate;
      return await super.saveSessions(writes);
    } finally {
      this.inFlight--;
    }
  }
}

/** A machine with the context fields a snapshot writer watches; `ask` changes what was asked. */
const askingMachine = setup({
  types: { context: {} as { hold: null; appointment: null; request: unknown; disconnectedAt: null; outcome: null }, events: {} as { type: 'ask'; request: unknown } },
}).createMachine({
  context: { hold: null, appointment: null, request: null, disconnectedAt: null, outcome: null },
  on: { ask: { actions: assign({ request: ({ event }) => event.request }) } },
});

describe.each(drivers)('session snapshots on %s', (driver) => {
  let database: TestDatabase;
  let store: RecordingSessionStore;
  const ownership = new SessionOwnership('snapshots-test');
  const lost: SessionFence[] = [];
  ownership.whenLost((fence) => lost.push(fence));
  let writes: SnapshotWrites;

  beforeAll(async () => {
    database = await openTestDatabase(driver);
    store = new RecordingSessionStore(database.db);
    const { catalog, customers } = demoCatalog('salon');
    await new DrizzleCatalogStore(database.db).putCatalog(catalog, customers);
    writes = new SnapshotWrites(store, ownership, pino({ level: 'silent' }));
  });
  afterAll(() => database.close());

  async function liveSession() {
    const callId = `call-${randomUUID()}`;
    const { session } = await store.openSession('salon', callId, 1, { instanceId: ownership.instanceId, heldEpoch: null });
    const fence: SessionFence = { tenantId: 'salon', sessionId: session.id, epoch: session.ownerEpoch };
    ownership.own(fence.tenantId, fence.sessionId, fence.epoch);
    const actor = createActor(askingMachine).start();
    const writer = new SnapshotWriter(() => fence, actor, writes);
    return { callId, fence, actor, writer };
  }
  const storedRequest = async (callId: string) =>
    ((await store.findSession('salon', callId))?.snapshot as { context?: { request?: unknown } } | null)?.context?.request;

  it('stores the sessions that changed in the same moment in one statement', async () => {
    const calls = await Promise.all(Array.from({ length: 40 }, liveSession));
    store.statements = [];
    for (const [index, { actor, writer }] of calls.entries()) {
      actor.send({ type: 'ask', request: { slot: index } });
      writer.observe(actor.getSnapshot().context as never);
    }
    await Promise.all(calls.map(({ writer }) => writer.write()));
    expect(store.statements).toHaveLength(1);
    expect(new Set(store.statements[0])).toEqual(new Set(calls.map(({ fence }) => fence.sessionId)));
    for (const [index, { callId }] of calls.entries()) expect(await storedRequest(callId)).toEqual({ slot: index });
  });

  it('refuses a session another instance took over, reports the loss once and writes nothing more for it, and writes the others', async () => {
    const [kept, taken] = [await liveSession(), await liveSession()];
    await store.openSession('salon', taken.callId, 1, { instanceId: 'another-instance', heldEpoch: null });
    taken.actor.send({ type: 'ask', request: 'stale' });
    kept.actor.send({ type: 'ask', request: 'kept' });
    await Promise.all([taken.writer.write(), kept.writer.write()]);
    expect(await storedRequest(kept.callId)).toBe('kept');
    expect(await storedRequest(taken.callId)).toBeUndefined();
    expect(lost).toEqual([taken.fence]);
    expect(taken.writer.takenOver).toBe(true);
    store.statements = [];
    await taken.writer.write();
    expect(store.statements).toEqual([]);
  });

  it('writes the others when storage refuses one session’s snapshot for its data', async () => {
    const [bad, good] = [await liveSession(), await liveSession()];
    // PostgreSQL's jsonb has no place for U+0000.
    bad.actor.send({ type: 'ask', request: 'nul \u0000 inside' });
    good.actor.send({ type: 'ask', request: 'fine' });
    await Promise.all([bad.writer.write(), good.writer.write()]);
    expect(await storedRequest(good.callId)).toBe('fine');
    expect(await storedRequest(bad.callId)).toBeUndefined();
  });

  it('never overlaps a session’s writes: changes during a write are stored by one more write, with the latest state', async () => {
    const call = await liveSession();
    store.statements = [];
    store.mostInFlight = 0;
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    call.actor.send({ type: 'ask', request: 1 });
    const first = call.writer.write();
    await expect.poll(() => store.statements.length).toBe(1);
    // The first write is held in storage now; these two collapse into one more, after it.
    call.actor.send({ type: 'ask', request: 2 });
    const second = call.writer.write();
    call.actor.send({ type: 'ask', request: 3 });
    expect(call.writer.write()).toBe(second);
    open();
    await Promise.all([first, second]);
    store.gate = Promise.resolve();
    expect(store.statements).toEqual([[call.fence.sessionId], [call.fence.sessionId]]);
    expect(store.mostInFlight).toBe(1);
    expect(await storedRequest(call.callId)).toBe(3);
  });
});
