/**
 * The transport every HTTP tool-webhook runtime shares (PROTOCOL §6.2: Retell, Vapi,
 * ElevenLabs). Such a runtime holds no socket: a session's port is connected only while
 * requests of it are being answered, and is handed back to the host (`disconnect`) when
 * the last one is done. The session is opened with `HTTP_SESSION_IDLE_S` as its grace
 * period, so the machine's own resume timer is the idle limit: a session that hears
 * nothing that long ends as `dropped` and releases its hold, with no machine change.
 *
 * Concurrent requests of one call share one port (Vapi sends speech updates while a tool
 * runs): a second port would take the session over and steal the first one's answers.
 * Every request is caller activity (it extends the hold). Every answer is given within
 * `answerWithinMs` (PROTOCOL §6.2: 2 s); what is not answered by then is `UNAVAILABLE`
 * with a spoken message, and a retry with the same tool call id gets the real answer.
 */
import type { ToolResponse } from '../../machines/call-session.types.js';
import { languageOf, messages } from '../language/index.js';
import { storableJson } from '../protocol/json-walk.js';
import type { SessionPort, SessionStore } from '../sessions/ports.js';
import { unavailableResponse, type LoggedEntry, type SessionHandle, type SessionHost } from '../sessions/session-host.js';
import type { IntegrationKind } from './settings.js';

/** Below PROTOCOL §6.2's 2 s, with room for the HTTP answer itself; the machine's own tool timeout (1.8 s) comes first. */
export const HTTP_ANSWER_WITHIN_MS = 1900;

export interface HttpCall {
  tenantId: string;
  callId: string;
  runtime: IntegrationKind;
  callerPhone: string | null;
  locale: string | null;
}

export interface HttpToolCall {
  id: string;
  name: string;
  /** Null when the runtime's arguments could not be read: answered `INVALID_ARGUMENT` naming `problem`, without running. */
  arguments: Record<string, unknown> | null;
  problem?: string | null;
}

/** One request's view of its session. Nothing here throws: storage trouble becomes `UNAVAILABLE` answers. */
export interface HttpExchange {
  /** Runs a tool in the session: its answer, the first answer again for a repeated id, or `UNAVAILABLE` at the deadline. */
  tool(call: HttpToolCall): Promise<ToolResponse>;
  /** Ends the call (`session.end`) and waits, up to the deadline, until it is stored as ended. */
  end(): Promise<void>;
  /** Records an entry of the runtime's request or answer in the session's event log. */
  log(entry: LoggedEntry): void;
}

interface Line {
  key: string;
  port: SessionPort;
  opened: Promise<SessionHandle | null>;
  inflight: number;
  /** Closed by the host (ended or taken over): the next request opens a new line. */
  closed: boolean;
  answers: Map<string, Array<(response: ToolResponse) => void>>;
  endWaiters: Array<() => void>;
}

export interface HttpSessionsOptions {
  host: SessionHost;
  sessionStore: Pick<SessionStore, 'findToolResult'> & { findSession(tenantId: string, callId: string): Promise<{ id: string } | null> };
  idleMs: number;
  maxLiveSessions: number;
  clock?: () => number;
  answerWithinMs?: number;
}

const keyOf = (tenantId: string, callId: string) => `${tenantId}\u0000${callId}`;

export class HttpSessions {
  private readonly lines = new Map<string, Line>();
  private readonly clock: () => number;
  private readonly answerWithinMs: number;

  constructor(private readonly options: HttpSessionsOptions) {
    this.clock = options.clock ?? Date.now;
    this.answerWithinMs = options.answerWithinMs ?? HTTP_ANSWER_WITHIN_MS;
  }

  /**
   * Serves one request of `call`: opens or joins the session's line, counts the request as
   * caller activity, runs `work`, and hands the port back when no request of the call is left.
   * The answer's deadline counts from `receivedAt`, when the request came (its
   * authentication took part of the 2 s already).
   */
  async serve<T>(call: HttpCall, work: (exchange: HttpExchange) => Promise<T>, receivedAt = this.clock()): Promise<T> {
    const line = this.join(call);
    const deadline = this.deadline(receivedAt);
    const handle = line.opened.then(
      (opened) => {
        if (opened) this.options.host.dispatch(opened, { type: 'caller.transcript', at: this.clock() });
        return opened;
      },
      () => undefined,
    );
    const exchange: HttpExchange = {
      tool: async (toolCall) => {
        // Logged as our tool frames are, so the inspector shows each tool's name, answer and latency.
        exchange.log({ direction: 'in', type: 'tool.call', payload: storableJson({ id: toolCall.id, name: toolCall.name, arguments: toolCall.arguments }), toolCallId: toolCall.id });
        const started = this.clock();
        const response = await this.tool(call, line, handle, deadline, toolCall);
        exchange.log({ direction: 'out', type: 'tool.result', payload: { id: toolCall.id, ...response }, toolCallId: toolCall.id, latencyMs: this.clock() - started });
        return response;
      },
      end: async () => {
        const opened = await Promise.race([handle, deadline.reached]);
        if (!opened || line.closed) return;
        const ended = new Promise<void>((resolve) => line.endWaiters.push(resolve));
        this.options.host.dispatch(opened, { type: 'session.end', at: this.clock() });
        await Promise.race([ended, deadline.reached]);
      },
      log: (entry) => {
        void handle.then((opened) => {
          if (opened) this.options.host.log(opened, entry);
        });
      },
    };
    try {
      return await work(exchange);
    } finally {
      deadline.cancel();
      // Only once the open settled: a stalled open must not leave the port attached when it finally lands.
      void line.opened.catch(() => null).then((opened) => this.leave(line, opened));
    }
  }

  private join(call: HttpCall): Line {
    const key = keyOf(call.tenantId, call.callId);
    const current = this.lines.get(key);
    if (current && !current.closed) {
      current.inflight++;
      return current;
    }
    const line: Line = {
      key,
      port: null!,
      opened: null!,
      inflight: 1,
      closed: false,
      answers: new Map(),
      endWaiters: [],
    };
    line.port = {
      ready: () => {},
      emitted: (event) => {
        if (event.type === 'tool.answered') {
          const waiting = line.answers.get(event.call.id) ?? [];
          line.answers.delete(event.call.id);
          for (const resolve of waiting) resolve(event.response);
        } else if (event.type === 'session.ended') {
          line.endWaiters.splice(0).forEach((resolve) => resolve());
        }
        // hold.updated / appointment.updated: an HTTP runtime cannot be told unasked; the
        // next tool answer carries the news, and the inspector's feed shows it at once.
      },
      close: () => {
        line.closed = true;
        if (this.lines.get(key) === line) this.lines.delete(key);
        line.endWaiters.splice(0).forEach((resolve) => resolve());
      },
    };
    const { host, maxLiveSessions, idleMs } = this.options;
    line.opened =
      host.size >= maxLiveSessions && !host.has(call.tenantId, call.callId)
        ? Promise.reject(new Error(`at the limit of ${maxLiveSessions} live sessions`))
        : host.open(call.tenantId, call.callId, line.port, { callerPhone: call.callerPhone, locale: call.locale, runtime: call.runtime, resumeGraceMs: idleMs });
    line.opened.catch(() => {
      line.closed = true;
      if (this.lines.get(key) === line) this.lines.delete(key);
    });
    this.lines.set(key, line);
    return line;
  }

  private leave(line: Line, opened: SessionHandle | null): void {
    line.inflight--;
    if (line.inflight > 0) return;
    if (this.lines.get(line.key) === line) this.lines.delete(line.key);
    line.closed = true;
    if (opened) this.options.host.disconnect(opened, line.port);
  }

  private async tool(call: HttpCall, line: Line, handle: Promise<SessionHandle | null | undefined>, deadline: Deadline, toolCall: HttpToolCall): Promise<ToolResponse> {
    const unavailable = unavailableResponse(call.locale);
    const args = toolCall.arguments;
    if (!args) {
      const message = messages.notUnderstood(languageOf(call.locale ?? undefined));
      return { ok: false, result: { message }, error: { code: 'INVALID_ARGUMENT', message: toolCall.problem ?? 'arguments: expected an object' } };
    }
    const opened = await Promise.race([handle, deadline.reached.then(() => undefined)]);
    if (opened === undefined) return unavailable;
    if (opened === null) return this.afterTheEnd(call, toolCall.id, deadline);
    if (line.closed) return unavailable;
    let waiter!: (response: ToolResponse) => void;
    const answered = new Promise<ToolResponse>((resolve) => (waiter = resolve));
    const waiting = line.answers.get(toolCall.id) ?? [];
    waiting.push(waiter);
    line.answers.set(toolCall.id, waiting);
    this.options.host.dispatch(opened, { type: 'tool.requested', call: { id: toolCall.id, name: toolCall.name, arguments: args, receivedAt: this.clock() } });
    const answer = await Promise.race([answered, deadline.reached.then(() => null)]);
    if (answer) return answer;
    const left = (line.answers.get(toolCall.id) ?? []).filter((resolve) => resolve !== waiter);
    if (left.length > 0) line.answers.set(toolCall.id, left);
    else line.answers.delete(toolCall.id);
    return unavailable;
  }

  /** A request for a call that is over: a retried tool call still gets its first answer; anything new is refused. */
  private async afterTheEnd(call: HttpCall, toolCallId: string, deadline: Deadline): Promise<ToolResponse> {
    const lookup = (async () => {
      const session = await this.options.sessionStore.findSession(call.tenantId, call.callId);
      return session ? ((await this.options.sessionStore.findToolResult(session.id, toolCallId)) as ToolResponse | null) : null;
    })().catch(() => undefined);
    const stored = await Promise.race([lookup, deadline.reached.then(() => undefined)]);
    if (stored === undefined) return unavailableResponse(call.locale);
    if (stored) return stored;
    const message = messages.callEnded(languageOf(call.locale ?? undefined));
    return { ok: false, result: { message }, error: { code: 'NOT_FOUND', message: 'the call has ended' } };
  }

  private deadline(receivedAt: number): Deadline {
    let timer: NodeJS.Timeout | undefined;
    const left = Math.max(0, receivedAt + this.answerWithinMs - this.clock());
    const reached = new Promise<void>((resolve) => (timer = setTimeout(resolve, left)));
    return { reached, cancel: () => clearTimeout(timer) };
  }
}

interface Deadline {
  reached: Promise<void>;
  cancel(): void;
}
