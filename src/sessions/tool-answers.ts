/**
 * The first answer to each tool call id of a session (PROTOCOL §4: ids are idempotency
 * keys). Answers are stored with the event log, in the same batched write as the frame
 * that carried them (or later, for a tool that finished after its `UNAVAILABLE` answer:
 * a retry then gets what really happened), and the ids this process answered are
 * remembered while the session is live, so a new id costs no lookup: only a repeated id, or any id of a session this
 * process did not start itself (resumed from the database after a restart), is read back.
 *
 * A crash can lose the last batch. That is safe by design: the answer's effect is already
 * stored (a hold, an appointment) before the answer went out, and a repeated booking
 * finds its appointment by the same key in the database rather than booking twice.
 */
import type { ToolResponse } from '../../machines/call-session.types.js';
import type { DrizzleSessionStore } from '../store/session-store.js';
import type { EventLog } from './event-log.js';

interface SessionAnswers {
  /** True when the session began in this process, so storage holds no answer it does not know of. */
  complete: boolean;
  answered: Set<string>;
}

export class ToolAnswers {
  private readonly sessions = new Map<string, SessionAnswers>();

  constructor(
    private readonly store: DrizzleSessionStore,
    private readonly eventLog: EventLog,
  ) {}

  /** Starts remembering a live session's answers; `complete` when it was created here, not resumed from storage. */
  track(sessionId: string, complete: boolean): void {
    this.sessions.set(sessionId, { complete, answered: new Set() });
  }

  forget(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  /** The answer already given to this id, if any. */
  async find(sessionId: string, toolCallId: string): Promise<ToolResponse | null> {
    const session = this.sessions.get(sessionId);
    const answeredHere = session?.answered.has(toolCallId) ?? false;
    if (session?.complete && !answeredHere) return null;
    if (answeredHere) await this.eventLog.flush();
    return (await this.store.findToolResult(sessionId, toolCallId)) as ToolResponse | null;
  }

  /** Keeps the answer a tool gave, for a repeated id; stored with the next event-log write. */
  remember(sessionId: string, toolCallId: string, name: string, response: ToolResponse): void {
    this.sessions.get(sessionId)?.answered.add(toolCallId);
    this.eventLog.recordAnswer({ sessionId, toolCallId, name, response });
  }
}
