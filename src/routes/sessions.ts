/**
 * Inspector API (PROTOCOL §5 and issue 5): what every call is doing now and what
 * happened in a finished one. Sessions live in this process are shown from their
 * running machine; everything else from the stored snapshot and event log.
 *
 * - `GET /v1/sessions` lists sessions (filters, `limit`/`offset`, total in `x-total-count`)
 * - `GET /v1/sessions/{tenant}/{call_id}` is one session with its timeline and a summary
 * - `GET /v1/sessions/stats` counts what became of each tenant's holds
 * - `GET /v1/sessions/machine` describes the session machine's state tree, for drawing it
 * - `GET /v1/sessions/feed` (WebSocket) forwards every `SessionFeedEvent` as it happens
 *
 * All answer 401 without the admin token. The feed alone also takes it as `?token=`,
 * because browsers cannot set headers on a WebSocket.
 * @see ../../docs/PROTOCOL.md §5
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import WebSocket from 'ws';
import type { Broker } from '../broker.js';
import { BrokerError } from '../errors.js';
import type { SessionFeedEvent } from '../sessions/session-feed.js';
import { feedQuery, listQuery, sessionParams, statsQuery } from '../protocol/inspector.js';
import { wireAppointment, wireHold } from '../protocol/records.js';
import { parseOr400 } from './admin.js';
import { requireAdmin } from './auth.js';

/** A feed subscriber that falls this far behind is closed rather than buffered without end. */
const MAX_FEED_BUFFER_BYTES = 1024 * 1024;
const FEED_TOO_SLOW = 1013;

export async function sessionRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  const views = broker.inspector;
  const adminOnly = requireAdmin(broker.config.adminToken);
  const feedAuth = requireAdmin(broker.config.adminToken, { allowQueryToken: true });

  app.get('/v1/sessions', { onRequest: adminOnly }, async (request, reply) => {
    const { sessions, total } = await views.list(parseOr400(listQuery, request.query));
    reply.header('x-total-count', String(total));
    return sessions;
  });

  app.get('/v1/sessions/stats', { onRequest: adminOnly }, async (request) => views.stats(parseOr400(statsQuery, request.query)));

  app.get('/v1/sessions/machine', { onRequest: adminOnly }, async () => views.machine());

  app.get('/v1/sessions/:tenant/:call_id', { onRequest: adminOnly }, async (request) => {
    const params = parseOr400(sessionParams, request.params);
    const detail = await views.detail(params.tenant, params.call_id);
    if (!detail) throw new BrokerError('NOT_FOUND', `no session "${params.call_id}" for tenant "${params.tenant}"`);
    return detail;
  });

  const validFeedQuery = async (request: FastifyRequest) => void parseOr400(feedQuery, request.query);
  // `logLevel: warn` keeps the request lines, whose URL carries the admin token, out of the log.
  app.get('/v1/sessions/feed', { websocket: true, logLevel: 'warn', onRequest: feedAuth, preValidation: validFeedQuery }, (socket, request) => {
    const { tenant } = parseOr400(feedQuery, request.query);
    const send = (message: Record<string, unknown>) => {
      if (socket.readyState !== WebSocket.OPEN) return;
      if (socket.bufferedAmount > MAX_FEED_BUFFER_BYTES) {
        socket.close(FEED_TOO_SLOW, 'feed subscriber too slow');
        return;
      }
      socket.send(JSON.stringify(message));
    };
    const unsubscribe = broker.feed.subscribe((event) => {
      if (!tenant || event.tenant === tenant) send(feedMessage(event));
    });
    socket.on('close', unsubscribe);
    socket.on('error', unsubscribe);
    // Tells the subscriber that every later change reaches it, and the server's clock for countdowns.
    send({ type: 'feed.ready', tenant: tenant ?? null, at: new Date().toISOString() });
  });
}

/** A feed event as the inspector reads it: holds and appointments as on the wire. */
function feedMessage(event: SessionFeedEvent): Record<string, unknown> {
  switch (event.type) {
    case 'hold.changed': {
      const { status, hold, timezone, ...rest } = event;
      return { ...rest, hold: wireHold(hold, status, timezone) };
    }
    case 'appointment.changed': {
      const { status, appointment, timezone, ...rest } = event;
      return { ...rest, appointment: { ...wireAppointment(appointment, timezone), status } };
    }
    default:
      return event;
  }
}
