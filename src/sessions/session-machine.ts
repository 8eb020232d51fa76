/**
 * The one place the pure session machine gets its effects: storage through the tool
 * runner and the booking store, the clock for its delays. Everything a machine test
 * fakes is supplied here for real.
 */
import { fromPromise } from 'xstate';
import { callSessionMachine, clockDelays } from '../../machines/call-session.machine.js';
import type { ExpiryCheck, ExtensionResult, SessionView, ToolCall, ToolOutcome } from '../../machines/call-session.types.js';
import type { BookingStore } from '../booking/ports.js';
import type { ToolRunner } from '../tools/tool-runner.js';
import type { ToolAnswers } from './tool-answers.js';

export interface SessionEffects {
  tools: ToolRunner;
  bookingStore: BookingStore;
  answers: ToolAnswers;
  holdTtlMs: number;
  clock: () => number;
}

export function provideSessionMachine(effects: SessionEffects) {
  const { tools, bookingStore, answers, holdTtlMs, clock } = effects;
  return callSessionMachine.provide({
    delays: clockDelays(clock),
    actors: {
      /**
       * Replays the first answer to a repeated tool id; otherwise runs the tool and stores its
       * answer. A tool that finishes after the machine answered `UNAVAILABLE` (the actor is
       * stopped then) gives up a hold it placed, which the caller never heard of, and leaves
       * the id free for a retry; any other late answer is kept for the retry to find.
       */
      runTool: fromPromise<ToolOutcome, { call: ToolCall; session: SessionView }>(async ({ input, signal }) => {
        const { call, session } = input;
        const stored = await answers.find(session.sessionId, call.id);
        if (stored) return { response: stored, finishedAt: clock() };
        const answer = await tools.run(call, session);
        if (signal.aborted && answer.hold?.kind === 'placed') {
          await bookingStore.releaseHold(answer.hold.hold.id);
        } else {
          answers.remember(session.sessionId, call.id, call.name, answer.response);
        }
        return { ...answer, finishedAt: clock() };
      }),
      extendHold: fromPromise<ExtensionResult, { holdId: string }>(async ({ input }) => {
        const extended = await bookingStore.extendHold(input.holdId, holdTtlMs);
        if (extended.extended) return { extended: true, expiresAt: extended.hold.expiresAt.getTime() };
        const status = extended.hold?.status;
        return { extended: false, status: status === 'held' || status === undefined ? 'expired' : status };
      }),
      expireHold: fromPromise<ExpiryCheck, { holdId: string }>(async ({ input }) => {
        const result = await bookingStore.expireHold(input.holdId);
        if (result.status === 'held') return { status: 'held', expiresAt: result.hold!.expiresAt.getTime() };
        return { status: result.status };
      }),
      releaseHold: fromPromise<void, { holdId: string | null }>(async ({ input }) => {
        if (input.holdId) await bookingStore.releaseHold(input.holdId);
      }),
    },
  });
}

export type ProvidedSessionMachine = ReturnType<typeof provideSessionMachine>;
