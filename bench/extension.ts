/**
 * Point 4: database writes caused by hold extension for callers who keep talking, at the
 * real 60 s TTL for one real minute. Each talker holds a slot, then sends
 * `caller.activity` (speaking) and a partial transcript every second for 60 s.
 *
 * Counted three ways: the `holds.extensions` counter the broker increments with every
 * extension UPDATE; the `hold.updated` `extended` frames the talkers receive; and, with
 * row triggers installed on the bench's scratch database for this phase only, every row
 * UPDATE of `holds` and `sessions` (the session snapshot is rewritten when its hold
 * changes). Event-log rows (one per frame, written in batched multi-row INSERTs) are
 * reported beside them: they come from the caller's frames, not from the extension.
 */
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { localDateTime } from '../src/harness/catalog.js';
import type { RuntimeClient } from '../src/harness/runtime-client.js';
import type { BrokerProcess } from './broker-process.js';
import { hangUp, log, openCalls, sleep } from './calls.js';

export interface ExtensionResult {
  talkers: number;
  hold_ttl_s: number;
  talking_s: number;
  extensions_per_talker_minute: number;
  extended_frames_per_talker_minute: number;
  hold_row_updates_per_talker_minute: number;
  session_row_updates_per_talker_minute: number;
  writes_per_talker_minute: number;
  event_log_rows_per_talker_minute: number;
  holds_kept: number;
  extensions_by_talker: number[];
}

async function scalar(query: PromiseLike<readonly Record<string, unknown>[]>): Promise<number> {
  const rows = await query;
  return Number(rows[0]?.value ?? 0);
}

export async function measureExtensionWrites(options: { broker: BrokerProcess; token: string; databaseUrl: string; talkers: number; talkMs: number; dates: string[] }): Promise<ExtensionResult> {
  const { broker, token, talkers } = options;
  const sql = postgres(options.databaseUrl, { max: 1, onnotice: () => {} });
  const prefix = `bench-talk-${Date.now().toString(36)}`;
  try {
    const clients = await openCalls(broker.url, token, prefix, talkers, 50);
    const holdIds: string[] = [];
    for (const [index, client] of clients.entries()) {
      const date = options.dates[index % options.dates.length]!;
      const minutes = 9 * 60 + Math.floor(index / options.dates.length) * 30;
      const time = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
      let answer = await client.tool('check_availability', { service: 'Herrenschnitt', staff: 'fabian', date, time }, 'hold');
      const alternative = (answer.result.alternatives as Array<{ start: string; staff: string }> | undefined)?.[0];
      if (answer.result.available !== true && alternative) {
        answer = await client.tool('check_availability', { service: 'Herrenschnitt', staff: alternative.staff, ...localDateTime(alternative.start) }, 'hold-2');
      }
      if (answer.result.available !== true) throw new Error(`talker ${index} got no hold for ${date} ${time}: ${JSON.stringify(answer.result).slice(0, 300)}`);
      holdIds.push((answer.result.hold as { id: string }).id);
    }

    await sql.unsafe(`
      CREATE UNLOGGED TABLE bench_writes (table_name text NOT NULL, row_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
      CREATE FUNCTION bench_count_write() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO bench_writes (table_name, row_id) VALUES (TG_TABLE_NAME, NEW.id); RETURN NULL; END $$;
      CREATE TRIGGER bench_count_holds AFTER UPDATE ON holds FOR EACH ROW EXECUTE FUNCTION bench_count_write();
      CREATE TRIGGER bench_count_sessions AFTER UPDATE ON sessions FOR EACH ROW EXECUTE FUNCTION bench_count_write();`);
    const sessionIds = (await sql<{ id: string }[]>`SELECT id FROM sessions WHERE call_id LIKE ${`${prefix}-%`}`).map((row) => row.id);
    const base = await scalar(sql`SELECT coalesce(sum(extensions), 0)::int AS value FROM holds WHERE id = ANY(${holdIds}::uuid[])`);
    const eventsBefore = await scalar(sql`SELECT count(*)::int AS value FROM session_events WHERE session_id = ANY(${sessionIds}::uuid[])`);

    log(`extension: ${talkers} talkers holding, talking for ${options.talkMs / 1000} s at the real TTL`);
    const marks = clients.map((client) => client.frames.length);
    const until = performance.now() + options.talkMs;
    await Promise.all(
      clients.map(async (client: RuntimeClient, index) => {
        await sleep((index / talkers) * 1000);
        while (performance.now() < until) {
          client.send({ type: 'caller.activity', speaking: true });
          client.send({ type: 'transcript', role: 'caller', text: 'und dann wollte ich noch sagen', final: false });
          await sleep(Math.min(1000, until - performance.now()));
        }
      }),
    );
    const talkedS = options.talkMs / 1000;
    await sleep(300);
    const extendedFrames = clients.map(
      (client, index) => client.frames.slice(marks[index]).filter((frame) => frame.type === 'hold.updated' && (frame.hold as { status: string }).status === 'extended').length,
    );
    const rows = await sql<{ id: string; extensions: number; status: string }[]>`SELECT id, extensions, status FROM holds WHERE id = ANY(${holdIds}::uuid[])`;
    const writes = await sql<{ table_name: string; n: number }[]>`
      SELECT table_name, count(*)::int AS n FROM bench_writes
      WHERE (table_name = 'holds' AND row_id = ANY(${holdIds}::uuid[])) OR (table_name = 'sessions' AND row_id = ANY(${sessionIds}::uuid[]))
      GROUP BY table_name`;
    const eventsAfter = await scalar(sql`SELECT count(*)::int AS value FROM session_events WHERE session_id = ANY(${sessionIds}::uuid[])`);
    await sql.unsafe(`
      DROP TRIGGER bench_count_holds ON holds; DROP TRIGGER bench_count_sessions ON sessions;
      DROP FUNCTION bench_count_write(); DROP TABLE bench_writes;`);
    await hangUp(clients);

    const perTalkerMinute = (count: number) => Math.round((count / talkers / (talkedS / 60)) * 100) / 100;
    const extensions = rows.reduce((sum, row) => sum + row.extensions, 0) - base;
    const holdUpdates = writes.find((row) => row.table_name === 'holds')?.n ?? 0;
    const sessionUpdates = writes.find((row) => row.table_name === 'sessions')?.n ?? 0;
    return {
      talkers,
      hold_ttl_s: 60,
      talking_s: talkedS,
      extensions_per_talker_minute: perTalkerMinute(extensions),
      extended_frames_per_talker_minute: perTalkerMinute(extendedFrames.reduce((sum, count) => sum + count, 0)),
      hold_row_updates_per_talker_minute: perTalkerMinute(holdUpdates),
      session_row_updates_per_talker_minute: perTalkerMinute(sessionUpdates),
      writes_per_talker_minute: perTalkerMinute(holdUpdates + sessionUpdates),
      event_log_rows_per_talker_minute: perTalkerMinute(eventsAfter - eventsBefore),
      holds_kept: rows.filter((row) => row.status === 'held').length,
      extensions_by_talker: rows.map((row) => row.extensions),
    };
  } finally {
    await sql.end();
  }
}
