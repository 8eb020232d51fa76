/**
 * The sideband of one OpenAI Realtime SIP call (PROTOCOL §6.1): the broker's own
 * WebSocket to `{OPENAI_REALTIME_URL}?call_id=…`, and the `SessionPort` that carries the
 * call's session. Server events are decoded by the openai-realtime codec and dispatched to
 * the session host; what the session emits goes back as client events.
 *
 * One response at a time: the service refuses a `response.create` while a response is
 * active (`conversation_already_has_active_response`). Tool answers therefore wait in a
 * queue until no response is active (after `response.done`), then go out, every answer
 * waiting at that moment as its `function_call_output` and one `response.create` after
 * them, so parallel function calls of one response are answered in one turn. A refused
 * `response.create` (server VAD may start a response at the same moment) is sent again
 * after the next `response.done`. System notes (a hold that expired or was lost) go out at
 * once and ask for no response.
 *
 * The socket closing normally (1000) ends the call; any other close is redialled with
 * backoff while the session's resume grace lasts, and the session resumes on the new
 * socket with its hold. When the grace is over the session ends as `dropped` on its own.
 */
import type { FastifyBaseLogger } from 'fastify';
import WebSocket from 'ws';
import type { CallSessionEmitted } from '../../../machines/call-session.types.js';
import type { Language } from '../../language/index.js';
import { decodeServerEvent, encodeEmitted, RESPONSE_CREATE, sessionEventOf, unreadableArgumentsOutput, argumentsOf } from '../../protocol/openai-realtime/codec.js';
import { ACTIVE_RESPONSE_ERROR, type ClientEvent, type ServerEvent } from '../../protocol/openai-realtime/events.js';
import type { CloseReason, SessionOpening, SessionPort, SessionReady } from '../../sessions/ports.js';
import type { SessionHandle, SessionHost } from '../../sessions/session-host.js';
import { corkUntilTickEnds } from '../../services/socket-writes.js';

/** Backoff of redials: doubling from the first delay up to the cap, with jitter. */
export interface Backoff {
  firstMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { firstMs: 200, maxMs: 5000 };

export interface SidebandOptions {
  /** The sideband URL with `?call_id=` already on it. */
  url: string;
  apiKey: string;
  host: SessionHost;
  tenantId: string;
  callId: string;
  opening: SessionOpening;
  language: Language;
  resumeGraceMs: number;
  logger: FastifyBaseLogger;
  clock?: () => number;
  backoff?: Backoff;
  /** Entries logged in the session's event log as soon as it is open (the webhook, the accept). */
  prelude?: Array<{ direction: 'in' | 'out'; type: string; payload: unknown }>;
  /** Called once, when this client will never connect again. */
  onFinished?: () => void;
}

/** Close codes the broker uses on the sideband. */
const NORMAL_CLOSE = 1000;
const GOING_AWAY = 1001;
/** A redial refused with one of these will never succeed: stop, and let the session's grace run out. */
const PERMANENT_REFUSALS = new Set([400, 401, 403, 404, 410]);

export class SidebandClient implements SessionPort {
  private socket: WebSocket | null = null;
  private handle: SessionHandle | null = null;
  private readonly clock: () => number;
  private readonly backoff: Backoff;
  /** Server events are handled in order; opening the session waits for storage. */
  private queue: Promise<void> = Promise.resolve();
  /** Function call outputs waiting for no response to be active, with the tool's latency for the event log. */
  private outputs: Array<{ event: ClientEvent; latencyMs: number | null }> = [];
  /** A `response.create` is owed: the last one was refused while a response ran. */
  private responseOwed = false;
  /** A response is running (ours or the model's own), as far as this socket knows. */
  private responseActive = false;
  /** Notes that could not go out while no socket was open. */
  private notes: ClientEvent[] = [];
  private attempts = 0;
  /** When the connection was lost; redials stop once the grace has passed since. */
  private lostAt: number | null = null;
  private redial: NodeJS.Timeout | null = null;
  /** Set once the broker is done with this call: no more redials. */
  private finished = false;
  private prelude: SidebandOptions['prelude'];

  constructor(private readonly options: SidebandOptions) {
    this.clock = options.clock ?? Date.now;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.prelude = options.prelude;
  }

  get callId(): string {
    return this.options.callId;
  }

  /** Dials the sideband. */
  start(): void {
    this.connect();
  }

  /** Stops redialling and closes the socket without ending the session (broker shutdown). */
  stop(): void {
    this.finish(GOING_AWAY, 'broker stopping');
  }

  // SessionPort ------------------------------------------------------------------

  ready(ready: SessionReady): void {
    this.options.logger.debug({ resumed: ready.resumed, state: ready.state }, 'sideband session ready');
  }

  emitted(event: CallSessionEmitted, timezone: string): void {
    const encoded = encodeEmitted(event, timezone, this.options.language);
    if (!encoded) return;
    if (encoded.kind === 'note') {
      if (!this.sendNow(encoded.event)) this.notes.push(encoded.event);
      return;
    }
    this.outputs.push({ event: encoded.event, latencyMs: encoded.latencyMs });
    this.flush();
  }

  close(reason: CloseReason): void {
    this.finish(reason === 'ended' ? NORMAL_CLOSE : GOING_AWAY, reason === 'ended' ? 'session ended' : reason === 'taken_over' ? 'taken over' : 'broker restarting');
  }

  // The socket ---------------------------------------------------------------------

  private connect(): void {
    if (this.finished) return;
    const socket = new WebSocket(this.options.url, { headers: { authorization: `Bearer ${this.options.apiKey}` } });
    this.socket = socket;
    this.responseActive = false;
    socket.on('message', (data, isBinary) => {
      if (this.socket !== socket || isBinary) return;
      const text = data.toString();
      this.queue = this.queue.then(() => this.receive(text)).catch((error) => this.options.logger.error({ err: error }, 'sideband event failed'));
    });
    socket.on('open', () => {
      this.queue = this.queue.then(() => this.opened(socket)).catch((error) => this.options.logger.error({ err: error }, 'opening the sideband session failed'));
    });
    socket.on('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0;
      this.options.logger.warn({ status }, 'sideband refused');
      response.resume();
      socket.terminate();
      if (PERMANENT_REFUSALS.has(status)) this.finish(null, 'refused');
    });
    socket.on('error', (error) => this.options.logger.warn({ err: error }, 'sideband socket error'));
    socket.on('close', (code) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.queue = this.queue.then(() => this.closed(code));
    });
  }

  private async opened(socket: WebSocket): Promise<void> {
    if (this.socket !== socket) return;
    this.attempts = 0;
    this.lostAt = null;
    const handle = await this.options.host.open(this.options.tenantId, this.options.callId, this, this.options.opening);
    if (!handle) return; // The call was over already; the host closed this port.
    this.handle = handle;
    for (const entry of this.prelude ?? []) this.options.host.log(handle, entry);
    this.prelude = undefined;
    const notes = this.notes;
    this.notes = [];
    for (const note of notes) this.sendNow(note);
    this.flush();
  }

  private async receive(text: string): Promise<void> {
    const at = this.clock();
    const decoded = decodeServerEvent(text);
    if (!decoded.ok) {
      this.options.logger.warn({ problem: decoded.message }, 'unreadable sideband event');
      if (this.handle) this.options.host.log(this.handle, { direction: 'in', type: 'unreadable', payload: { text: text.slice(0, 2048), problem: decoded.message } });
      return;
    }
    const event = decoded.event;
    if (!event) return; // Deltas, session updates and the rest mean nothing to the session.
    if (this.handle) this.options.host.log(this.handle, { direction: 'in', type: event.type, payload: event, toolCallId: event.type === 'response.function_call_arguments.done' ? event.call_id : null });
    this.track(event);
    if (!this.handle) return;
    if (event.type === 'response.function_call_arguments.done') {
      const args = argumentsOf(event.arguments);
      if (!args.ok) {
        this.outputs.push({ event: unreadableArgumentsOutput(event.call_id, args.message, this.options.language), latencyMs: null });
        this.flush();
        return;
      }
    }
    if (event.type === 'conversation.item.input_audio_transcription.completed') this.options.logger.debug({ role: 'caller', transcript: event.transcript }, 'transcript');
    if (event.type === 'response.output_audio_transcript.done') this.options.logger.debug({ role: 'agent', transcript: event.transcript }, 'transcript');
    const sessionEvent = sessionEventOf(event, at);
    if (sessionEvent) this.options.host.dispatch(this.handle, sessionEvent);
  }

  /** Follows the response in progress, and what the service said about ours. */
  private track(event: ServerEvent): void {
    switch (event.type) {
      case 'response.created':
        this.responseActive = true;
        return;
      case 'response.done':
        this.responseActive = false;
        this.flush();
        return;
      case 'error':
        if (event.error.code === ACTIVE_RESPONSE_ERROR) {
          // Ours came while another ran: ask again once that one is done.
          this.responseActive = true;
          this.responseOwed = true;
        } else {
          this.options.logger.warn({ error: event.error }, 'the Realtime service reported an error');
        }
        return;
      default:
        return;
    }
  }

  /** Sends what waits for the turn, if no response is active: every queued output, then one `response.create`. */
  private flush(): void {
    if (this.responseActive || !this.handle || this.socket?.readyState !== WebSocket.OPEN) return;
    if (this.outputs.length === 0 && !this.responseOwed) return;
    const outputs = this.outputs;
    this.outputs = [];
    for (const output of outputs) this.sendNow(output.event, output.latencyMs);
    this.responseOwed = false;
    this.responseActive = true;
    this.sendNow(RESPONSE_CREATE);
  }

  private sendNow(event: ClientEvent, latencyMs: number | null = null): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    corkUntilTickEnds(socket);
    socket.send(JSON.stringify(event));
    if (this.handle) {
      const toolCallId = event.type === 'conversation.item.create' && event.item.type === 'function_call_output' ? event.item.call_id : null;
      this.options.host.log(this.handle, { direction: 'out', type: event.type, payload: event, toolCallId, latencyMs });
    }
    return true;
  }

  private closed(code: number): void {
    if (this.finished) return;
    if (code === NORMAL_CLOSE && this.handle) {
      // The service ended the call: the session ends, booked or not.
      this.options.host.dispatch(this.handle, { type: 'session.end', at: this.clock() });
      this.finish(null, 'call ended');
      return;
    }
    if (this.handle) this.options.host.disconnect(this.handle, this);
    this.lostAt ??= this.clock();
    const delay = Math.min(this.backoff.maxMs, this.backoff.firstMs * 2 ** this.attempts) * (0.75 + Math.random() * 0.5);
    this.attempts++;
    if (this.clock() + delay > this.lostAt + this.options.resumeGraceMs) {
      this.options.logger.warn({ code }, 'sideband lost and not back within the resume grace');
      this.finish(null, 'grace over');
      return;
    }
    this.options.logger.info({ code, attempt: this.attempts, delay_ms: Math.round(delay) }, 'sideband lost: redialling');
    this.redial = setTimeout(() => this.connect(), delay);
  }

  /** Never connects again; closes the socket with `code` if one is open (null: leave it). */
  private finish(code: number | null, reason: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.redial) clearTimeout(this.redial);
    const socket = this.socket;
    if (code !== null && socket && (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)) {
      if (socket.readyState === WebSocket.OPEN) socket.close(code, reason);
      else socket.terminate();
    }
    this.options.onFinished?.();
  }
}
