/**
 * Probes and metrics for whoever runs the broker:
 * - `/healthz` is liveness: the process answers; it never touches the database, so a
 *   storage outage does not get healthy brokers restarted.
 * - `/readyz` is readiness: 200 when `select 1` answers within 1 s, else
 *   503 at once, never a hang (a load balancer sends new calls elsewhere meanwhile).
 * - `/metrics` is the app's `BrokerMetrics` in Prometheus text.
 */
import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker.js';
import { BrokerError } from '../errors.js';

export async function healthRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  app.get('/healthz', async () => ({ status: 'ok', live_sessions: broker.sessions.size }));

  app.get('/readyz', async () => {
    try {
      await broker.readiness.check();
    } catch (error) {
      const reason = error instanceof Error && error.message.startsWith('storage did not answer') ? error.message : 'storage is unreachable';
      throw new BrokerError('UNAVAILABLE', `not ready: ${reason}`, { cause: error });
    }
    return { status: 'ready' };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', broker.metrics.contentType);
    return broker.metrics.metrics();
  });
}
