/**
 * The one place the pure session machine gets its effects: storage through the tool
 * runner and the booking store, the clock for its delays. Everything a machine test
 * fakes is supplied here for real.
 */
import { fromPromise } from 'xstate';
import { callSessionMachine, clockDelays } from '../../machines/call-session.machine.js';
import type { ExpiryCheck, ExtensionResult, HoldOfSession, SessionView, ToolCall, ToolOutcome } from '../../machines/call-session.types.js';
import type { BookingStore } from '../booking/ports.js';
import type { ToolRunner } from '../tools/tool-runner.js';
import type { SessionOwnership } from './ownership.js';
import type { ToolAnswers } from './tool-answers.js';

export interface SessionEffects {
  tools: ToolRunner;
  bookingStore: BookingStore;
  answers: ToolAnswers;
  /** Every write of a session is fenced by the epoch this instance holds (PROTOCOL §3). */
  ownership: SessionOwnership;
  holdTtlMs: number;
  clock: () => number;
}

/** The system id each session's root actor is created with, so its tool runs can reach it after a timeout. */
export const SESSION_SYSTEM_ID = 'session';

export function provideSessionMachine(effects: SessionEffects) {
  const { tools, bookingStore, answers, ownership, holdTtlMs, clock } = effects;
  return callSessionMachine.provide({
    delays: clockDelays(clock),
    actors: {
      /**
       * Answers a tool call: the first answer again for a repeated id, else the tool's. A
       * run that finishes after the machine answered `UNAVAILABLE` (the actor is stopped
       * then) is not lost: its outcome goes to the session as `tool.settledLate`, which
       * takes it as the database holds it, and it stands as the id's answer for a retry.
       */
      runTool: fromPromise<ToolOutcome, { call: ToolCall; session: SessionView }>(async ({ input, signal, system }) => {
        const { call, session } = input;
        const reportLate = (outcome: ToolOutcome | null) => {
          const root = system.get(SESSION_SYSTEM_ID);
          if (signal.aborted && root?.getSnapshot().status === 'active') {
            root.send({ type: 'tool.settledLate', call, outcome, holdIdWhenAsked: session.hold?.id ?? null });
          }
        };
        try {
          const answer = await ownership.write(session.sessionId, (fence) => answers.answer(fence, call, (repeated) => tools.run(call, session, fence, repeated)));
          const outcome = { ...answer, finishedAt: clock() };
          reportLate(outcome);
          return outcome;
        } catch (error) {
          reportLate(null);
          throw error;
        }
      }),
      extendHold: fromPromise<ExtensionResult, HoldOfSession>(async ({ input }) => {
        const extended = await ownership.write(input.sessionId, (fence) => bookingStore.extendHold(fence.tenantId, input.holdId, holdTtlMs, fence));
        if (extended.extended) return { extended: true, expiresAt: extended.hold.expiresAt.getTime() };
        const status = extended.hold?.status;
        return { extended: false, status: status === 'held' || status === undefined ? 'expired' : status };
      }),
      expireHold: fromPromise<ExpiryCheck, HoldOfSession>(async ({ input }) => {
        const result = await ownership.write(input.sessionId, (fence) => bookingStore.expireHold(fence.tenantId, input.holdId, fence));
        if (result.status === 'held') return { status: 'held', expiresAt: result.hold!.expiresAt.getTime() };
        return { status: result.status };
      }),
      releaseHold: fromPromise<void, HoldOfSession<string | null>>(async ({ input }) => {
        const { holdId } = input;
        if (holdId) await ownership.write(input.sessionId, (fence) => bookingStore.releaseHold(fence.tenantId, holdId, fence));
      }),
    },
  });
}

export type ProvidedSessionMachine = ReturnType<typeof provideSessionMachine>;
