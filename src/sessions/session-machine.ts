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
       * Answers a tool call: the first answer again for a repeated id, else the tool's. A
       * tool that finishes after the machine answered `UNAVAILABLE` (the actor is stopped
       * then) gives up a hold it placed, which the caller never heard of; that run does not
       * stand as the id's answer, so a retry runs afresh. Any other late answer stands.
       */
      runTool: fromPromise<ToolOutcome, { call: ToolCall; session: SessionView }>(async ({ input, signal }) => {
        const { call, session } = input;
        const answer = await answers.answer(session.sessionId, call, async () => {
          const ran = await tools.run(call, session);
          if (signal.aborted && ran.hold?.kind === 'placed') {
            await bookingStore.releaseHold(ran.hold.hold.id);
            return { answer: ran, stands: false };
          }
          return { answer: ran, stands: true };
        });
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
