/**
 * Tool call ids as idempotency keys (PROTOCOL §4), against real storage: an answer that
 * reports a change to bookings is stored before it goes out, unless the change was made
 * under the call's id; that one, a refusal and a read-only answer ride with the event
 * log; a repeated id gets the first answer and runs nothing.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolCall, ToolOutcome } from '../../machines/call-session.types.js';
import type { SessionFence } from '../../src/booking/ports.js';
import { EventLog } from '../../src/sessions/event-log.js';
import { ToolAnswers } from '../../src/sessions/tool-answers.js';
import { DrizzleCatalogStore } from '../../src/store/catalog-store.js';
import { DrizzleSessionStore } from '../../src/store/session-store.js';
import { demoCatalog } from '../fixtures/catalogs.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';

type Answer = Omit<ToolOutcome, 'finishedAt'>;

const held: Answer = {
  response: { ok: true, result: { available: true, hold: { id: 'h1' } } },
  hold: { kind: 'placed', hold: { id: 'h1', serviceId: 'herrenschnitt', staffId: 'fabian', start: 0, end: 1, placedAt: 0, expiresAt: 2, maxExpiresAt: 3 } },
};
const refused: Answer = { response: { ok: true, result: { available: false, reason: 'SLOT_TAKEN', alternatives: [] } }, request: null, alternatives: [] };
const heldUnderCallId: Answer = { ...held, keyedByCall: true };
const cancelled: Answer = { response: { ok: true, result: { cancelled: true } }, cancelledAppointmentId: randomUUID() };

describe.each(drivers)('tool answers on %s', (driver) => {
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

  /** A fresh session, and answers whose event log flushes only when told (an hour otherwise). */
  async function setUp() {
    const { session } = await store.openSession('salon', `call-${randomUUID()}`, 1, { instanceId: 'answers-test', heldEpoch: null });
    const fence: SessionFence = { tenantId: 'salon', sessionId: session.id, epoch: session.ownerEpoch };
    const log = new EventLog(store, logger, 3_600_000);
    const answers = new ToolAnswers(store, log, logger);
    answers.track(session.id, true);
    return { fence, log, answers };
  }
  const call = (name: string): ToolCall => ({ id: `t-${randomUUID()}`, name, arguments: {}, receivedAt: 0 });
  const stored = (fence: SessionFence, id: string) => store.findToolResult(fence.tenantId, fence.sessionId, id);

  it('stores an answer that placed a hold or cancelled before it is given', async () => {
    const { fence, log, answers } = await setUp();
    for (const [name, answer] of [['check_availability', held], ['cancel_appointment', cancelled]] as const) {
      const asked = call(name);
      await answers.answer(fence, asked, async () => answer);
      expect(await stored(fence, asked.id)).toEqual(answer.response);
    }
    await log.flush();
  });

  it('keeps a refusal, a read-only answer and a hold placed under the call id with the event log, and stores them when it flushes', async () => {
    const { fence, log, answers } = await setUp();
    const check = call('check_availability');
    const context = call('get_current_context');
    const keyed = call('check_availability');
    await answers.answer(fence, check, async () => refused);
    await answers.answer(fence, context, async () => ({ response: { ok: true, result: { now: 'x' } } }));
    await answers.answer(fence, keyed, async () => heldUnderCallId);
    expect(await stored(fence, check.id)).toBeNull();
    expect(await stored(fence, context.id)).toBeNull();
    expect(await stored(fence, keyed.id)).toBeNull();
    await log.flush();
    expect(await stored(fence, check.id)).toEqual(refused.response);
    expect(await stored(fence, context.id)).toEqual({ ok: true, result: { now: 'x' } });
    expect(await stored(fence, keyed.id)).toEqual(heldUnderCallId.response);
  });

  it('tells a run that its id may have run before: after a failed run of it, and in a session resumed from storage', async () => {
    const { fence, log, answers } = await setUp();
    const asked: boolean[] = [];
    const check = call('check_availability');
    await expect(answers.answer(fence, check, async (repeated) => (asked.push(repeated), Promise.reject(new Error('connection lost after the commit'))))).rejects.toThrow();
    await answers.answer(fence, check, async (repeated) => (asked.push(repeated), heldUnderCallId));
    await answers.answer(fence, call('check_availability'), async (repeated) => (asked.push(repeated), refused));
    const resumed = new ToolAnswers(store, log, logger);
    resumed.track(fence.sessionId, false);
    await resumed.answer(fence, call('get_current_context'), async (repeated) => (asked.push(repeated), { response: { ok: true, result: {} } }));
    expect(asked).toEqual([false, true, false, true]);
    await log.flush();
  });

  it('gives a repeated id its first answer without running the tool again, before and after the flush', async () => {
    const { fence, log, answers } = await setUp();
    const check = call('check_availability');
    let runs = 0;
    const run = async () => (++runs === 1 ? refused : held);
    expect((await answers.answer(fence, check, run)).response).toEqual(refused.response);
    expect((await answers.answer(fence, check, run)).response).toEqual(refused.response);
    await log.flush();
    // A broker that did not start the session (resumed after a restart) reads storage.
    const resumed = new ToolAnswers(store, log, logger);
    resumed.track(fence.sessionId, false);
    expect((await resumed.answer(fence, check, run)).response).toEqual(refused.response);
    expect(runs).toBe(1);
  });
});
