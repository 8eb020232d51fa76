/** A throwaway database per bench run on the PostgreSQL server behind DATABASE_URL, so runs never see each other's data. */
import postgres from 'postgres';

export interface ScratchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function maintenance(url: string) {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  return postgres(admin.toString(), { max: 1, onnotice: () => {} });
}

export async function createScratchDatabase(serverUrl: string, label: string): Promise<ScratchDatabase> {
  const name = `callhold_bench_${label}`.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63);
  const sql = maintenance(serverUrl);
  try {
    await sql.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await sql.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const admin = maintenance(serverUrl);
      try {
        await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** The server's version string, e.g. "PostgreSQL 15.20 (Debian …)". */
export async function serverVersion(serverUrl: string): Promise<string> {
  const sql = maintenance(serverUrl);
  try {
    const [row] = await sql<{ version: string }[]>`SELECT version()`;
    return row!.version;
  } finally {
    await sql.end();
  }
}
