/**
 * The session machine on its own: no socket, no database. Storage is a scripted fake
 * and time is xstate's SimulatedClock, so hours of hold life run in microseconds.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { callSessionMachine, clockDelays } from '../../../machines/call-session.machine.js';
import type {
  CallSessionEmitted,
  ExpiryCheck,
  ExtensionResult,
  HoldView,
  SessionView,
  ToolCall,
  ToolOutcome,
} from '../../../machines/call-session.types.js';

const TTL = 60_000;
const MAX = 600_000;
const GRACE = 30_000;

interface FakeStorage {
  extensions: number;
  released: Array<string | null>;
  expiryChecks: number;
  /** What the database says when the deadline timer asks; default: expired. */
  expiry: (hold: HoldView, now: number) => ExpiryCheck;
  tool: (call: ToolCall, session: SessionView, now: number) => ToolOutcome | Promise<ToolOutcome>;
}

function start(storage: Partial<FakeStorage> = {}) {
  const clock = new SimulatedClock();
  const fake: FakeStorage = {
    extensions: 0,
    released: [],
    expiryChecks: 0,
    expiry: () => ({ status: 'expired' }),
    tool: (_call, _session, now) => ({ response: { ok: true, result: {} }, finishedAt: now }),
    ...storage,
  };
  let hold: HoldView | null = null;
  const machine = callSessionMachine.provide({
    delays: clockDelays(() => clock.now()),
    actors: {
      runTool: fromPromise(async ({ input }) => {
        const outcome = await fake.tool(input.call, input.session, clock.now());
        if (outcome.hold?.kind === 'placed') hold = outcome.hold.hold;
        return outcome;
      }),
      extendHold: fromPromise(async (): Promise<ExtensionResult> => {
        fake.extensions++;
        const expiresAt = Math.min(clock.now() + TTL, hold!.maxExpiresAt);
        hold = { ...hold!, expiresAt };
        return { extended: true, expiresAt };
      }),
      expireHold: fromPromise(async () => {
        fake.expiryChecks++;
        return fake.expiry(hold!, clock.now());
      }),
      releaseHold: fromPromise(async ({ input }) => {
        fake.released.push(input.holdId);
      }),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: {
      sessionId: 's1',
      tenantId: 'salon',
      callId: 'call-1',
      locale: 'de-DE',
      callerPhone: '+4915112345678',
      holdTtlMs: TTL,
      resumeGraceMs: GRACE,
      toolTimeoutMs: 2000,
      unavailableResponse: { ok: false, result: {}, error: { code: 'UNAVAILABLE', message: 'storage down' } },
    },
  });
  const emitted: CallSessionEmitted[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  return { actor, clock, fake, emitted };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function holdAt(now: number): HoldView {
  return { id: 'h1', serviceId: 'dauerwelle', staffId: 'fabian', start: now + 86_400_000, end: now + 86_400_000 + 105 * 60_000, placedAt: now, expiresAt: now + TTL, maxExpiresAt: now + MAX };
}

const placingTool = (call: ToolCall, _session: SessionView, now: number): ToolOutcome =>
  call.name === 'check_availability'
    ? { response: { ok: true, result: { available: true } }, hold: { kind: 'placed', hold: holdAt(now) }, finishedAt: now + 3 }
    : call.name === 'book_appointment'
      ? {
          response: { ok: true, result: { booked: true } },
          hold: { kind: 'ended', status: 'booked' },
          appointment: { id: 'a1', serviceId: 'dauerwelle', staffId: 'fabian', start: 1, end: 2 },
          finishedAt: now + 5,
        }
      : { response: { ok: true, result: {} }, finishedAt: now };

async function callTool(session: ReturnType<typeof start>, name: string, id = name) {
  session.actor.send({ type: 'tool.requested', call: { id, name, arguments: {}, receivedAt: session.clock.now() } });
  await settle();
}

async function advance(session: ReturnType<typeof start>, ms: number, stepMs = 1000) {
  for (let passed = 0; passed < ms; passed += stepMs) {
    session.clock.increment(Math.min(stepMs, ms - passed));
    await settle();
  }
}

const holdUpdates = (emitted: CallSessionEmitted[]) => emitted.flatMap((event) => (event.type === 'hold.updated' ? [event.status] : []));

describe('call session machine', () => {
  it('holds on a free slot and answers the tool with its latency, hold update after the answer', async () => {
    const session = start({ tool: placingTool });
    await callTool(session, 'check_availability', 't1');
    expect(session.actor.getSnapshot().value).toMatchObject({ live: { hold: { held: 'steady' }, tools: 'idle' } });
    expect(session.emitted.map((event) => event.type)).toEqual(['tool.answered', 'hold.updated']);
    expect(session.emitted[0]).toMatchObject({ type: 'tool.answered', latencyMs: 3, call: { id: 't1' } });
    expect(holdUpdates(session.emitted)).toEqual(['held']);
  });

  it('extends the hold while the caller talks, coalescing writes to about three a minute, past the TTL', async () => {
    const session = start({ tool: placingTool });
    await callTool(session, 'check_availability');
    for (let second = 0; second < 180; second++) {
      session.actor.send({ type: 'caller.transcript', at: session.clock.now() });
      await advance(session, 1000);
    }
    expect(session.fake.extensions).toBeGreaterThanOrEqual(8);
    expect(session.fake.extensions).toBeLessThanOrEqual(9);
    expect(session.actor.getSnapshot().context.hold).not.toBeNull();
    expect(session.fake.expiryChecks).toBe(0);
    expect(holdUpdates(session.emitted).filter((status) => status === 'extended')).toHaveLength(session.fake.extensions);
  });

  it('keeps extending while the caller is speaking without new frames, and stops when they stop', async () => {
    const session = start({ tool: placingTool });
    await callTool(session, 'check_availability');
    session.actor.send({ type: 'caller.activity', speaking: true, at: session.clock.now() });
    await advance(session, 150_000);
    expect(session.actor.getSnapshot().context.hold).not.toBeNull();
    session.actor.send({ type: 'caller.activity', speaking: false, at: session.clock.now() });
    await advance(session, TTL + 1000);
    expect(session.actor.getSnapshot().context.hold).toBeNull();
    expect(holdUpdates(session.emitted).at(-1)).toBe('expired');
  });

  it('leaves the snapshot as it is for caller frames that change nothing, and still extends for a talking caller', async () => {
    const session = start({ tool: placingTool });
    await callTool(session, 'check_availability');
    session.actor.send({ type: 'caller.activity', speaking: true, at: session.clock.now() });
    const talking = session.actor.getSnapshot();
    expect(talking.context.callerSpeaking).toBe(true);
    session.actor.send({ type: 'caller.activity', speaking: true, at: session.clock.now() });
    session.actor.send({ type: 'caller.transcript', at: session.clock.now() });
    expect(session.actor.getSnapshot()).toBe(talking);
    await advance(session, TTL);
    expect(session.fake.extensions).toBeGreaterThan(0);
    session.actor.send({ type: 'caller.activity', speaking: false, at: session.clock.now() });
    expect(session.actor.getSnapshot().context.callerSpeaking).toBe(false);
  });

  it('expires the hold by itself when the caller goes silent, without waiting for a frame', async () => {
    const session = start({ tool: placingTool });
    await callTool(session, 'check_availability');
    await advance(session, TTL - 1000);
    expect(session.fake.expiryChecks).toBe(0);
    await advance(session, 2000);
    expect(session.fake.expiryChecks).toBe(1);
    expect(session.actor.getSnapshot().value).toMatchObject({ live: { hold: 'none' } });
    expect(holdUpdates(session.emitted)).toEqual(['held', 'expired']);
  });

  it('reports a hold lost to another caller as lost', async () => {
    const session = start({ tool: placingTool, expiry: () => ({ status: 'lost' }) });
    await callTool(session, 'check_availability');
    await advance(session, TTL + 1000);
    expect(holdUpdates(session.emitted)).toEqual(['held', 'lost']);
  });

  it('re-arms the deadline when the database clock has not reached it yet', async () => {
    let asked = 0;
    const session = start({
      tool: placingTool,
      expiry: (_hold, now) => (asked++ === 0 ? { status: 'held', expiresAt: now + 500 } : { status: 'expired' }),
    });
    await callTool(session, 'check_availability');
    await advance(session, TTL + 2000, 250);
    expect(session.fake.expiryChecks).toBe(2);
    expect(holdUpdates(session.emitted)).toEqual(['held', 'expired']);
  });

  it('never extends past placed + HOLD_MAX_S', async () => {
    const session = start({ tool: placingTool });
    await callTool(session, 'check_availability');
    session.actor.send({ type: 'caller.activity', speaking: true, at: session.clock.now() });
    await advance(session, MAX + 5000, 5000);
    expect(session.actor.getSnapshot().context.hold).toBeNull();
    expect(holdUpdates(session.emitted).at(-1)).toBe('expired');
  });

  it('books with a hold: the hold ends as booked and the session ends as booked', async () => {
    const session = start({ tool: placingTool });
    await callTool(session, 'check_availability');
    await callTool(session, 'book_appointment');
    expect(holdUpdates(session.emitted)).toEqual(['held', 'booked']);
    session.actor.send({ type: 'session.end', at: session.clock.now() });
    await settle();
    expect(session.actor.getSnapshot().status).toBe('done');
    expect(session.fake.released).toEqual([null]);
    expect(session.emitted.at(-1)).toMatchObject({ type: 'session.ended', outcome: 'booked', appointment: { id: 'a1' } });
  });

  it('books without a hold (a direct booking) and remembers the appointment', async () => {
    const session = start({ tool: placingTool });
    await callTool(session, 'book_appointment');
    expect(session.actor.getSnapshot().context.appointment).toMatchObject({ id: 'a1' });
    expect(holdUpdates(session.emitted)).toEqual([]);
  });

  it('remembers alternatives offered when a slot is refused and keeps no hold', async () => {
    const session = start({
      tool: (_call, _session, now) => ({
        response: { ok: true, result: { available: false, alternatives: [{}] } },
        request: { serviceId: 'dauerwelle', date: '2025-11-28', time: '10:00', staffId: null },
        alternatives: [{ start: now + 1, end: now + 2, staffId: 'lena' }],
        finishedAt: now,
      }),
    });
    await callTool(session, 'check_availability');
    const context = session.actor.getSnapshot().context;
    expect(context.alternatives).toHaveLength(1);
    expect(context.request).toMatchObject({ serviceId: 'dauerwelle' });
    expect(context.hold).toBeNull();
  });

  it('releases an unbooked hold when the session ends', async () => {
    const session = start({ tool: placingTool });
    await callTool(session, 'check_availability');
    session.actor.send({ type: 'session.end', at: session.clock.now() });
    await settle();
    expect(session.fake.released).toEqual(['h1']);
    expect(holdUpdates(session.emitted)).toEqual(['held', 'released']);
    expect(session.emitted.at(-1)).toMatchObject({ type: 'session.ended', outcome: 'no_booking', appointment: null });
  });

  it('answers tools still running or queued before it ends the call, so a booking in flight counts', async () => {
    let finishBooking: () => void = () => {};
    const session = start({
      tool: (call, s, now) =>
        call.name === 'book_appointment' ? new Promise<ToolOutcome>((resolve) => (finishBooking = () => resolve(placingTool(call, s, now)))) : placingTool(call, s, now),
    });
    await callTool(session, 'check_availability');
    await callTool(session, 'book_appointment');
    await callTool(session, 'list_services');
    session.actor.send({ type: 'session.end', at: session.clock.now() });
    await settle();
    expect(session.actor.getSnapshot().status).toBe('active');
    finishBooking();
    for (let i = 0; i < 4; i++) await settle();
    const answered = session.emitted.flatMap((event) => (event.type === 'tool.answered' ? [event.call.id] : []));
    expect(answered).toEqual(['check_availability', 'book_appointment', 'list_services']);
    expect(session.emitted.at(-1)).toMatchObject({ type: 'session.ended', outcome: 'booked', appointment: { id: 'a1' } });
    expect(session.fake.released.filter((id) => id !== null)).toEqual([]);
  });

  it('ends as no_booking when the call cancelled the appointment it booked', async () => {
    const session = start({
      tool: (call, s, now) =>
        call.name === 'cancel_appointment' ? { response: { ok: true, result: { cancelled: true } }, cancelledAppointmentId: 'a1', finishedAt: now } : placingTool(call, s, now),
    });
    await callTool(session, 'check_availability');
    await callTool(session, 'book_appointment');
    await callTool(session, 'cancel_appointment');
    session.actor.send({ type: 'session.end', at: session.clock.now() });
    await settle();
    expect(session.emitted.at(-1)).toMatchObject({ type: 'session.ended', outcome: 'no_booking', appointment: null });
  });

  it('says the earlier hold was released when a new check replaced it', async () => {
    let placed = 0;
    const session = start({
      tool: (call, s, now) => {
        const outcome = placingTool(call, s, now);
        return outcome.hold?.kind === 'placed' ? { ...outcome, hold: { kind: 'placed', hold: { ...outcome.hold.hold, id: `h${++placed}` } } } : outcome;
      },
    });
    await callTool(session, 'check_availability', 'c1');
    await callTool(session, 'check_availability', 'c2');
    const updates = session.emitted.flatMap((event) => (event.type === 'hold.updated' ? [`${event.status} ${event.hold.id}`] : []));
    expect(updates).toEqual(['held h1', 'released h1', 'held h2']);
  });

  it('ends as dropped and releases the hold when the connection stays away past the grace period', async () => {
    const session = start({ tool: placingTool });
    await callTool(session, 'check_availability');
    session.actor.send({ type: 'connection.lost', at: session.clock.now() });
    await advance(session, GRACE - 1000);
    session.actor.send({ type: 'connection.opened', at: session.clock.now() });
    session.actor.send({ type: 'connection.lost', at: session.clock.now() });
    await advance(session, GRACE - 1000);
    expect(session.actor.getSnapshot().status).toBe('active');
    await advance(session, 2000);
    expect(session.actor.getSnapshot().status).toBe('done');
    expect(session.fake.released).toEqual(['h1']);
    expect(session.emitted.at(-1)).toMatchObject({ type: 'session.ended', outcome: 'dropped' });
  });

  it('answers UNAVAILABLE within the tool timeout when storage hangs, and goes on', async () => {
    const session = start({ tool: (call, _s, now) => (call.name === 'hang' ? new Promise<ToolOutcome>(() => {}) : { response: { ok: true, result: {} }, finishedAt: now }) });
    await callTool(session, 'hang', 'a');
    await callTool(session, 'list_services', 'b');
    await advance(session, 2000, 500);
    const answers = session.emitted.filter((event) => event.type === 'tool.answered');
    expect(answers.map((event) => [event.call.id, event.response.error?.code])).toEqual([
      ['a', 'UNAVAILABLE'],
      ['b', undefined],
    ]);
  });

  it('answers a call that waited behind a hanging one within the timeout of its own arrival', async () => {
    const session = start({ tool: (_call, _s) => new Promise<ToolOutcome>(() => {}) });
    await callTool(session, 'hang', 'a');
    await advance(session, 500, 500);
    await callTool(session, 'hang', 'b');
    await advance(session, 1500, 500);
    const answeredIds = () => session.emitted.filter((event) => event.type === 'tool.answered').map((event) => event.call.id);
    expect(answeredIds()).toEqual(['a']);
    await advance(session, 500, 500);
    // b came at 500 ms: answered at 2,500 ms, not 2,000 ms after a was given up.
    expect(answeredIds()).toEqual(['a', 'b']);
  });

  it('runs tools one at a time, in the order they came', async () => {
    const order: string[] = [];
    const session = start({
      tool: async (call, _s, now) => {
        order.push(`start ${call.id}`);
        await settle();
        order.push(`end ${call.id}`);
        return { response: { ok: true, result: {} }, finishedAt: now };
      },
    });
    session.actor.send({ type: 'tool.requested', call: { id: '1', name: 'x', arguments: {}, receivedAt: 0 } });
    session.actor.send({ type: 'tool.requested', call: { id: '2', name: 'x', arguments: {}, receivedAt: 0 } });
    for (let i = 0; i < 6; i++) await settle();
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('re-arms the hold deadline and the grace period after a restore from a persisted snapshot', async () => {
    const first = start({ tool: placingTool });
    await callTool(first, 'check_availability');
    const persisted = first.actor.getPersistedSnapshot();
    first.actor.stop();

    const clock = new SimulatedClock();
    clock.set(first.clock.now());
    let expired = 0;
    const machine = callSessionMachine.provide({
      delays: clockDelays(() => clock.now()),
      actors: {
        expireHold: fromPromise(async (): Promise<ExpiryCheck> => {
          expired++;
          return { status: 'expired' };
        }),
        releaseHold: fromPromise(async () => {}),
      },
    });
    const restored = createActor(machine, { clock, snapshot: persisted, input: first.actor.getSnapshot().context });
    const emitted: CallSessionEmitted[] = [];
    restored.on('*', (event) => emitted.push(event));
    restored.start();
    restored.send({ type: 'session.restored', at: clock.now(), hold: first.actor.getSnapshot().context.hold, appointment: null });
    restored.send({ type: 'connection.opened', at: clock.now() });
    clock.increment(TTL + 1);
    await settle();
    expect(expired).toBe(1);
    expect(holdUpdates(emitted)).toEqual(['expired']);
  });

  it('takes storage’s word over the snapshot on restore: a hold the snapshot missed is adopted, a vanished one dropped', async () => {
    const blank = start();
    const persisted = blank.actor.getPersistedSnapshot();
    const input = blank.actor.getSnapshot().context;
    blank.actor.stop();
    const clock = new SimulatedClock();
    clock.set(blank.clock.now());
    let expired = 0;
    const machine = callSessionMachine.provide({
      delays: clockDelays(() => clock.now()),
      actors: {
        expireHold: fromPromise(async (): Promise<ExpiryCheck> => {
          expired++;
          return { status: 'expired' };
        }),
      },
    });
    const adopted = createActor(machine, { clock, snapshot: persisted, input });
    adopted.start();
    adopted.send({ type: 'session.restored', at: clock.now(), hold: holdAt(clock.now()), appointment: null });
    adopted.send({ type: 'connection.opened', at: clock.now() });
    expect(adopted.getSnapshot().context.hold).toMatchObject({ id: 'h1' });
    expect(adopted.getSnapshot().value).toMatchObject({ live: { hold: { held: 'steady' } } });
    clock.increment(TTL + 1);
    await settle();
    expect(expired).toBe(1);

    const withHold = start({ tool: placingTool });
    await callTool(withHold, 'check_availability');
    const vanished = createActor(machine, { clock, snapshot: withHold.actor.getPersistedSnapshot(), input });
    vanished.start();
    vanished.send({ type: 'session.restored', at: clock.now(), hold: null, appointment: { id: 'a9', serviceId: 's', staffId: 'f', start: 1, end: 2 } });
    expect(vanished.getSnapshot().context).toMatchObject({ hold: null, appointment: { id: 'a9' } });
    expect(vanished.getSnapshot().value).toMatchObject({ live: { hold: 'none' } });
  });

  describe('a tool answered UNAVAILABLE that commits after all (PROTOCOL §3: the session takes the database’s word)', () => {
    const hangingBooking = (call: ToolCall, s: SessionView, now: number) =>
      call.name === 'book_appointment' ? new Promise<ToolOutcome>(() => {}) : placingTool(call, s, now);
    const lateBooking = (now: number) => placingTool({ id: 'b', name: 'book_appointment', arguments: {}, receivedAt: now }, {} as SessionView, now);

    it('adopts a late booking at once: appointment.updated and hold.updated booked, and the call ends as booked', async () => {
      const session = start({ tool: hangingBooking });
      await callTool(session, 'check_availability');
      await callTool(session, 'book_appointment', 'b');
      await advance(session, 2000, 500);
      expect(session.emitted.filter((e) => e.type === 'tool.answered').map((e) => e.response.error?.code)).toEqual([undefined, 'UNAVAILABLE']);
      session.actor.send({ type: 'tool.settledLate', call: { id: 'b', name: 'book_appointment', arguments: {}, receivedAt: 0 }, outcome: lateBooking(session.clock.now()), holdIdWhenAsked: 'h1' });
      await settle();
      expect(session.emitted.filter((e) => e.type !== 'tool.answered')).toEqual([
        expect.objectContaining({ type: 'hold.updated', status: 'held' }),
        { type: 'appointment.updated', status: 'booked', appointment: expect.objectContaining({ id: 'a1' }) },
        expect.objectContaining({ type: 'hold.updated', status: 'booked' }),
      ]);
      session.actor.send({ type: 'session.end', at: session.clock.now() });
      await settle();
      expect(session.emitted.at(-1)).toMatchObject({ type: 'session.ended', outcome: 'booked', appointment: { id: 'a1' } });
      expect(session.fake.released).toEqual([null]);
    });

    it('waits for a late result before it ends the call, and ends with what it says', async () => {
      const session = start({ tool: hangingBooking });
      await callTool(session, 'check_availability');
      await callTool(session, 'book_appointment', 'b');
      await advance(session, 2000, 500);
      session.actor.send({ type: 'session.end', at: session.clock.now() });
      await advance(session, 5000);
      expect(session.actor.getSnapshot().status).toBe('active');
      session.actor.send({ type: 'tool.settledLate', call: { id: 'b', name: 'book_appointment', arguments: {}, receivedAt: 0 }, outcome: lateBooking(session.clock.now()), holdIdWhenAsked: 'h1' });
      await settle();
      expect(session.emitted.at(-1)).toMatchObject({ type: 'session.ended', outcome: 'booked' });
      expect(session.fake.released).toEqual([null]);
    });

    it('waits a bounded time: with no word from the run, the call ends and its hold is released', async () => {
      const session = start({ tool: hangingBooking });
      await callTool(session, 'check_availability');
      await callTool(session, 'book_appointment', 'b');
      await advance(session, 2000, 500);
      session.actor.send({ type: 'session.end', at: session.clock.now() });
      await advance(session, 14_000);
      expect(session.actor.getSnapshot().status).toBe('active');
      await advance(session, 1000);
      expect(session.emitted.at(-1)).toMatchObject({ type: 'session.ended', outcome: 'no_booking' });
      expect(session.fake.released).toEqual(['h1']);
    });

    it('gives up a hold placed late when the session has placed a newer one since', async () => {
      let placed = 0;
      const session = start({
        tool: (call, s, now) => {
          if (call.id === 'slow') return new Promise<ToolOutcome>(() => {});
          const outcome = placingTool(call, s, now);
          return outcome.hold?.kind === 'placed' ? { ...outcome, hold: { kind: 'placed', hold: { ...outcome.hold.hold, id: `h${++placed}` } } } : outcome;
        },
      });
      await callTool(session, 'check_availability', 'slow');
      await advance(session, 2000, 500);
      await callTool(session, 'check_availability', 'fast');
      const late = { ...placingTool({ id: 'slow', name: 'check_availability', arguments: {}, receivedAt: 0 }, {} as SessionView, 0) };
      late.hold = { kind: 'placed', hold: { ...holdAt(0), id: 'h-late' } };
      session.actor.send({ type: 'tool.settledLate', call: { id: 'slow', name: 'check_availability', arguments: {}, receivedAt: 0 }, outcome: late, holdIdWhenAsked: null });
      await settle();
      expect(session.actor.getSnapshot().context.hold).toMatchObject({ id: 'h1' });
      expect(session.fake.released).toEqual(['h-late']);
      expect(session.emitted.filter((e) => e.type === 'hold.updated').map((e) => `${e.status} ${e.hold.id}`)).toEqual(['held h1']);
    });
  });

  describe('ending while the last tool runs keeps that tool’s hold change', () => {
    it('releases a hold placed by the check that was running when session.end came', async () => {
      let finish: () => void = () => {};
      const session = start({
        tool: (call, s, now) => new Promise<ToolOutcome>((resolve) => (finish = () => resolve(placingTool(call, s, now)))),
      });
      await callTool(session, 'check_availability');
      session.actor.send({ type: 'session.end', at: session.clock.now() });
      finish();
      for (let i = 0; i < 4; i++) await settle();
      expect(session.fake.released).toEqual(['h1']);
      expect(holdUpdates(session.emitted)).toEqual(['held', 'released']);
      expect(session.emitted.at(-1)).toMatchObject({ type: 'session.ended', outcome: 'no_booking' });
    });

    it('does not call a hold released that the running booking converted', async () => {
      let finish: () => void = () => {};
      const session = start({
        tool: (call, s, now) =>
          call.name === 'book_appointment' ? new Promise<ToolOutcome>((resolve) => (finish = () => resolve(placingTool(call, s, now)))) : placingTool(call, s, now),
      });
      await callTool(session, 'check_availability');
      await callTool(session, 'book_appointment');
      session.actor.send({ type: 'session.end', at: session.clock.now() });
      finish();
      for (let i = 0; i < 4; i++) await settle();
      expect(holdUpdates(session.emitted)).toEqual(['held', 'booked']);
      expect(session.fake.released).toEqual([null]);
      expect(session.emitted.at(-1)).toMatchObject({ type: 'session.ended', outcome: 'booked' });
    });
  });

  it('takes the salon’s cancellation or move of its own appointment, and ignores other appointments', async () => {
    const session = start({ tool: placingTool });
    await callTool(session, 'check_availability');
    await callTool(session, 'book_appointment');
    const moved = { id: 'a1', serviceId: 'dauerwelle', staffId: 'lena', start: 10, end: 20 };
    session.actor.send({ type: 'appointment.changed', status: 'booked', appointment: { ...moved, id: 'other' } });
    session.actor.send({ type: 'appointment.changed', status: 'booked', appointment: moved });
    expect(session.actor.getSnapshot().context.appointment).toEqual(moved);
    session.actor.send({ type: 'appointment.changed', status: 'cancelled', appointment: moved });
    expect(session.emitted.filter((e) => e.type === 'appointment.updated').map((e) => e.type === 'appointment.updated' && `${e.status} ${e.appointment.id}`)).toEqual(['booked a1', 'cancelled a1']);
    session.actor.send({ type: 'session.end', at: session.clock.now() });
    await settle();
    expect(session.emitted.at(-1)).toMatchObject({ type: 'session.ended', outcome: 'no_booking', appointment: null });
  });
});
