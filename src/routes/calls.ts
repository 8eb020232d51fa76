/**
 * The call WebSocket (PROTOCOL §3): authenticates the runtime, decodes frames, answers
 * ping and protocol errors itself, and hands everything else to the session registry.
 * Thin on purpose: all call logic lives in the session machine.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import WebSocket from 'ws';
import { z } from 'zod';
import type { Broker } from '../broker.js';
import { BrokerError } from '../errors.js';
import { decodeFrame, encodeFrame, errorFrame, type OutboundFrame } from '../protocol/call-frames.js';
import type { SessionConnection, SessionHandle } from '../sessions/session-registry.js';
import { parseOr400 } from './admin.js';
import { bearerToken, hashToken } from './auth.js';

const callParams = z.object({ callId: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'call_id must be 1-128 characters of [A-Za-z0-9_.:-]') });

declare module 'fastify' {
  interface FastifyRequest {
    callTenant?: string;
  }
}

export async function callRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  /**
   * PROTOCOL §3: without a valid token the upgrade is 401; while storage is down it is 503
   * within 2 s, never a hang (a stalled database answers nothing, and postgres.js has no
   * query timeout) and never a 500 (a reset connection rejects with a driver error).
   * Lookups are not cached: a token known from a cache would let a call in that storage
   * cannot serve (its `session.start` needs the database too), which the contract refuses
   * at the door instead.
   */
  async function authenticate(request: FastifyRequest) {
    const LOOKUP_DEADLINE_MS = 1500;
    parseOr400(callParams, request.params);
    const query = request.query as Record<string, unknown>;
    const token = bearerToken(request) ?? (typeof query.token === 'string' ? query.token : null);
    if (!token) throw new BrokerError('UNAUTHORIZED', 'a valid runtime token is required');
    let deadline: NodeJS.Timeout | undefined;
    let tenant: string | null;
    try {
      tenant = await Promise.race([
        broker.catalogStore.tenantForToken(hashToken(token)),
        new Promise<never>((_, reject) => {
          deadline = setTimeout(() => reject(new Error(`the token lookup did not answer within ${LOOKUP_DEADLINE_MS} ms`)), LOOKUP_DEADLINE_MS);
        }),
      ]);
    } catch (error) {
      request.log.warn({ err: error }, 'call upgrade refused: storage unavailable');
      throw new BrokerError('UNAVAILABLE', 'storage is unavailable; try again shortly', { cause: error });
    } finally {
      clearTimeout(deadline);
    }
    if (!tenant) throw new BrokerError('UNAUTHORIZED', 'a valid runtime token is required');
    request.callTenant = tenant;
  }

  app.get('/v1/calls/:callId', { websocket: true, preValidation: authenticate }, (socket, request) => {
    const tenantId = request.callTenant!;
    const { callId } = request.params as { callId: string };
    const registry = broker.sessions;
    let handle: SessionHandle | null = null;
    // Frames are handled in order; only session.start waits for storage, everything else is quick.
    let queue: Promise<void> = Promise.resolve();

    const connection: SessionConnection = {
      send: (frame: OutboundFrame) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(encodeFrame(frame));
      },
      close: (code, reason) => socket.close(code, reason),
    };
    const reply = (frame: OutboundFrame) => {
      connection.send(frame);
      if (handle) registry.note(handle, 'out', frame);
    };

    socket.on('message', (data, isBinary) => {
      queue = queue.then(async () => {
        const text = isBinary ? null : data.toString();
        const decoded = text === null ? null : decodeFrame(text);
        if (!decoded?.ok) {
          if (handle) registry.noteUnreadable(handle, text ?? '(binary frame)');
          reply(errorFrame(decoded?.error ?? { code: 'BAD_MESSAGE', message: 'binary frames are not supported; send JSON text frames', ref: null }));
          return;
        }
        const frame = decoded.frame;
        if (frame.type === 'ping') {
          if (handle) registry.note(handle, 'in', frame);
          reply({ type: 'pong', ...(frame.id !== undefined && frame.id !== null ? { id: frame.id } : {}) });
          return;
        }
        if (frame.type === 'session.start') {
          handle = await registry.start(tenantId, callId, connection, frame).catch((error: unknown) => {
            request.log.error({ err: error, call_id: callId }, 'session start failed');
            reply(errorFrame({ code: 'BAD_MESSAGE', message: 'the session could not be started: storage unavailable, try again', ref: null }));
            return handle;
          });
          return;
        }
        if (!handle) {
          const ref = frame.type === 'tool.call' ? frame.id : null;
          reply(errorFrame({ code: 'NOT_STARTED', message: `${frame.type}: send session.start first`, ref }));
          return;
        }
        registry.receive(handle, frame);
      });
    });
    socket.on('close', () => {
      void queue.then(() => {
        if (handle) registry.disconnect(handle, connection);
      });
    });
  });
}
