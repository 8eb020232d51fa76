/**
 * Several broker instances on one PostgreSQL database (PROTOCOL §3, last bullet of
 * "Sessions, reconnects and holds"; issue 10): real broker processes, `a` and `b` for the
 * whole file and one more for each test that freezes (SIGSTOP) or kills (SIGKILL) an
 * instance, behind no load balancer at all — each client picks the instance, as a balancer
 * without stickiness may. A connection to another instance takes the session over with its hold,
 * the older connection is closed with 4000 wherever it is, and the instance that lost the
 * session never writes for it again; the sessions of an instance that died are ended by
 * another once its lease (`INSTANCE_LEASE_S`) and the grace (`RESUME_GRACE_S`) are over.
 *
 * PostgreSQL only: PGlite lives inside one process, two brokers cannot share it.
 */
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../../bench/broker-process.js';
import { RuntimeClient, type Frame } from '../../src/harness/runtime-client.js';
import { rowsOf } from '../../src/store/booking-store.js';
import { demoCatalogBody } from '../fixtures/catalogs.js';
import { upcoming } from '../fixtures/dates.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';

const RESUME_GRACE_S = 2;
const INSTANCE_LEASE_S = 2;
/**
 * Long enough that no hold expires on its own while a test looks at it, short enough that
 * an extension falls due (a third of the TTL after the last) within a test.
 */
const HOLD_TTL_S = 12;
/** PROTOCOL §3: the older connection is closed with 4000 within 1 s of the takeover. */
const TAKEOVER_CLOSE_MS = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with `promise`, or rejects once `ms` have passed. */
function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))),
  ]);
}

const holdOf = (frame: Frame) => frame.hold as { id: string; status: string };

describe.runIf(drivers.includes('postgres'))('several broker instances on one database (postgres)', () => {
  let database: TestDatabase;
  /** The two instances every test may use. */
  let a: BrokerProcess;
  let b: BrokerProcess;
  /**
   * One instance for each test that freezes or kills one, so whatever an instance does once
   * it finds it lost its lease cannot reach the other tests. Started with `a` and `b` (in
   * parallel, to save the file a start each), killed after their test.
   */
  let stale: BrokerProcess;
  let doomed: BrokerProcess;
  const killAfterTest = new Set<BrokerProcess>();
  /** Every broker started, by instance id: for their output when a test fails, and so none outlives this file. */
  const brokers = new Map<string, BrokerProcess>();
  /** The clients of the running test, closed after it. */
  let clients: RuntimeClient[] = [];

  const startInstance = async (id: string, env: Record<string, string> = {}) => {
    const broker = await startBrokerProcess({
      databaseUrl: database.url,
      env: { INSTANCE_ID: id, RESUME_GRACE_S: String(RESUME_GRACE_S), INSTANCE_LEASE_S: String(INSTANCE_LEASE_S), HOLD_TTL_S: String(HOLD_TTL_S), ...env },
    });
    brokers.set(id, broker);
    return broker;
  };

  /**
   * Tool calls below name their ids: a call's tool ids are the session's, across
   * connections and instances, and a repeated id is answered with its first answer.
   */
  const connect = async (broker: BrokerProcess, callId: string, token: string) => {
    const client = await RuntimeClient.connect(broker.url, callId, token);
    clients.push(client);
    return client;
  };

  /** Loads the demo salon as `tenantId` and returns a runtime token; through `a`, but catalog and token are in the shared database. */
  const tenant = async (tenantId: string) => {
    const put = await a.admin('PUT', `/v1/admin/tenants/${tenantId}`, demoCatalogBody);
    if (put.status !== 200) throw new Error(`catalog refused: ${JSON.stringify(put.body)}`);
    return (await a.admin('POST', `/v1/admin/tenants/${tenantId}/runtime-tokens`)).body.token as string;
  };

  const query = async <T>(statement: ReturnType<typeof sql>) => rowsOf<T>(await database.db.execute(statement));
  const holdStatus = async (holdId: string) => (await query<{ status: string }>(sql`SELECT status FROM holds WHERE id = ${holdId}::uuid`))[0]?.status;
  const session = async (tenantId: string, callId: string) =>
    (await query<{ status: string; outcome: string | null }>(sql`SELECT status, outcome FROM sessions WHERE tenant_id = ${tenantId} AND call_id = ${callId}`))[0];
  const bookedAppointments = (tenantId: string, callId: string) =>
    query<{ id: string }>(sql`SELECT id FROM appointments WHERE tenant_id = ${tenantId} AND call_id = ${callId} AND status = 'booked'`);

  beforeAll(async () => {
    database = await openTestDatabase('postgres', { maxConnections: 2 });
    // d's holds outlast the lease and the grace by far: one not held after them was released, not expired.
    [a, b, stale, doomed] = await Promise.all([startInstance('a'), startInstance('b'), startInstance('c'), startInstance('d', { HOLD_TTL_S: '60' })]);
  });
  afterEach(async ({ task }) => {
    for (const client of clients) client.close();
    clients = [];
    if (task.result?.state === 'fail') {
      for (const [id, broker] of brokers) if (broker.output()) process.stderr.write(`--- output of instance ${id}:\n${broker.output()}\n`);
    }
    // SIGKILL also ends a process frozen with SIGSTOP by a test that failed before continuing it.
    await Promise.all([...killAfterTest].map((broker) => broker.stop('SIGKILL')));
    killAfterTest.clear();
  });
  afterAll(async () => {
    await Promise.all([...brokers.values()].map((broker) => broker.stop('SIGKILL')));
    await database?.close();
  });

  it('resumes a call dropped on a and reconnected to b with its hold, which a does not release after its grace', async () => {
    const token = await tenant('several-resume');
    const onA = await connect(a, 'call-moves-to-b', token);
    await onA.start();
    const held = await onA.tool('check_availability', { service: 'Herrenschnitt', date: upcoming('fri'), time: '10:00', staff: 'Fabian' }, 'check-on-first');
    expect(held).toMatchObject({ ok: true, result: { available: true } });
    const holdId = (held.result.hold as { id: string }).id;
    onA.drop();

    const onB = await connect(b, 'call-moves-to-b', token);
    expect(await onB.start()).toMatchObject({ type: 'session.ready', resumed: true, hold: { id: holdId, status: 'held' } });

    // Past a's grace for the connection it lost, twice over: nothing on a may end the call now.
    await sleep(2 * RESUME_GRACE_S * 1000);
    expect(await holdStatus(holdId)).toBe('held');
    expect(await session('several-resume', 'call-moves-to-b')).toMatchObject({ status: 'live', outcome: null });

    const booked = await onB.tool('book_appointment', { customer_name: 'Siegfried Reu' }, 'book-on-b');
    expect(booked).toMatchObject({ ok: true, result: { booked: true } });
    expect(await bookedAppointments('several-resume', 'call-moves-to-b')).toEqual([{ id: (booked.result.appointment as { id: string }).id }]);
    expect(await onB.end()).toMatchObject({ outcome: 'booked' });
  });

  it('closes the older connection on a with 4000 within 1 s when the call connects to b, and books once', async () => {
    const token = await tenant('several-takeover');
    const onA = await connect(a, 'call-taken-over', token);
    await onA.start();
    const held = await onA.tool('check_availability', { service: 'Herrenschnitt', date: upcoming('fri'), time: '11:00', staff: 'Fabian' }, 'check-on-first');
    expect(held).toMatchObject({ ok: true, result: { available: true } });
    const holdId = (held.result.hold as { id: string }).id;

    const onB = await connect(b, 'call-taken-over', token);
    const ready = await onB.start();
    const closedOnA = within(TAKEOVER_CLOSE_MS, onA.waitClosed(), 'the older connection on a closed');
    closedOnA.catch(() => {}); // awaited below, after the bookings
    expect(ready).toMatchObject({ resumed: true, hold: { id: holdId, status: 'held' } });

    // Both connections ask to book at once: the old one on a may still be open (its close
    // is on the way), but a lost the session when b took it over and must not book.
    const [fromA, fromB] = await Promise.all([
      onA.tool('book_appointment', { customer_name: 'Siegfried Reu' }, 'book-on-a', 2000).catch(() => null),
      onB.tool('book_appointment', { customer_name: 'Siegfried Reu' }, 'book-on-b'),
    ]);
    expect(await closedOnA).toMatchObject({ code: 4000 });
    expect(fromB).toMatchObject({ ok: true, result: { booked: true } });
    expect(fromA?.result.booked ?? false).toBe(false);
    expect(await bookedAppointments('several-takeover', 'call-taken-over')).toEqual([{ id: (fromB.result.appointment as { id: string }).id }]);
    expect(await onB.end()).toMatchObject({ outcome: 'booked' });
  });

  it('lets a stopped instance that lost a call write nothing for it once it runs again', async () => {
    killAfterTest.add(stale);
    const token = await tenant('several-stale');
    const onStale = await connect(stale, 'call-left-on-stale-instance', token);
    await onStale.start();
    const held = await onStale.tool('check_availability', { service: 'Herrenschnitt', date: upcoming('fri'), time: '12:00', staff: 'Fabian' }, 'check-on-first');
    expect(held).toMatchObject({ ok: true, result: { available: true } });
    const holdId = (held.result.hold as { id: string }).id;
    onStale.close();
    await onStale.waitClosed();
    // The stale instance has its grace timer running for the call when it freezes (it saw the close; give it a moment to act on it).
    await sleep(300);
    stale.signal('SIGSTOP');

    const onB = await connect(b, 'call-left-on-stale-instance', token);
    expect(await onB.start()).toMatchObject({ resumed: true, hold: { id: holdId, status: 'held' } });
    // Its grace for the call (and its lease) runs out while it is frozen; its timer fires the moment it runs again.
    await sleep(RESUME_GRACE_S * 1000 + 500);
    stale.signal('SIGCONT');
    await sleep(1500);

    expect(await holdStatus(holdId)).toBe('held');
    expect(await session('several-stale', 'call-left-on-stale-instance')).toMatchObject({ status: 'live', outcome: null });
    expect(onB.frames.filter((frame) => frame.type === 'hold.updated').map((frame) => holdOf(frame).status)).not.toContain('released');

    // b still owns the hold: the caller speaking extends it, and the caller can book it.
    onB.send({ type: 'caller.activity', speaking: true });
    const extended = await onB.next((frame) => frame.type === 'hold.updated' && holdOf(frame).status !== 'held', { fromStart: true, timeoutMs: HOLD_TTL_S * 1000 });
    expect(holdOf(extended)).toMatchObject({ id: holdId, status: 'extended' });
    onB.send({ type: 'caller.activity', speaking: false });
    const booked = await onB.tool('book_appointment', { customer_name: 'Siegfried Reu' }, 'book-on-b');
    expect(booked).toMatchObject({ ok: true, result: { booked: true } });
    expect(await bookedAppointments('several-stale', 'call-left-on-stale-instance')).toHaveLength(1);
    expect(await onB.end()).toMatchObject({ outcome: 'booked' });
  });

  it('gives one slot raced for by 40 callers, 20 on each instance, to exactly one of them', async () => {
    const token = await tenant('several-race');
    const callers = await Promise.all(Array.from({ length: 40 }, (_, n) => connect(n % 2 ? b : a, `race-${n}`, token)));
    await Promise.all(callers.map((caller, n) => caller.start({ from: `+49151000000${String(n).padStart(2, '0')}` })));
    const answers = await Promise.all(
      callers.map((caller) => caller.tool('check_availability', { service: 'Herrenschnitt', date: upcoming('thu'), time: '10:00', staff: 'Fabian' })),
    );
    expect(answers.filter((answer) => !answer.ok).map((answer) => answer.error)).toEqual([]);
    expect(answers.filter((answer) => answer.result.available === true)).toHaveLength(1);
    for (const loser of answers.filter((answer) => answer.result.available !== true)) expect(loser.result).toMatchObject({ reason: 'SLOT_TAKEN' });
    const live = await query<{ count: number }>(
      sql`SELECT count(*)::int AS count FROM holds WHERE tenant_id = 'several-race' AND status = 'held' AND expires_at > now()`,
    );
    expect(live).toEqual([{ count: 1 }]);
    await Promise.all(callers.map((caller) => caller.end()));
  });

  it('ends the call of an instance killed with SIGKILL as dropped, its hold released, after the lease and the grace', async () => {
    killAfterTest.add(doomed);
    const token = await tenant('several-crash');
    const onDoomed = await connect(doomed, 'call-on-killed-instance', token);
    await onDoomed.start();
    const held = await onDoomed.tool('check_availability', { service: 'Herrenschnitt', date: upcoming('fri'), time: '13:00', staff: 'Fabian' }, 'check-on-first');
    expect(held).toMatchObject({ ok: true, result: { available: true } });
    const holdId = (held.result.hold as { id: string }).id;

    await doomed.stop('SIGKILL');
    expect((await within(5000, onDoomed.waitClosed(), 'the call on the killed instance dropped')).code).not.toBe(1000);

    // No reconnect: a surviving instance adopts the call once the dead one's lease is over, and ends it after the grace.
    const deadline = Date.now() + (INSTANCE_LEASE_S + RESUME_GRACE_S) * 1000 + 8000;
    let row = await session('several-crash', 'call-on-killed-instance');
    while (row?.status !== 'ended' && Date.now() < deadline) {
      await sleep(200);
      row = await session('several-crash', 'call-on-killed-instance');
    }
    expect(row).toMatchObject({ status: 'ended', outcome: 'dropped' });
    expect(await holdStatus(holdId)).toBe('released');
  });
});
