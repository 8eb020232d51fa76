/** Liveness and metrics for whoever runs the broker. */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Broker } from '../broker.js';

export async function healthRoutes(app: FastifyInstance, { broker }: { broker: Broker }) {
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  new Gauge({
    name: 'callhold_live_sessions',
    help: 'Call sessions held in memory by this broker',
    registers: [metrics],
    collect() {
      this.set(broker.sessions.size);
    },
  });

  app.get('/healthz', async () => ({ status: 'ok', live_sessions: broker.sessions.size }));
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.contentType);
    return metrics.metrics();
  });
}
