/**
 * What the broker's database connections are doing, sampled from pg_stat_activity while a
 * phase runs: waiting for the per-staff advisory lock, waiting for another lock, running,
 * idle in a transaction (waiting for the broker), or idle. The average of each over the
 * samples says whether a slow answer waited for the database, for a lock, or for the broker.
 */
import postgres from 'postgres';

export interface PoolUse {
  samples: number;
  /** Average connections of the broker (application_name callhold) in each state. */
  advisory_lock_wait: number;
  other_lock_wait: number;
  running: number;
  idle_in_transaction: number;
  idle: number;
}

export function samplePool(databaseUrl: string, intervalMs = 200): { stop(): Promise<PoolUse> } {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connection: { application_name: 'callhold-bench-sampler' } });
  const totals = { advisory_lock_wait: 0, other_lock_wait: 0, running: 0, idle_in_transaction: 0, idle: 0 };
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const rows = await sql<{ state: string | null; wait_event_type: string | null; wait_event: string | null; n: number }[]>`
        SELECT state, wait_event_type, wait_event, count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'callhold' GROUP BY 1, 2, 3`;
      for (const row of rows) {
        if (row.wait_event_type === 'Lock' && row.wait_event === 'advisory') totals.advisory_lock_wait += row.n;
        else if (row.wait_event_type === 'Lock') totals.other_lock_wait += row.n;
        else if (row.state === 'active') totals.running += row.n;
        else if (row.state?.startsWith('idle in transaction')) totals.idle_in_transaction += row.n;
        else totals.idle += row.n;
      }
      samples++;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await sql.end();
      const average = (value: number) => (samples ? Math.round((value / samples) * 10) / 10 : 0);
      return {
        samples,
        advisory_lock_wait: average(totals.advisory_lock_wait),
        other_lock_wait: average(totals.other_lock_wait),
        running: average(totals.running),
        idle_in_transaction: average(totals.idle_in_transaction),
        idle: average(totals.idle),
      };
    },
  };
}
