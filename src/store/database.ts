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
}

const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));

export interface PostgresOptions {
  /** Connections in the pool; the hot path holds one per claim transaction. */
  maxConnections?: number;
}

/** Connects to PostgreSQL and applies pending migrations. */
export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<DatabaseHandle> {
  const client = postgres(url, {
    max: options.maxConnections ?? 20,
    onnotice: () => {},
    connection: { application_name: 'callhold' },
  });
  const db = drizzlePostgres(preparingStatements(client), { schema });
  await migratePostgres(db, { migrationsFolder });
  return { db, driver: 'postgres', close: () => client.end({ timeout: 5 }) };
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
