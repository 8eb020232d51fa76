/**
 * Phase 0: the floors of this machine and of one unloaded call, so the loaded figures
 * can be read against them. One broker process, started with `--cpu-prof`, serves a
 * single call that runs tools one after another; we also time a WebSocket ping through
 * the broker and `select 1` / a one-row autocommit INSERT straight on PostgreSQL. The
 * CPU profile says where the broker's time per tool call goes, by package.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { HarnessCatalog } from '../src/harness/catalog.js';
import { RuntimeClient } from '../src/harness/runtime-client.js';
import { summarize, type LatencySummary } from '../src/harness/stats.js';
import type { BrokerProcess } from './broker-process.js';
import { log } from './calls.js';

export interface FloorsResult {
  ws_ping_through_broker: LatencySummary;
  postgres_select_1: LatencySummary;
  postgres_insert_autocommit: LatencySummary;
  /** `callhold_place_hold` called straight from postgres.js (prepared): the statement a check that holds runs. */
  postgres_hold_statement: LatencySummary;
  /** `callhold_convert_hold` straight from postgres.js: the statement `book_appointment` runs to book a hold. */
  postgres_book_statement: LatencySummary;
  unloaded_check_availability_held: LatencySummary;
  unloaded_book_appointment: LatencySummary;
  unloaded_get_current_context: LatencySummary;
  /** Rounds of the sequence the broker ran before the measured ones (absent in results written before they were counted: 30 `get_current_context` calls). */
  warmup_rounds?: number;
  /** Broker CPU (user + system, from /proc) per tool call of the unloaded sequence, ms. */
  broker_cpu_ms_per_tool_call: number;
  /**
   * Where the broker's on-CPU time went while it served the unloaded sequence, % by package: only samples taken between
   * the first and the last tool call of the sequence (start-up, module loading and shutdown are outside it).
   */
  profile: Array<{ where: string; pct: number }>;
  /** Milliseconds of profile samples in that window, on the broker's main thread. */
  profile_window_ms: number;
}

async function timed(count: number, work: (index: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    await work(index);
    samples.push(performance.now() - started);
  }
  return samples;
}

export async function measureFloors(options: {
  start: (nodeArgs: string[]) => Promise<BrokerProcess>;
  databaseUrl: string;
  loadTenant: (broker: BrokerProcess) => Promise<string>;
  dates: string[];
  /** Days for the warm-up rounds, apart from `dates` and `statementDates`. */
  warmupDates: string[];
  /** Rounds of the whole sequence run before it is measured (each on a slot of its own). */
  warmupRounds: number;
  /** Days for the statement floors, apart from `dates` so those stay free for the tool calls. */
  statementDates: string[];
  tenant: string;
  rounds: number;
}): Promise<FloorsResult> {
  const profileDir = await mkdtemp(join(tmpdir(), 'callhold-bench-prof-'));
  const sql = postgres(options.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`CREATE TABLE IF NOT EXISTS bench_floor (x int)`;
    const select1 = await timed(300, () => sql`SELECT 1`);
    const insert = await timed(300, () => sql`INSERT INTO bench_floor VALUES (1)`);
    await sql`DROP TABLE bench_floor`;

    const broker = await options.start(['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
    const token = await options.loadTenant(broker);
    const statements = await statementFloors(sql, options.tenant, options.statementDates);
    const client = await RuntimeClient.connect(broker.url, `bench-floor-${Date.now().toString(36)}`, token);
    await client.start();
    let ids = 0;
    const catalog = HarnessCatalog.demo();
    const herrenschnitt = catalog.service('herrenschnitt')!;
    const slotsOf = (dates: string[]) =>
      dates.flatMap((date) => catalog.startTimes(date, herrenschnitt).filter((time) => time.endsWith(':00') || time.endsWith(':30')).map((time) => ({ date, time })));
    /** One round: the context, a check of a slot of its own (so it holds) and its booking; the milliseconds of each. */
    const round = async (slot: { date: string; time: string }) => {
      const [contextMs] = await timed(1, () => client.tool('get_current_context', {}, `f${++ids}`));
      let held = false;
      const [checkMs] = await timed(1, async () => {
        const answer = await client.tool('check_availability', { service: 'Herrenschnitt', staff: 'fabian', date: slot.date, time: slot.time }, `f${++ids}`);
        held = answer.result.available === true;
      });
      // A refused check would be another figure: it answers with alternatives.
      if (!held) throw new Error(`floors: ${slot.date} ${slot.time} was not free`);
      const [bookMs] = await timed(1, () => client.tool('book_appointment', { customer_name: 'Floor Caller' }, `f${++ids}`));
      return { contextMs: contextMs!, checkMs: checkMs!, bookMs: bookMs! };
    };
    // Warm-up: the measured code is what a broker that has served calls for a while runs. V8
    // compiles a function only after many calls, and its compiler threads' CPU counts in the
    // broker's; measured with 30 warm-up calls, the CPU per tool call was mostly that.
    const warmupSlots = slotsOf(options.warmupDates);
    if (warmupSlots.length < options.warmupRounds) throw new Error(`floors: ${options.warmupRounds} warm-up rounds need as many free slots, the dates give ${warmupSlots.length}`);
    for (let index = 0; index < options.warmupRounds; index++) await round(warmupSlots[index]!);
    const ping = await timed(300, async (index) => {
      client.send({ type: 'ping', id: index });
      await client.next((frame) => frame.type === 'pong' && frame.id === index);
    });
    const slots = slotsOf(options.dates);
    const windowFromUs = monotonicMicros();
    const cpuBefore = await broker.cpuSeconds();
    const context: number[] = [];
    const checks: number[] = [];
    const books: number[] = [];
    if (slots.length < options.rounds) throw new Error(`floors: ${options.rounds} rounds need as many free slots, the dates give ${slots.length}`);
    for (let index = 0; index < options.rounds; index++) {
      const { contextMs, checkMs, bookMs } = await round(slots[index]!);
      context.push(contextMs);
      checks.push(checkMs);
      books.push(bookMs);
    }
    const cpuAfter = await broker.cpuSeconds();
    const windowToUs = monotonicMicros();
    const toolCalls = context.length + checks.length + books.length;
    await client.end();
    client.close();
    await broker.stop();
    log(`floors: ping p50 ${summarize(ping).p50} ms, select 1 p50 ${summarize(select1).p50} ms, unloaded check p50 ${summarize(checks).p50} ms`);
    return {
      ws_ping_through_broker: summarize(ping),
      postgres_select_1: summarize(select1),
      postgres_insert_autocommit: summarize(insert),
      postgres_hold_statement: summarize(statements.hold),
      postgres_book_statement: summarize(statements.book),
      unloaded_check_availability_held: summarize(checks),
      unloaded_book_appointment: summarize(books),
      unloaded_get_current_context: summarize(context),
      warmup_rounds: options.warmupRounds,
      broker_cpu_ms_per_tool_call: Math.round(((cpuAfter - cpuBefore) * 1000 * 100) / toolCalls) / 100,
      ...(await summarizeProfile(profileDir, windowFromUs, windowToUs)),
    };
  } finally {
    await sql.end();
    await rm(profileDir, { recursive: true, force: true });
  }
}

const repoUrl = pathToFileURL(fileURLToPath(new URL('..', import.meta.url))).href;
/** Frames of module loading and compiling: a sample with one of these on its stack is loading, whatever its leaf is (readFileUtf8, say). */
const LOADING = /^node:internal\/(modules|deps\/cjs-module-lexer|source_map)|\/node_modules\/tsx\//;

/** The monotonic clock V8 stamps profile samples with (CLOCK_MONOTONIC on Linux, in µs), read in this process. */
const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>;
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self time of the main thread's profile by package, counting only samples between `fromUs`
 * and `toUs` (the measured sequence: both processes read the same monotonic clock). Idle
 * is left out; so is module loading, recognised by any loader frame on the stack rather
 * than by the leaf (a loader's readFileSync shows as "readFileUtf8" with no URL, which is
 * how start-up used to reach this table).
 */
async function summarizeProfile(directory: string, fromUs: number, toUs: number): Promise<{ profile: Array<{ where: string; pct: number }>; profile_window_ms: number }> {
  const files = (await readdir(directory)).filter((name) => name.endsWith('.cpuprofile')).sort();
  if (files.length === 0) return { profile: [], profile_window_ms: 0 };
  // The main thread's profile is the first (thread 0); the others are loader workers.
  const profile = JSON.parse(await readFile(join(directory, files[0]!), 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const loading = new Map<number, boolean>();
  const isLoading = (id: number): boolean => {
    let known = loading.get(id);
    if (known === undefined) {
      const frame = frames.get(id)!;
      const up = parent.get(id);
      known = LOADING.test(frame.url) || (up !== undefined && isLoading(up));
      loading.set(id, known);
    }
    return known;
  };
  const byNode = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((node, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (at >= fromUs && at <= toUs) byNode.set(node, (byNode.get(node) ?? 0) + delta);
  });
  const byWhere = new Map<string, number>();
  for (const [node, micros] of byNode) {
    const frame = frames.get(node)!;
    const where = isLoading(node) ? '(module loading)' : placeOf(frame.url, frame.functionName);
    if (where === '(idle)' || where === '(program)') continue;
    byWhere.set(where, (byWhere.get(where) ?? 0) + micros);
  }
  const total = [...byWhere.values()].reduce((sum, micros) => sum + micros, 0);
  return {
    profile: [...byWhere.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([where, micros]) => ({ where, pct: Math.round((micros / total) * 1000) / 10 })),
    profile_window_ms: Math.round(total / 1000),
  };
}

/**
 * The claim statements alone, as the broker runs them (prepared, one round trip each), on
 * the tenant the broker just loaded: `callhold_place_hold` on a free slot, and
 * `callhold_convert_hold` on a hold placed just before (not timed). Like a live call's,
 * they are made for a session and fenced by the epoch it is owned at (issue 10), so the
 * floor does the same work in the database as the broker's statement. The statement text
 * is the store's (src/store/booking-store.ts `placeHold`, `convertHold`); keep them alike.
 */
async function statementFloors(sql: postgres.Sql, tenant: string, dates: string[]): Promise<{ hold: number[]; book: number[] }> {
  const [member] = await sql<{ id: string }[]>`SELECT staff_id AS id FROM staff_services WHERE tenant_id = ${tenant} AND service_id = 'herrenschnitt' ORDER BY staff_id LIMIT 1`;
  const staffId = member!.id;
  const [session] = await sql<{ id: string; epoch: string }[]>`
    INSERT INTO sessions (tenant_id, call_id, machine_version, owner_instance, owner_epoch)
    VALUES (${tenant}, ${`bench-floor-statements-${Date.now().toString(36)}`}, 1, 'bench-floor', 1) RETURNING id, owner_epoch AS epoch`;
  const { id: sessionId, epoch } = session!;
  const slots = dates.flatMap((date) => Array.from({ length: 16 }, (_, index) => Date.parse(`${date}T08:00:00Z`) + index * 30 * 60_000));
  const place = (startMs: number, index: number) => {
    const start = new Date(startMs).toISOString();
    const end = new Date(startMs + 30 * 60_000).toISOString();
    return sql<{ id: string }[]>`
      SELECT * FROM callhold_place_hold(${tenant}, ${staffId}, 'herrenschnitt', ${`${tenant}:${staffId}:${start.slice(0, 10)}`},
        ${`[${start},${end})`}::tstzrange, ${sql.json([[start, end]])}::jsonb, ${null}::uuid, ${sessionId}::uuid, ${'bench-floor-statements'},
        ${60}, ${600}, ${epoch}::bigint, ${`bench-floor-hold-${index}`})`;
  };
  const convert = (holdId: string, index: number) =>
    sql`SELECT *, created_at < now() AS replayed FROM callhold_convert_hold(${tenant}, ${holdId}::uuid, ${'Floor Statement'}, ${null}, ${'bench-floor-statements'}, ${sessionId}::uuid, ${`bench-floor-statement-${index}`}, ${epoch}::bigint)`;
  const hold: number[] = [];
  const book: number[] = [];
  for (const [index, startMs] of slots.entries()) {
    const started = performance.now();
    const [placed] = await place(startMs, index);
    const placedAfter = performance.now();
    if (!placed) throw new Error(`statement floor: ${new Date(startMs).toISOString()} was not free`);
    // Every other hold is booked, so both statements get as many samples.
    if (index % 2 === 0) {
      hold.push(placedAfter - started);
      continue;
    }
    const converting = performance.now();
    await convert(placed.id, index);
    book.push(performance.now() - converting);
  }
  return { hold, book };
}

function placeOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === 'writeBuffer' || functionName === 'writev' || functionName === 'writeUtf8String') return 'socket writes (syscalls)';
    return `(${functionName || 'native'})`.replace(/^\(\((.*)\)\)$/, '($1)');
  }
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) return url.replace(/^node:internal\/(streams|stream_base_commons|net|buffer).*/, 'node streams and sockets');
  if (url.startsWith(repoUrl)) return `callhold ${url.slice(repoUrl.length).split('/').slice(0, 2).join('/')}`;
  return url;
}
