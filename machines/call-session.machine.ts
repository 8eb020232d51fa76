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
import { and, assign, emit, enqueueActions, fromPromise, setup } from 'xstate';
import type {
  CallSessionContext,
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
  };
}

const cancelsOwn = (outcome: ToolOutcome, context: CallSessionContext) =>
  outcome.cancelledAppointmentId !== undefined && outcome.cancelledAppointmentId === context.appointment?.id;

const outcomeOf = (context: CallSessionContext, dropped: boolean): SessionOutcome =>
  dropped ? 'dropped' : context.appointment ? 'booked' : 'no_booking';

/** Leaving the call: release an unbooked hold (whatever storage answers), then end with an outcome. */
const releaseHoldThenFinish = (params: { dropped: boolean }) => ({
  invoke: {
    src: 'releaseHold' as const,
    input: ({ context }: { context: CallSessionContext }) => ({ holdId: context.hold?.id ?? null }),
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
    extendHold: fromPromise<ExtensionResult, { holdId: string }>(notProvided('extendHold')),
    expireHold: fromPromise<ExpiryCheck, { holdId: string }>(notProvided('expireHold')),
    releaseHold: fromPromise<void, { holdId: string | null }>(notProvided('releaseHold')),
  },
  delays: {
    untilHoldDeadline: 0,
    untilExtensionDue: 0,
    untilResumeDeadline: 0,
    toolTimeout: 2000,
  },
  actions: {
    adoptStored: assign(({ context, event }) =>
      event.type === 'session.restored' ? { hold: event.hold, appointment: event.appointment } : { hold: context.hold, appointment: context.appointment },
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
    endDue: ({ context }) => context.endRequested === true && context.toolQueue.length === 0,
    extensionDue: ({ context, event }) => {
      const hold = context.hold;
      if (!hold || !('at' in event) || hold.expiresAt >= hold.maxExpiresAt) return false;
      return hold.expiresAt - event.at < context.holdTtlMs * EXTEND_BELOW_SHARE_OF_TTL;
    },
    callerSpeaking: ({ context }) => context.callerSpeaking && context.hold !== null && context.hold.expiresAt < context.hold.maxExpiresAt,
    isCallerActivity: ({ event }) => event.type === 'caller.activity' && event.speaking,
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
        'caller.activity': { actions: assign({ callerSpeaking: ({ event }) => event.speaking }) },
        // Tools already asked for are answered first: a booking in flight ends the call as booked.
        'session.end': { actions: assign({ endRequested: true }) },
      },
      always: { guard: 'endDue', target: 'ending' },
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
                  }),
                },
                onError: {
                  target: 'idle',
                  actions: 'answerUnavailable',
                },
              },
              after: {
                toolTimeout: { target: 'idle', actions: 'answerUnavailable' },
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
                    input: ({ context }) => ({ holdId: context.hold!.id }),
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
                    input: ({ context }) => ({ holdId: context.hold!.id }),
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
                'connection.opened': { target: 'connected', actions: assign({ disconnectedAt: null }) },
                'session.restored': { target: 'suspended', reenter: true },
              },
              after: {
                untilResumeDeadline: { target: '#callSession.dropping' },
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
