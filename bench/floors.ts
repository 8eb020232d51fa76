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
  unloaded_check_availability_held: LatencySummary;
  unloaded_book_appointment: LatencySummary;
  unloaded_get_current_context: LatencySummary;
  /** Broker CPU (user + system, from /proc) per tool call of the unloaded sequence, ms. */
  broker_cpu_ms_per_tool_call: number;
  /** Where the broker's on-CPU time went while it served the unloaded sequence, % by package (module loading excluded). */
  profile: Array<{ where: string; pct: number }>;
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
    const client = await RuntimeClient.connect(broker.url, `bench-floor-${Date.now().toString(36)}`, token);
    await client.start();
    let ids = 0;
    // Warm-up, so the figures are of compiled code.
    for (let index = 0; index < 30; index++) await client.tool('get_current_context', {}, `w${++ids}`);
    const ping = await timed(300, async (index) => {
      client.send({ type: 'ping', id: index });
      await client.next((frame) => frame.type === 'pong' && frame.id === index);
    });
    const catalog = HarnessCatalog.demo();
    const herrenschnitt = catalog.service('herrenschnitt')!;
    const slots = options.dates.flatMap((date) => catalog.startTimes(date, herrenschnitt).filter((time) => time.endsWith(':00') || time.endsWith(':30')).map((time) => ({ date, time })));
    const cpuBefore = await broker.cpuSeconds();
    const context: number[] = [];
    const checks: number[] = [];
    const books: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const slot = slots[round % slots.length]!;
      context.push(...(await timed(1, () => client.tool('get_current_context', {}, `f${++ids}`))));
      let held = false;
      checks.push(
        ...(await timed(1, async () => {
          const answer = await client.tool('check_availability', { service: 'Herrenschnitt', staff: 'fabian', date: slot.date, time: slot.time }, `f${++ids}`);
          held = answer.result.available === true;
        })),
      );
      if (held) books.push(...(await timed(1, () => client.tool('book_appointment', { customer_name: 'Floor Caller' }, `f${++ids}`))));
    }
    const cpuAfter = await broker.cpuSeconds();
    const toolCalls = context.length + checks.length + books.length;
    await client.end();
    client.close();
    await broker.stop();
    log(`floors: ping p50 ${summarize(ping).p50} ms, select 1 p50 ${summarize(select1).p50} ms, unloaded check p50 ${summarize(checks).p50} ms`);
    return {
      ws_ping_through_broker: summarize(ping),
      postgres_select_1: summarize(select1),
      postgres_insert_autocommit: summarize(insert),
      unloaded_check_availability_held: summarize(checks),
      unloaded_book_appointment: summarize(books),
      unloaded_get_current_context: summarize(context),
      broker_cpu_ms_per_tool_call: Math.round(((cpuAfter - cpuBefore) * 1000 * 100) / toolCalls) / 100,
      profile: await summarizeProfile(profileDir),
    };
  } finally {
    await sql.end();
    await rm(profileDir, { recursive: true, force: true });
  }
}

const repoUrl = pathToFileURL(fileURLToPath(new URL('..', import.meta.url))).href;
const LOADING = /^node:internal\/(modules|deps\/cjs-module-lexer|source_map)|^tsx$|^\(program\)$/;

/** Self time of the main thread's profile by package, idle and module loading left out. */
async function summarizeProfile(directory: string): Promise<Array<{ where: string; pct: number }>> {
  const files = (await readdir(directory)).filter((name) => name.endsWith('.cpuprofile')).sort();
  if (files.length === 0) return [];
  // The main thread's profile is the first (thread 0); the others are loader workers.
  const profile = JSON.parse(await readFile(join(directory, files[0]!), 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
    samples: number[];
    timeDeltas: number[];
  };
  const byNode = new Map<number, number>();
  profile.samples.forEach((node, index) => byNode.set(node, (byNode.get(node) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byWhere = new Map<string, number>();
  for (const [node, micros] of byNode) {
    const frame = frames.get(node)!;
    const where = placeOf(frame.url, frame.functionName);
    if (where === '(idle)' || LOADING.test(where)) continue;
    byWhere.set(where, (byWhere.get(where) ?? 0) + micros);
  }
  const total = [...byWhere.values()].reduce((sum, micros) => sum + micros, 0);
  return [...byWhere.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([where, micros]) => ({ where, pct: Math.round((micros / total) * 1000) / 10 }));
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
