/**
 * The first answer to each tool call id of a session (PROTOCOL §4: ids are idempotency
 * keys, "the same id again returns the first result and does nothing twice").
 *
 * Answers this process gave are kept in memory while the session is live, so a new id
 * costs no lookup and a repeated one is answered from memory; storage is read only for
 * a session this process did not start itself (resumed after a restart). Most answers
 * ride with the event log, behind the reply:
 * - the read-only tools' and the refusals (a slot found taken, a booking refused, nothing
 *   to cancel), which changed nothing, so running them again changes nothing either;
 * - those whose change was made under the tool call's id as idempotency key (a check that
 *   holds, a booking): the same call run again finds that hold or appointment in storage
 *   (looked up by the id first when it may have run before, see `answer`) and answers with
 *   it as storage has it, instead of claiming again.
 * Any other answer that reports a change to bookings (a hold released, a cancellation) is
 * stored before it goes out, so a restarted broker replays it too. Measured when every
 * such answer was stored first: with 100 callers on one slot, the 99 refusals were 99
 * commits before their answers, and a check that holds and a booking each waited for a
 * second commit.
 *
 * A repeated id that arrives while the first run is still going (the runtime retrying
 * after an `UNAVAILABLE` answer) waits for that run instead of starting a second one.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ToolCall, ToolOutcome, ToolResponse } from '../../machines/call-session.types.js';
import type { SessionFence } from '../booking/ports.js';
import type { SessionStore } from './ports.js';
import type { EventLog } from './event-log.js';

/** What `answer` keeps of a tool's answer: the response, and the changes it reports. */
type AnswerOfTool = Pick<ToolOutcome, 'response' | 'hold' | 'appointment' | 'cancelledAppointmentId' | 'keyedByCall'>;

/** A change to bookings that the same call, run again, would not find in storage: its answer is what says it was made. */
const reportsUnkeyedChange = (changes: Omit<AnswerOfTool, 'response'>) =>
  !changes.keyedByCall && (changes.hold !== undefined || changes.appointment !== undefined || changes.cancelledAppointmentId !== undefined);

interface SessionAnswers {
  /** True when the session began in this process, so storage holds no answer it does not know of. */
  complete: boolean;
  /**
   * The answers given, as JSON: kept for as long as the call lasts, and read again only
   * for a repeated id, so they are kept in the smaller form (a string is about half the
   * heap of the object tree it encodes, and one object instead of a dozen).
   */
  given: Map<string, string>;
  /** Ids whose run here failed (storage broke off): their claim may have committed all the same. Made when the first one fails. */
  failed?: Set<string>;
}

const runKey = (sessionId: string, toolCallId: string) => `${sessionId}\u0000${toolCallId}`;

export class ToolAnswers {
  private readonly sessions = new Map<string, SessionAnswers>();
  /** Runs under way of tracked sessions, by session and tool call id: one map for all, as few sessions have one at a time. */
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: SessionStore,
    private readonly eventLog: EventLog,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /** Starts keeping a live session's answers; `complete` when it was created here, not resumed from storage. */
  track(sessionId: string, complete: boolean): void {
    this.sessions.set(sessionId, { complete, given: new Map() });
  }

  forget(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  /**
   * The first answer to `call`'s id if there is one, else `run`'s, kept as the first.
   * `run` is told `repeated` when the id may have run before without an answer kept: in a
   * session resumed from storage (its earlier process may have claimed and died before
   * the log was written), or after a run here that failed. Its hold or booking is then
   * looked up by the id before anything is claimed.
   */
  async answer<A extends AnswerOfTool>(fence: SessionFence, call: ToolCall, run: (repeated: boolean) => Promise<A>): Promise<A | { response: ToolResponse }> {
    const { tenantId, sessionId } = fence;
    const key = runKey(sessionId, call.id);
    await this.running.get(key);
    const earlier = await this.find(tenantId, sessionId, call.id);
    if (earlier) return { response: earlier };
    const session = this.sessions.get(sessionId);
    const running = run(!session?.complete || session.failed?.has(call.id) === true);
    if (session) this.running.set(key, running.catch(() => {}));
    try {
      const answer = await running;
      await this.keep(fence, call, answer);
      session?.failed?.delete(call.id);
      return answer;
    } catch (error) {
      if (session) (session.failed ??= new Set()).add(call.id);
      throw error;
    } finally {
      if (session) this.running.delete(key);
    }
  }

  private async find(tenantId: string, sessionId: string, toolCallId: string): Promise<ToolResponse | null> {
    const session = this.sessions.get(sessionId);
    const given = session?.given.get(toolCallId);
    if (given !== undefined) return JSON.parse(given) as ToolResponse;
    if (session?.complete) return null;
    return (await this.store.findToolResult(tenantId, sessionId, toolCallId)) as ToolResponse | null;
  }

  private async keep({ tenantId, sessionId, epoch }: SessionFence, call: ToolCall, { response, ...changes }: AnswerOfTool): Promise<void> {
    this.sessions.get(sessionId)?.given.set(call.id, JSON.stringify(response));
    const record = { tenantId, sessionId, epoch, toolCallId: call.id, name: call.name, response };
    if (!reportsUnkeyedChange(changes)) {
      this.eventLog.recordAnswer(record);
      return;
    }
    try {
      await this.store.saveToolAnswers([record]);
    } catch (error) {
      // The change it reports is stored already; the answer is true and goes out.
      this.logger.error({ err: error, tool_call_id: call.id }, 'storing a tool answer failed');
    }
  }
}
