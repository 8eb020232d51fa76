/**
 * The broker as a fastify application: HTTP and WebSocket routes over one `Broker`.
 * The process around it (signals, ports, the demo salon) belongs to `server.ts`.
 */
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { Broker } from './broker.js';
import type { BrokerMetrics } from './observability/metrics.js';
import type { Config } from './config.js';
import { BrokerError } from './errors.js';
import { redactingLoggerOptions } from './observability/log-redaction.js';
import { MAX_FRAME_BYTES } from './protocol/callhold/frames.js';
import { adminRoutes } from './routes/admin.js';
import { blockRoutes } from './routes/blocks.js';
import { calendarRoutes } from './routes/calendar.js';
import { calcomWebhookRoutes } from './routes/calcom-webhook.js';
import { callRoutes } from './routes/calls.js';
import { dayBoardRoutes } from './routes/day-board.js';
import { frontDeskRoutes } from './routes/front-desk.js';
import { healthRoutes } from './routes/health.js';
import { inspectorRoutes } from './routes/inspector.js';
import { openApiRoutes } from './routes/openapi.js';
import { integrationSettingsRoutes } from './routes/integration-settings.js';
import { openAiRealtimeRoutes } from './routes/openai-realtime.js';
import { integrationRoutes } from './routes/integrations/index.js';
import { sessionRoutes } from './routes/sessions.js';
import { tenantCatalogRoutes } from './routes/tenant-catalog.js';
import { toolDefinitionRoutes } from './routes/tool-definitions.js';
import type { DatabaseHandle } from './store/database.js';

export interface AppOptions {
  config: Config;
  database: DatabaseHandle;
  clock?: () => number;
  logger?: FastifyServerOptions['logger'];
}

declare module 'fastify' {
  interface FastifyInstance {
    broker: Broker;
    servedRoutes: ReadonlyArray<{ method: string; url: string }>;
    metrics: BrokerMetrics;
  }
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  // PROTOCOL §3 allows call ids of up to 128 characters; fastify's default stops at 100.
  const app = Fastify({ logger: redactingLoggerOptions(options.logger, options.config.logLevel), bodyLimit: 1024 * 1024, routerOptions: { maxParamLength: 256 } });
  const broker = new Broker({ config: options.config, database: options.database, logger: app.log, ...(options.clock ? { clock: options.clock } : {}) });
  app.decorate('broker', broker);
  // The routes this app serves, so the OpenAPI document can be held against them.
  const servedRoutes: Array<{ method: string; url: string }> = [];
  app.decorate('servedRoutes', servedRoutes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') servedRoutes.push({ method, url: route.url });
  });
  app.decorate('metrics', broker.metrics);

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof BrokerError) return reply.status(error.status).send(error.toBody());
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.status(status).send({ error: { code: 'INVALID_REQUEST', message: (error as Error).message } });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );

  await app.register(websocket, {
    options: { maxPayload: MAX_FRAME_BYTES },
    // The broker closes live calls first, with 1012 so runtimes reconnect and resume; the
    // plugin's own default would close every socket without a code before it could.
    preClose: async function closeSockets(this: FastifyInstance) {
      await broker.stop();
      for (const client of this.websocketServer.clients) client.close(1001, 'server shutting down');
      await new Promise<void>((resolve) => this.websocketServer.close(() => resolve()));
    },
  });
  await app.register(adminRoutes, { broker });
  await app.register(integrationSettingsRoutes, { broker });
  await app.register(openAiRealtimeRoutes, { broker });
  await app.register(callRoutes, { broker });
  await app.register(integrationRoutes, { broker });
  await app.register(toolDefinitionRoutes);
  await app.register(healthRoutes, { broker });
  await app.register(sessionRoutes, { broker });
  await app.register(inspectorRoutes);
  await app.register(tenantCatalogRoutes, { broker });
  await app.register(frontDeskRoutes, { broker });
  await app.register(blockRoutes, { broker });
  await app.register(dayBoardRoutes, { broker });
  await app.register(calendarRoutes, { broker });
  await app.register(calcomWebhookRoutes, { broker });
  await app.register(openApiRoutes);

  app.addHook('onReady', () => broker.start());
  return app;
}
