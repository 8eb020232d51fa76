/**
 * The call WebSocket (PROTOCOL §3), our own runtime protocol's transport: authenticates
 * the runtime, enforces the socket's limits, decodes frames with the callhold codec,
 * answers ping and protocol errors itself, records its frames in the session's event log,
 * and hands machine events to the session host. All call logic lives in the machine.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import WebSocket from 'ws';
import type { Broker } from '../broker.js';
import { BrokerError } from '../errors.js';
import { callParams, closeFor, CloseCode, encodeEmitted, encodeReady, sessionEventOf } from '../protocol/callhold/codec.js';
import { decodeFrame, encodeFrame, errorFrame, type InboundFrame, type OutboundFrame } from '../protocol/callhold/frames.js';
import type { CallSessionEmitted } from '../../machines/call-session.types.js';
import type { CloseReason, SessionPort, SessionReady } from '../sessions/ports.js';
import type { SessionHandle } from '../sessions/session-host.js';
import { corkUntilTickEnds } from '../services/socket-writes.js';
import { parseOr400 } from './admin.js';
import { bearerToken } from './auth.js';
import { TokenBucket } from './token-bucket.js';

/** PROTOCOL §1: bursts of up to four times `MAX_FRAMES_PER_S`. */
const BURST_FACTOR = 4;
/** An unreadable frame is logged as the text that came, cut to this. */
const UNREADABLE_LOGGED_CHARS = 2048;

type StartFrame = Extract<InboundFrame, { type: 'session.start' }>;


declare module 'fastify' {
  interface FastifyRequest {
    callTenant?: string;
  }
}

export async function callRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  /** PROTOCOL §3: without a valid token the upgrade is 401; while storage is down it is 503 within 2 s (see RuntimeAuth). */
  async function authenticate(request: FastifyRequest) {
    parseOr400(callParams, request.params);
    const query = request.query as Record<string, unknown>;
    const token = bearerToken(request) ?? (typeof query.token === 'string' ? query.token : null);
    const tenant = token ? await broker.runtimeAuth.tenantFor(token) : null;
    if (!tenant) throw new BrokerError('UNAUTHORIZED', 'a valid runtime token is required');
    request.callTenant = tenant;
  }

  /** PROTOCOL §1 `MAX_LIVE_SESSIONS`: a new call past the limit is refused; a reconnect of a live one is not. */
  async function admitCall(request: FastifyRequest) {
    const { call_id: callId } = request.params as { call_id: string };
    const host = broker.sessions;
    if (host.size >= broker.config.maxLiveSessions && !host.has(request.callTenant!, callId)) {
      throw new BrokerError('UNAVAILABLE', `this broker instance is at its limit of ${broker.config.maxLiveSessions} live sessions`);
    }
  }

  app.get('/v1/calls/:call_id', { websocket: true, preValidation: [authenticate, admitCall] }, (socket, request) => {
    const { call_id: callId } = request.params as { call_id: string };
    new CallSocket(broker, socket, request.callTenant!, callId, request.log);
  });
}

/**
 * One call socket for as long as its call lasts: its limits, its frame queue, and the
 * port its session talks through. A class rather than named closures in the route
 * handler: the broker runs under tsx, whose keepNames defines a `name` on every named
 * function, which turns each into a dictionary-mode object (about 0.3 KiB more each);
 * the handler's eight came to 2.5 KiB per live call, an eighth of its heap. Methods
 * live once on the prototype, and the listeners are anonymous.
 */
class CallSocket implements SessionPort {
  private handle: SessionHandle | null = null;
  /** Set once the broker gave up on this socket (too slow a reader): its frames are ignored from then on. */
  private abandoned = false;
  /** The code this broker closed the socket with, if it did: what operators count (a peer that never answers shows 1006). */
  private closedWith: number | null = null;
  // Frames are handled in order; only session.start waits for storage, everything else is quick.
  private queue: Promise<void> = Promise.resolve();
  private readonly frames: TokenBucket;
  /** Until session.start comes; dropped then, so a call does not keep its spent timer. */
  private startTimer: NodeJS.Timeout | null;
  /** `session.ready`, held until the start frame is logged before it. */
  private pendingReady: OutboundFrame | null = null;

  constructor(
    private readonly broker: Broker,
    private readonly socket: WebSocket,
    private readonly tenantId: string,
    private readonly callId: string,
    private readonly log: FastifyBaseLogger,
  ) {
    const { config } = broker;
    this.frames = new TokenBucket(config.maxFramesPerS, config.maxFramesPerS * BURST_FACTOR);
    this.startTimer = setTimeout(() => this.abandon(CloseCode.noStart, `no session.start within ${config.startTimeoutMs / 1000} s`), config.startTimeoutMs);
    socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => this.received(data, isBinary));
    socket.on('close', (code: number) => this.closed(code));
  }

  ready(opened: SessionReady): void {
    this.pendingReady = encodeReady(opened);
  }

  emitted(event: CallSessionEmitted, timezone: string): void {
    const { frame, ...details } = encodeEmitted(event, timezone);
    this.reply(frame, details);
  }

  close(reason: CloseReason): void {
    const { code, reason: text } = closeFor(reason);
    this.closeWith(code, text);
  }

  private stopStartTimer(): void {
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = null;
  }

  private closeWith(code: number, reason: string): void {
    this.closedWith ??= code;
    this.socket.close(code, reason);
  }

  private abandon(code: number, reason: string): void {
    this.abandoned = true;
    this.stopStartTimer();
    // ws sends the close frame behind what is buffered and destroys the socket if the
    // client has not answered within its close timeout, so memory stays bounded.
    this.closeWith(code, reason);
    if (this.handle) this.broker.sessions.disconnect(this.handle, this);
  }

  private write(frame: OutboundFrame): void {
    const { socket } = this;
    if (socket.readyState !== WebSocket.OPEN) return;
    corkUntilTickEnds(socket);
    socket.send(encodeFrame(frame));
    this.broker.metrics.frameSent();
    if (socket.bufferedAmount > this.broker.config.maxBufferedBytes) this.abandon(CloseCode.tooSlow, 'the client reads too slowly');
  }

  /** Sends a frame and records it in the session's event log (once there is a session). */
  private reply(frame: OutboundFrame, details: { toolCallId?: string; latencyMs?: number } = {}): void {
    this.write(frame);
    if (this.handle) this.broker.sessions.log(this.handle, { direction: 'out', type: frame.type, payload: frame, ...details });
  }

  private received(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.abandoned) return;
    const { config, metrics } = this.broker;
    metrics.frameReceived();
    if (!this.frames.take()) {
      metrics.frameRateLimited();
      // Answered but neither queued nor logged: a flood must not reach the session or the event log.
      this.write({ type: 'error', code: 'RATE_LIMITED', message: `more than ${config.maxFramesPerS} frames per second: frame dropped` });
      return;
    }
    this.queue = this.queue.then(() => this.handleFrame(isBinary ? null : data.toString()));
  }

  private async handleFrame(text: string | null): Promise<void> {
    const host = this.broker.sessions;
    const decoded = text === null ? null : decodeFrame(text);
    if (!decoded?.ok) {
      if (this.handle) host.log(this.handle, { direction: 'in', type: 'unreadable', payload: { text: (text ?? '(binary frame)').slice(0, UNREADABLE_LOGGED_CHARS) } });
      this.reply(errorFrame(decoded?.error ?? { code: 'BAD_MESSAGE', message: 'binary frames are not supported; send JSON text frames', ref: null }));
      return;
    }
    const frame = decoded.frame;
    if (frame.type === 'session.start') {
      this.stopStartTimer();
      await this.start(frame);
      return;
    }
    const { handle } = this;
    if (handle) host.log(handle, { direction: 'in', type: frame.type, payload: frame, toolCallId: frame.type === 'tool.call' ? frame.id : null });
    if (frame.type === 'ping') {
      this.reply({ type: 'pong', ...(frame.id !== undefined && frame.id !== null ? { id: frame.id } : {}) });
      return;
    }
    if (!handle) {
      const ref = frame.type === 'tool.call' ? frame.id : null;
      this.reply(errorFrame({ code: 'NOT_STARTED', message: `${frame.type}: send session.start first`, ref }));
      return;
    }
    const event = sessionEventOf(frame, Date.now());
    if (event) host.dispatch(handle, event);
  }

  private async start(frame: StartFrame): Promise<void> {
    const host = this.broker.sessions;
    try {
      const opened = await host.open(this.tenantId, this.callId, this, { callerPhone: frame.call.from_number ?? null, locale: frame.locale ?? null });
      if (!opened) return;
      this.handle = opened;
      host.log(opened, { direction: 'in', type: frame.type, payload: frame });
      if (this.pendingReady) this.reply(this.pendingReady);
      this.pendingReady = null;
      if (this.abandoned) host.disconnect(opened, this);
    } catch (error) {
      this.log.error({ err: error, call_id: this.callId }, 'session start failed');
      this.reply(errorFrame({ code: 'UNAVAILABLE', message: 'session.start: storage is unavailable; send session.start again shortly', ref: null }));
    }
  }

  private closed(code: number): void {
    this.broker.metrics.socketClosed(this.closedWith ?? code);
    this.stopStartTimer();
    void this.queue.then(() => {
      if (this.handle) this.broker.sessions.disconnect(this.handle, this);
    });
  }
}
