/**
 * Opens the database callhold runs on: PostgreSQL through postgres.js when a URL is
 * given, else embedded PGlite. Both are the same drizzle `PgDatabase`, so every query
 * in `src/store/` runs unchanged on either.
 */
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres, { type Sql } from 'postgres';
import * as schema from './schema.js';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Driver = 'pglite' | 'postgres';

export interface DatabaseHandle {
  db: Database;
  driver: Driver;
  close(): Promise<void>;
  /**
   * PostgreSQL only: runs `onNotify` on each NOTIFY on `channel` (postgres.js keeps one
   * connection for it and re-listens after a reconnect); resolves to an unlisten. PGlite
   * has none: its callers poll.
   */
  listen?(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
}

const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));

export interface PostgresOptions {
  /** Connections in the pool; the hot path holds one per claim transaction. */
  maxConnections?: number;
}

/** The longest a pool connection waits before it dials again after a failed connection, in ms. */
export const MAX_RECONNECT_DELAY_MS = 250;

/**
 * Why recovery after an outage was slow. postgres.js lets a connection that closed with an
 * error dial again only `backoff(retries)` seconds after it closed, by default
 * `(0.5…1) × min(3^retries / 100, 20)`: exponential up to 20 s. `retries` is one counter for
 * the whole pool, raised by every failed connection and reset only by a successful
 * connect, and each connection's wait is fixed when it closes. Connections are dialled
 * lazily, one per query that finds none open, so during a cut every query of a busy
 * broker is one more failure; once more have failed than the pool has connections
 * (snapshot and log writes count too), every closed connection carries a wait of seconds,
 * and the first queries after the database is back sit out the rest of it instead of
 * reaching the database. Through the fault proxy: after a 2.5–5 s cut the first query
 * answered 3–14 s after the restore, every tool before it UNAVAILABLE; with this ceiling,
 * in 20–40 ms. Connections are still dialled only when a query needs one, so a short
 * ceiling cannot storm the server: at most one attempt per pool connection per ceiling, and
 * only under load. Jitter keeps several broker instances from dialling in step.
 */
function reconnectDelayS(retries: number): number {
  const ceilingMs = Math.min(10 * 2 ** retries, MAX_RECONNECT_DELAY_MS);
  return ((0.5 + Math.random() / 2) * ceilingMs) / 1000;
}

/**
 * How long `close()` lets connections finish before it terminates them. By then the broker
 * has stopped (its writes are done or abandoned), so nothing worth waiting for is left;
 * and postgres.js (3.4.9) keeps a query that failed with its connection's socket as that
 * connection's current query (`errored()` never clears it; only the next ReadyForQuery
 * does), so after an outage `end()` waits for those connections for the whole timeout,
 * however healthy the database is by then (measured: every close after a cut took
 * exactly the 5 s this used to be, and made SIGTERM race the process's deadline).
 */
const CLOSE_TIMEOUT_S = 1;

/** Connects to PostgreSQL and applies pending migrations. */
export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<DatabaseHandle> {
  const client = postgres(url, {
    max: options.maxConnections ?? 20,
    onnotice: () => {},
    connection: { application_name: 'callhold' },
    backoff: reconnectDelayS,
  });
  const db = drizzlePostgres(preparingStatements(client), { schema });
  await migratePostgres(db, { migrationsFolder });
  return {
    db,
    driver: 'postgres',
    close: () => client.end({ timeout: CLOSE_TIMEOUT_S }),
    listen: async (channel, onNotify) => {
      const subscription = await client.listen(channel, (payload) => onNotify(payload));
      return () => subscription.unlisten();
    },
  };
}

/** Statements with more parameters than this are the batched multi-row inserts. */
const MAX_PREPARED_PARAMETERS = 64;

/**
 * drizzle's postgres.js driver runs every query unprepared (drizzle-orm#6096), and
 * postgres.js sends an unprepared query that has parameters in two round trips: one to
 * describe it, one to run it. Prepared, a statement is described once per connection and
 * then costs one round trip. The batched multi-row inserts, whose text changes with the
 * batch size, stay unprepared so they do not fill the server's statement cache.
 */
function preparingStatements(client: Sql): Sql {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'unsafe') {
        return (query: string, parameters: unknown[] = [], options: Record<string, unknown> = {}) =>
          target.unsafe(query, parameters as never[], { ...options, prepare: parameters.length <= MAX_PREPARED_PARAMETERS });
      }
      if (property === 'begin' || property === 'savepoint') {
        const open = Reflect.get(target, property, receiver) as (...args: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) => {
          const body = args.pop() as (scoped: Sql) => unknown;
          return open(...args, (scoped: Sql) => body(preparingStatements(scoped)));
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

/** Wraps a PGlite instance (already created with `btree_gist`) and applies pending migrations. */
export async function usePglite(client: PGlite): Promise<DatabaseHandle> {
  const db = drizzlePglite(client, { schema });
  await migratePglite(db, { migrationsFolder });
  return { db, driver: 'pglite', close: () => client.close() };
}

/** Creates an embedded PGlite in `dataDir` (or in memory when undefined). */
export function createPglite(dataDir: string | undefined, loadDataDir?: Blob): Promise<PGlite> {
  return PGlite.create(dataDir, { extensions: { btree_gist }, ...(loadDataDir ? { loadDataDir } : {}) });
}

export async function openDatabase(options: { databaseUrl?: string | undefined; dataDir: string }): Promise<DatabaseHandle> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl);
  return usePglite(await createPglite(options.dataDir));
}
