/**
 * Probes and metrics for whoever runs the broker:
 * - `/healthz` is liveness: the process answers; it never touches the database, so a
 *   storage outage does not get healthy brokers restarted.
 * - `/readyz` is readiness: 200 when `select 1` answers within `READY_TIMEOUT_MS`, else
 *   503 at once, never a hang (a load balancer sends new calls elsewhere meanwhile).
 * - `/metrics` is the app's `BrokerMetrics` in Prometheus text.
 */
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker.js';
import { BrokerError } from '../errors.js';
import type { DatabaseHandle } from '../store/database.js';

export const READY_TIMEOUT_MS = 1000;

/** Resolves when storage answers a trivial query in time; rejects with a reason otherwise. */
async function storageAnswers(database: DatabaseHandle, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`storage did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([database.db.execute(sql`select 1`), late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function healthRoutes(app: FastifyInstance, { broker, database }: { broker: Broker; database: DatabaseHandle }) {
  app.get('/healthz', async () => ({ status: 'ok', live_sessions: broker.sessions.size }));

  app.get('/readyz', async () => {
    try {
      await storageAnswers(database, READY_TIMEOUT_MS);
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
