/**
 * The broker process: reads configuration, opens the database, serves, and closes
 * cleanly on SIGINT/SIGTERM (live calls stay resumable across the restart), within
 * `SHUTDOWN_DEADLINE_MS` even while the database hangs.
 * On the embedded database it also loads the demo salon and prints how to reach it.
 */
import { randomBytes } from 'node:crypto';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { BrokerError } from './errors.js';
import { loadDemo } from './demo/load-demo.js';
import { openDatabase } from './store/database.js';

/** A SIGTERM/SIGINT ends the process within this, however the database behaves (README "Storage outages"). */
const SHUTDOWN_DEADLINE_MS = 5000;

async function main() {
  const config = loadConfig();
  const embedded = !config.databaseUrl;
  const adminToken = config.adminToken ?? (embedded ? `adm_${randomBytes(18).toString('base64url')}` : undefined);
  const database = await openDatabase(config);
  const app = await buildApp({ config: { ...config, adminToken }, database });

  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    // The graceful close is bounded piece by piece (storage writes in Broker.stop, the
    // database's own close), but it also waits for HTTP requests in flight, and any of them
    // may be stuck on a stalled database. A supervisor must be able to count on the process
    // being gone: past the deadline it exits anyway, with 1 (0 is a clean close).
    setTimeout(() => {
      app.log.error({ signal, deadline_ms: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time: exiting anyway');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    try {
      await app.close();
      await database.close();
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void close('SIGINT'));
  process.on('SIGTERM', () => void close('SIGTERM'));

  const address = await app.listen({ port: config.port, host: config.host });
  app.log.info({ address, database: database.driver }, 'callhold broker listening');
  if (embedded) {
    const demo = await loadDemo(app.broker, { url: address, adminToken: adminToken!, dataDir: config.dataDir });
    process.stdout.write(
      [
        '',
        `callhold is running at ${address} on the embedded database in ${config.dataDir} (demo salon "${demo.tenant}" loaded)`,
        `  admin token:   ${demo.admin_token}${config.adminToken ? '' : '  (generated; set ADMIN_TOKEN to choose one)'}`,
        `  runtime token: ${demo.runtime_token}`,
        `  a call:        ${address.replace(/^http/, 'ws')}/v1/calls/<call_id>?token=${demo.runtime_token}`,
        `  inspector:     ${address}/inspector`,
        `  simulate:      npm run simulate -- --scenario happy`,
        '',
      ].join('\n'),
    );
  }
}

main().catch((error: unknown) => {
  if (error instanceof BrokerError && error.code === 'INVALID_CONFIG') {
    process.stderr.write(`callhold: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`callhold: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
