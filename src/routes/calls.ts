/**
 * The call WebSocket (PROTOCOL §3), our own runtime protocol's transport: authenticates
 * the runtime, enforces the socket's limits, decodes frames with the callhold codec,
 * answers ping and protocol errors itself, records its frames in the session's event log,
 * and hands machine events to the session host. All call logic lives in the machine.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import WebSocket from 'ws';
import type { Broker } from '../broker.js';
import { BrokerError } from '../errors.js';
import { callParams, closeFor, CloseCode, encodeEmitted, encodeReady, sessionEventOf } from '../protocol/callhold/codec.js';
import { decodeFrame, encodeFrame, errorFrame, type InboundFrame, type OutboundFrame } from '../protocol/callhold/frames.js';
import type { SessionPort } from '../sessions/ports.js';
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
    const tenantId = request.callTenant!;
    const { call_id: callId } = request.params as { call_id: string };
    const { config, metrics } = broker;
    const host = broker.sessions;
    let handle: SessionHandle | null = null;
    /** Set once the broker gave up on this socket (too slow a reader): its frames are ignored from then on. */
    let abandoned = false;
    /** The code this broker closed the socket with, if it did: what operators count (a peer that never answers shows 1006). */
    let closedWith: number | null = null;
    // Frames are handled in order; only session.start waits for storage, everything else is quick.
    let queue: Promise<void> = Promise.resolve();
    const frames = new TokenBucket(config.maxFramesPerS, config.maxFramesPerS * BURST_FACTOR);

    const close = (code: number, reason: string) => {
      closedWith ??= code;
      socket.close(code, reason);
    };
    const abandon = (code: number, reason: string) => {
      abandoned = true;
      clearTimeout(startTimer);
      // ws sends the close frame behind what is buffered and destroys the socket if the
      // client has not answered within its close timeout, so memory stays bounded.
      close(code, reason);
      if (handle) host.disconnect(handle, port);
    };
    const startTimer = setTimeout(() => abandon(CloseCode.noStart, `no session.start within ${config.startTimeoutMs / 1000} s`), config.startTimeoutMs);

    const write = (frame: OutboundFrame) => {
      if (socket.readyState !== WebSocket.OPEN) return;
      corkUntilTickEnds(socket);
      socket.send(encodeFrame(frame));
      metrics.frameSent();
      if (socket.bufferedAmount > config.maxBufferedBytes) abandon(CloseCode.tooSlow, 'the client reads too slowly');
    };
    /** Sends a frame and records it in the session's event log (once there is a session). */
    const reply = (frame: OutboundFrame, details: { toolCallId?: string; latencyMs?: number } = {}) => {
      write(frame);
      if (handle) host.log(handle, { direction: 'out', type: frame.type, payload: frame, ...details });
    };
    /** `session.ready`, held until the start frame is logged before it. */
    let ready: OutboundFrame | null = null;
    const port: SessionPort = {
      ready: (opened) => {
        ready = encodeReady(opened);
      },
      emitted: (event, timezone) => {
        const { frame, ...details } = encodeEmitted(event, timezone);
        reply(frame, details);
      },
      close: (reason) => {
        const { code, reason: text } = closeFor(reason);
        close(code, text);
      },
    };

    socket.on('message', (data, isBinary) => {
      if (abandoned) return;
      metrics.frameReceived();
      if (!frames.take()) {
        metrics.frameRateLimited();
        // Answered but neither queued nor logged: a flood must not reach the session or the event log.
        write({ type: 'error', code: 'RATE_LIMITED', message: `more than ${config.maxFramesPerS} frames per second: frame dropped` });
        return;
      }
      queue = queue.then(async () => {
        const text = isBinary ? null : data.toString();
        const decoded = text === null ? null : decodeFrame(text);
        if (!decoded?.ok) {
          if (handle) host.log(handle, { direction: 'in', type: 'unreadable', payload: { text: (text ?? '(binary frame)').slice(0, UNREADABLE_LOGGED_CHARS) } });
          reply(errorFrame(decoded?.error ?? { code: 'BAD_MESSAGE', message: 'binary frames are not supported; send JSON text frames', ref: null }));
          return;
        }
        const frame = decoded.frame;
        if (frame.type === 'session.start') {
          clearTimeout(startTimer);
          await start(frame);
          return;
        }
        if (handle) host.log(handle, { direction: 'in', type: frame.type, payload: frame, toolCallId: frame.type === 'tool.call' ? frame.id : null });
        if (frame.type === 'ping') {
          reply({ type: 'pong', ...(frame.id !== undefined && frame.id !== null ? { id: frame.id } : {}) });
          return;
        }
        if (!handle) {
          const ref = frame.type === 'tool.call' ? frame.id : null;
          reply(errorFrame({ code: 'NOT_STARTED', message: `${frame.type}: send session.start first`, ref }));
          return;
        }
        const event = sessionEventOf(frame, Date.now());
        if (event) host.dispatch(handle, event);
      });
    });

    async function start(frame: StartFrame) {
      try {
        const opened = await host.open(tenantId, callId, port, { callerPhone: frame.call.from_number ?? null, locale: frame.locale ?? null });
        if (!opened) return;
        handle = opened;
        host.log(opened, { direction: 'in', type: frame.type, payload: frame });
        if (ready) reply(ready);
        ready = null;
        if (abandoned) host.disconnect(opened, port);
      } catch (error) {
        request.log.error({ err: error, call_id: callId }, 'session start failed');
        reply(errorFrame({ code: 'UNAVAILABLE', message: 'session.start: storage is unavailable; send session.start again shortly', ref: null }));
      }
    }

    socket.on('close', (code) => {
      metrics.socketClosed(closedWith ?? code);
      clearTimeout(startTimer);
      void queue.then(() => {
        if (handle) host.disconnect(handle, port);
      });
    });
  });
}
