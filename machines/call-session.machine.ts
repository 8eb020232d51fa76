/**
 * One live phone call: its tools, its hold and its connection, as three parallel regions.
 *
 * Pure: every effect is a named actor (storage work), an emitted event (frames out) or a
 * delay (the clock), supplied by `machine.provide()` in `src/sessions/`. Deadlines live in
 * context as instants and the delays are computed from them, so a restored snapshot (which
 * carries no pending timers) re-arms them by re-entering its states on `session.restored`,
 * which also carries storage's word on the hold and appointment: the database wins over
 * a snapshot written a moment before a crash.
 */
import { and, assign, emit, enqueueActions, fromPromise, raise, setup } from 'xstate';
import type {
  CallSessionContext,
  HoldOfSession,
  CallSessionEmitted,
  CallSessionEvent,
  CallSessionInput,
  ExpiryCheck,
  ExtensionResult,
  HoldView,
  SessionOutcome,
  SessionView,
  ToolCall,
  ToolOutcome,
} from './call-session.types.js';

/** Extend once less than this share of the TTL is left: about three writes a minute for a talking caller. */
const EXTEND_BELOW_SHARE_OF_TTL = 2 / 3;
const MAX_REMEMBERED_LATENCIES = 50;

const notProvided = (name: string) => () => {
  throw new Error(`call session machine: ${name} was not provided`);
};

export const viewOf = (context: CallSessionContext): SessionView => ({
  sessionId: context.sessionId,
  tenantId: context.tenantId,
  callId: context.callId,
  locale: context.locale,
  callerPhone: context.callerPhone,
  hold: context.hold,
  request: context.request,
});

/** The delays, all measured from a clock: supplied together so tests can pass a simulated one. */
export function clockDelays(now: () => number) {
  const until = (instant: number) => Math.max(0, instant - now());
  return {
    untilHoldDeadline: ({ context }: { context: CallSessionContext }) => until(context.hold?.expiresAt ?? now()),
    untilExtensionDue: ({ context }: { context: CallSessionContext }) =>
      until((context.hold?.expiresAt ?? now()) - context.holdTtlMs * EXTEND_BELOW_SHARE_OF_TTL),
    untilResumeDeadline: ({ context }: { context: CallSessionContext }) => until((context.disconnectedAt ?? now()) + context.resumeGraceMs),
    /** A call is answered within its timeout of arriving, also when it waited behind another (PROTOCOL §4: within 2 s). */
    toolTimeout: ({ context }: { context: CallSessionContext }) => until((context.toolQueue[0]?.receivedAt ?? now()) + context.toolTimeoutMs),
    untilLateWaitEnds: ({ context }: { context: CallSessionContext }) => until(context.lateWaitUntil ?? now()),
  };
}

const cancelsOwn = (outcome: ToolOutcome, context: CallSessionContext) =>
  outcome.cancelledAppointmentId !== undefined && outcome.cancelledAppointmentId === context.appointment?.id;

/** Until told otherwise, the end of a call waits this long for a tool answered `UNAVAILABLE` to settle. */
export const DEFAULT_LATE_RESULT_WAIT_MS = 15_000;

const lateIds = (context: CallSessionContext) => context.lateToolIds ?? [];
const nothingPending = (context: CallSessionContext) => context.toolQueue.length === 0 && lateIds(context).length === 0;

const outcomeOf = (context: CallSessionContext, dropped: boolean): SessionOutcome =>
  dropped ? 'dropped' : context.appointment ? 'booked' : 'no_booking';

/** Leaving the call: release an unbooked hold (whatever storage answers), then end with an outcome. */
const releaseHoldThenFinish = (params: { dropped: boolean }) => ({
  invoke: {
    src: 'releaseHold' as const,
    input: ({ context }: { context: CallSessionContext }) => ({ sessionId: context.sessionId, holdId: context.hold?.id ?? null }),
    onDone: { target: 'ended', actions: ['announceRelease' as const, { type: 'finish' as const, params }] },
    onError: { target: 'ended', actions: { type: 'finish' as const, params } },
  },
});

export const callSessionMachine = setup({
  types: {
    context: {} as CallSessionContext,
    events: {} as CallSessionEvent,
    input: {} as CallSessionInput,
    emitted: {} as CallSessionEmitted,
  },
  actors: {
    runTool: fromPromise<ToolOutcome, { call: ToolCall; session: SessionView }>(notProvided('runTool')),
    extendHold: fromPromise<ExtensionResult, HoldOfSession>(notProvided('extendHold')),
    expireHold: fromPromise<ExpiryCheck, HoldOfSession>(notProvided('expireHold')),
    releaseHold: fromPromise<void, HoldOfSession<string | null>>(notProvided('releaseHold')),
  },
  delays: {
    untilHoldDeadline: 0,
    untilExtensionDue: 0,
    untilResumeDeadline: 0,
    toolTimeout: 2000,
    untilLateWaitEnds: 0,
  },
  actions: {
    // Late runs of the process before the restart will never report: storage's word covers them.
    adoptStored: assign(({ context, event }) =>
      event.type === 'session.restored'
        ? { hold: event.hold, appointment: event.appointment, lateToolIds: [], lateWaitUntil: null }
        : { hold: context.hold, appointment: context.appointment },
    ),
    takeHold: enqueueActions(({ context, enqueue, event }) => {
      if (event.type !== 'hold.placed') return;
      // Storage released the earlier hold in the step that placed this one.
      if (context.hold && context.hold.id !== event.hold.id) enqueue.emit({ type: 'hold.updated', status: 'released', hold: context.hold });
      enqueue.assign({ hold: event.hold });
      enqueue.emit({ type: 'hold.updated', status: 'held', hold: event.hold });
    }),
    dropHold: enqueueActions(({ context, enqueue, event }) => {
      if (event.type !== 'hold.ended' || !context.hold) return;
      enqueue.emit({ type: 'hold.updated', status: event.status, hold: context.hold });
      enqueue.assign({ hold: null });
    }),
    answerUnavailable: enqueueActions(({ context, enqueue }) => {
      const call = context.toolQueue[0];
      if (!call) return;
      enqueue.assign({ toolQueue: context.toolQueue.slice(1) });
      enqueue.emit({ type: 'tool.answered', call, response: context.unavailableResponse, latencyMs: context.toolTimeoutMs });
      enqueue.raise({ type: 'tools.settled' });
    }),
    /** The run given up on the timeout may still commit (a slow database, not a dead one): wait for its word. */
    awaitLateResult: assign(({ context }) => {
      const call = context.toolQueue[0];
      if (!call) return {};
      const givenUpAt = call.receivedAt + context.toolTimeoutMs;
      return {
        lateToolIds: [...lateIds(context), call.id],
        lateWaitUntil: context.lateWaitUntil ?? givenUpAt + (context.lateResultWaitMs ?? DEFAULT_LATE_RESULT_WAIT_MS),
      };
    }),
    takeChangedAppointment: enqueueActions(({ enqueue, event }) => {
      if (event.type !== 'appointment.changed') return;
      enqueue.assign({ appointment: event.status === 'cancelled' ? null : event.appointment });
      enqueue.emit({ type: 'appointment.updated', status: event.status, appointment: event.appointment });
    }),
    /**
     * A late result becomes the session's word, as the database holds it (PROTOCOL §3): its
     * appointment is told at once, and its hold change applies if the session still has the
     * hold it had when the call was asked; a hold placed late over a newer one is given up.
     */
    adoptLateResult: enqueueActions(({ context, enqueue, event }) => {
      if (event.type !== 'tool.settledLate') return;
      const remaining = lateIds(context).filter((id) => id !== event.call.id);
      enqueue.assign({ lateToolIds: remaining, lateWaitUntil: remaining.length > 0 ? (context.lateWaitUntil ?? null) : null });
      const outcome = event.outcome;
      if (outcome) {
        enqueue.assign({ request: outcome.request ?? context.request, alternatives: outcome.alternatives ?? context.alternatives });
        if (outcome.appointment) {
          enqueue.assign({ appointment: outcome.appointment });
          enqueue.emit({ type: 'appointment.updated', status: 'booked', appointment: outcome.appointment });
        } else if (cancelsOwn(outcome, context) && context.appointment) {
          enqueue.emit({ type: 'appointment.updated', status: 'cancelled', appointment: context.appointment });
          enqueue.assign({ appointment: null });
        }
        const current = context.hold?.id ?? null;
        if (current === event.holdIdWhenAsked) {
          if (outcome.hold?.kind === 'placed') enqueue.raise({ type: 'hold.placed', hold: outcome.hold.hold });
          if (outcome.hold?.kind === 'ended') enqueue.raise({ type: 'hold.ended', status: outcome.hold.status });
        } else if (outcome.hold?.kind === 'placed' && outcome.hold.hold.id !== current) {
          enqueue.spawnChild('releaseHold', { input: { sessionId: context.sessionId, holdId: outcome.hold.hold.id } });
        }
      }
      enqueue.raise({ type: 'tools.settled' });
    }),
    announceRelease: enqueueActions(({ context, enqueue }) => {
      if (context.hold) enqueue.emit({ type: 'hold.updated', status: 'released', hold: context.hold });
    }),
    finish: enqueueActions(({ context, enqueue }, params: { dropped: boolean }) => {
      const outcome = outcomeOf(context, params.dropped);
      enqueue.assign({ outcome, hold: null, toolQueue: [] });
      enqueue.emit({ type: 'session.ended', outcome, appointment: context.appointment });
    }),
  },
  guards: {
    hasQueuedTool: ({ context }) => context.toolQueue.length > 0,
    nothingPending: ({ context }) => nothingPending(context),
    endDue: ({ context }) => context.endRequested === true && nothingPending(context),
    dropDue: ({ context }) => context.dropDue === true && nothingPending(context),
    awaitingLate: ({ context }) => lateIds(context).length > 0,
    isOwnAppointment: ({ context, event }) => event.type === 'appointment.changed' && context.appointment?.id === event.appointment.id,
    isAwaitedLate: ({ context, event }) => event.type === 'tool.settledLate' && lateIds(context).includes(event.call.id),
    extensionDue: ({ context, event }) => {
      const hold = context.hold;
      if (!hold || !('at' in event) || hold.expiresAt >= hold.maxExpiresAt) return false;
      return hold.expiresAt - event.at < context.holdTtlMs * EXTEND_BELOW_SHARE_OF_TTL;
    },
    callerSpeaking: ({ context }) => context.callerSpeaking && context.hold !== null && context.hold.expiresAt < context.hold.maxExpiresAt,
    isCallerActivity: ({ event }) => event.type === 'caller.activity' && event.speaking,
    speakingChanged: ({ context, event }) => event.type === 'caller.activity' && event.speaking !== context.callerSpeaking,
    restoredWithHold: ({ event }) => event.type === 'session.restored' && event.hold !== null,
  },
}).createMachine({
  id: 'callSession',
  context: ({ input }) => ({
    ...input,
    hold: null,
    request: null,
    alternatives: [],
    appointment: null,
    outcome: null,
    callerSpeaking: false,
    disconnectedAt: null,
    toolQueue: [],
    toolLatencies: [],
  }),
  initial: 'live',
  states: {
    live: {
      type: 'parallel',
      on: {
        // Only a change is taken: a caller who keeps talking sends this every second, and an event that changes nothing leaves the snapshot as it is.
        'caller.activity': { guard: 'speakingChanged', actions: assign({ callerSpeaking: ({ event }) => event.speaking }) },
        // Tools already asked for are answered first: a booking in flight ends the call as booked.
        'session.end': [{ guard: 'nothingPending', target: 'ending' }, { actions: assign({ endRequested: true }) }],
        'tool.settledLate': { guard: 'isAwaitedLate', actions: 'adoptLateResult' },
        'appointment.changed': { guard: 'isOwnAppointment', actions: 'takeChangedAppointment' },
        // Raised after a tool's hold events, so the end sees the hold that tool left.
        'tools.settled': [
          { guard: 'endDue', target: 'ending' },
          { guard: 'dropDue', target: 'dropping' },
        ],
      },
      states: {
        tools: {
          initial: 'idle',
          on: {
            'tool.requested': { actions: assign({ toolQueue: ({ context, event }) => [...context.toolQueue, event.call] }) },
          },
          states: {
            idle: {
              always: { guard: 'hasQueuedTool', target: 'running' },
            },
            running: {
              invoke: {
                src: 'runTool',
                input: ({ context }) => ({ call: context.toolQueue[0]!, session: viewOf(context) }),
                onDone: {
                  target: 'idle',
                  actions: enqueueActions(({ context, event, enqueue }) => {
                    const call = context.toolQueue[0]!;
                    const outcome = event.output;
                    const latencyMs = outcome.finishedAt - call.receivedAt;
                    enqueue.assign({
                      toolQueue: context.toolQueue.slice(1),
                      request: outcome.request ?? context.request,
                      alternatives: outcome.alternatives ?? context.alternatives,
                      appointment: outcome.appointment ?? (cancelsOwn(outcome, context) ? null : context.appointment),
                      toolLatencies: [...context.toolLatencies, { id: call.id, name: call.name, latencyMs }].slice(-MAX_REMEMBERED_LATENCIES),
                    });
                    enqueue.emit({ type: 'tool.answered', call, response: outcome.response, latencyMs });
                    if (outcome.hold?.kind === 'placed') enqueue.raise({ type: 'hold.placed', hold: outcome.hold.hold });
                    if (outcome.hold?.kind === 'ended') enqueue.raise({ type: 'hold.ended', status: outcome.hold.status });
                    enqueue.raise({ type: 'tools.settled' });
                  }),
                },
                onError: {
                  target: 'idle',
                  actions: 'answerUnavailable',
                },
              },
              after: {
                toolTimeout: { target: 'idle', actions: ['awaitLateResult', 'answerUnavailable'] },
              },
            },
          },
        },
        hold: {
          initial: 'none',
          states: {
            none: {
              on: {
                'hold.placed': { target: 'held', actions: 'takeHold' },
                'session.restored': [{ guard: 'restoredWithHold', target: 'held', actions: 'adoptStored' }, { actions: 'adoptStored' }],
              },
            },
            held: {
              initial: 'steady',
              on: {
                'hold.placed': { target: 'held', reenter: true, actions: 'takeHold' },
                'hold.ended': { target: 'none', actions: 'dropHold' },
                'session.restored': [
                  { guard: 'restoredWithHold', target: 'held', reenter: true, actions: 'adoptStored' },
                  { target: 'none', actions: 'adoptStored' },
                ],
              },
              states: {
                steady: {
                  on: {
                    'caller.activity': { guard: and(['isCallerActivity', 'extensionDue']), target: 'extending' },
                    'caller.transcript': { guard: 'extensionDue', target: 'extending' },
                  },
                  after: {
                    untilHoldDeadline: { target: 'checkingExpiry' },
                    untilExtensionDue: { guard: 'callerSpeaking', target: 'extending' },
                  },
                },
                extending: {
                  invoke: {
                    src: 'extendHold',
                    input: ({ context }) => ({ sessionId: context.sessionId, holdId: context.hold!.id }),
                    onDone: [
                      {
                        guard: ({ event }) => event.output.extended,
                        target: 'steady',
                        actions: [
                          assign({
                            hold: ({ context, event }) =>
                              event.output.extended ? { ...context.hold!, expiresAt: event.output.expiresAt } : context.hold,
                          }),
                          emit(({ context }) => ({ type: 'hold.updated' as const, status: 'extended' as const, hold: context.hold! })),
                        ],
                      },
                      {
                        target: '#callSession.live.hold.none',
                        actions: [
                          emit(({ context, event }) => ({
                            type: 'hold.updated' as const,
                            status: event.output.extended ? ('extended' as const) : event.output.status,
                            hold: context.hold!,
                          })),
                          assign({ hold: null }),
                        ],
                      },
                    ],
                    // A storage hiccup must not drop a hold: the deadline check decides later.
                    onError: { target: 'steady' },
                  },
                },
                checkingExpiry: {
                  invoke: {
                    src: 'expireHold',
                    input: ({ context }) => ({ sessionId: context.sessionId, holdId: context.hold!.id }),
                    onDone: [
                      {
                        guard: ({ event }) => event.output.status === 'held',
                        target: 'steady',
                        reenter: true,
                        actions: assign({
                          hold: ({ context, event }) =>
                            event.output.status === 'held' ? { ...context.hold!, expiresAt: event.output.expiresAt } : context.hold,
                        }),
                      },
                      {
                        target: '#callSession.live.hold.none',
                        actions: [
                          emit(({ context, event }) => ({
                            type: 'hold.updated' as const,
                            status: event.output.status === 'held' ? ('expired' as const) : event.output.status,
                            hold: context.hold!,
                          })),
                          assign({ hold: null }),
                        ],
                      },
                    ],
                    onError: { target: 'retryingExpiry' },
                  },
                },
                retryingExpiry: {
                  after: { 1000: { target: 'checkingExpiry' } },
                },
              },
            },
          },
        },
        /** Whether a tool answered `UNAVAILABLE` may still commit; the wait for it is bounded. */
        late: {
          initial: 'clear',
          states: {
            clear: {
              always: { guard: 'awaitingLate', target: 'awaiting' },
            },
            awaiting: {
              always: { guard: ({ context }) => lateIds(context).length === 0, target: 'clear' },
              after: {
                untilLateWaitEnds: {
                  target: 'clear',
                  actions: [assign({ lateToolIds: [], lateWaitUntil: null }), raise({ type: 'tools.settled' })],
                },
              },
            },
          },
        },
        connection: {
          initial: 'connected',
          states: {
            connected: {
              on: {
                'connection.lost': { target: 'suspended', actions: assign({ disconnectedAt: ({ event }) => event.at }) },
                'session.restored': { target: 'suspended', actions: assign({ disconnectedAt: ({ event }) => event.at }) },
              },
            },
            suspended: {
              on: {
                'connection.opened': { target: 'connected', actions: assign({ disconnectedAt: null, dropDue: false }) },
                'session.restored': { target: 'suspended', reenter: true },
              },
              after: {
                untilResumeDeadline: [{ guard: 'nothingPending', target: '#callSession.dropping' }, { actions: assign({ dropDue: true }) }],
              },
            },
          },
        },
      },
    },
    ending: releaseHoldThenFinish({ dropped: false }),
    dropping: releaseHoldThenFinish({ dropped: true }),
    ended: { type: 'final' },
  },
});

export type CallSessionMachine = typeof callSessionMachine;
export type { HoldView };
