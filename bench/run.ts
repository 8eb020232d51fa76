/**
 * `npm run bench`: starts its own brokers on real PostgreSQL (a scratch database per
 * run under DATABASE_URL's server, dropped afterwards), measures the five figures of
 * issue 4, and writes BENCHMARKS.md and bench/results.json. Load stays on loopback.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench [-- --quick]
 *
 * With `--instances N` (N ≥ 2) it instead starts N brokers on one scratch database and
 * runs the latency and contention phases with the calls split round-robin over them,
 * writing only BENCHMARKS.md's `## Two instances` (`## N instances`) section.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { demoCatalogBody, HarnessCatalog } from '../src/harness/catalog.js';
import { compareWithNaive } from './baseline.js';
import { startBrokerProcess, type BrokerProcess, type BrokerTarget } from './broker-process.js';
import { log } from './calls.js';
import { idleCheck } from './cpu.js';
import { measureCapacity } from './capacity.js';
import { measureContention } from './contention.js';
import { measureExtensionWrites } from './extension.js';
import { measureFloors } from './floors.js';
import { measureToolLatency, type LatencyLevelResult } from './latency-load.js';
import { measureWorkGrowth } from './work-growth.js';
import { holdingCatalog, measureHoldingCapacity } from './holding-capacity.js';
import { renderMarkdown, type BenchResults, type Machine } from './markdown.js';
import { renderInstances, type InstancesResults } from './markdown-instances.js';
import { createScratchDatabase, serverVersion, type ScratchDatabase } from './scratch-db.js';
import { mergeSections, type SectionOwner } from './sections.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const TENANT = 'bench';

async function loadTenant(broker: BrokerProcess): Promise<string> {
  const put = await broker.admin('PUT', `/v1/admin/tenants/${TENANT}`, demoCatalogBody);
  if (put.status !== 200) throw new Error(`loading the demo catalog failed: ${JSON.stringify(put.body)}`);
  const token = await broker.admin('POST', `/v1/admin/tenants/${TENANT}/runtime-tokens`);
  return token.body.token as string;
}

async function fdLimit(): Promise<string> {
  const limits = await readFile('/proc/self/limits', 'utf8');
  const line = limits.split('\n').find((candidate) => candidate.startsWith('Max open files'));
  const [soft, hard] = line?.replace('Max open files', '').trim().split(/\s+/) ?? [];
  return `${soft} (hard ${hard})`;
}

function gitCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot }).toString().trim() !== '';
    return `${commit}${dirty ? ' (with uncommitted changes in the working tree)' : ''}`;
  } catch {
    return 'unknown';
  }
}

const BENCHMARKS = new URL('../BENCHMARKS.md', import.meta.url);
const RESULTS = new URL('results.json', import.meta.url);

/**
 * bench/results.json: the single-instance run's figures at the top level (as before), and
 * each multi-instance run's under `multi_instance[N]`. Like BENCHMARKS.md, each run
 * replaces only its own part. Either part may be missing.
 */
type ResultsFile = Partial<BenchResults> & { multi_instance?: Record<string, InstancesResults> };

const isSingleRun = (file: ResultsFile): file is BenchResults & ResultsFile => Array.isArray(file.latency) && file.floors !== undefined;

async function readResults(): Promise<ResultsFile> {
  try {
    return JSON.parse(await readFile(RESULTS, 'utf8')) as ResultsFile;
  } catch {
    return {};
  }
}

/**
 * Writes the sections this run rendered (owned by `owners`) into BENCHMARKS.md, keeping the
 * sections other commands own as they stand in the file now (bench/sections.ts).
 */
async function writeBenchmarks(markdown: string, owners: ReadonlySet<SectionOwner>): Promise<void> {
  const current = await readFile(BENCHMARKS, 'utf8').catch(() => '');
  await writeFile(BENCHMARKS, mergeSections(current, markdown, owners));
}

/** Everything bench/results.json has figures for, rendered, and the sections that rendering owns. */
function renderResultsFile(file: ResultsFile): { markdown: string; owners: Set<SectionOwner> } {
  const parts: string[] = [];
  const owners = new Set<SectionOwner>();
  if (isSingleRun(file)) {
    parts.push(renderMarkdown(file));
    owners.add('bench');
  }
  for (const [count, results] of Object.entries(file.multi_instance ?? {})) {
    parts.push(renderInstances(results));
    owners.add(`instances:${Number(count)}`);
  }
  return { markdown: parts.join('\n'), owners };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      instances: { type: 'string', default: '1' },
      'no-write': { type: 'boolean', default: false },
      'render-only': { type: 'boolean', default: false },
    },
  });
  if (values['render-only']) {
    // Rewrites BENCHMARKS.md from the figures in bench/results.json, e.g. after a change to the report's wording.
    const { markdown, owners } = renderResultsFile(await readResults());
    await writeBenchmarks(markdown, owners);
    log(`rewrote ${[...owners].join(', ')} in BENCHMARKS.md from bench/results.json`);
    return 0;
  }
  const instanceCount = Number(values.instances);
  if (!Number.isInteger(instanceCount) || instanceCount < 1 || instanceCount > 26) {
    process.stderr.write(`bench: --instances takes a whole number from 1 to 26 (got "${values.instances}")\n`);
    return 2;
  }
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl || !/^postgres(ql)?:\/\//.test(serverUrl)) {
    process.stderr.write(
      'bench: DATABASE_URL is not set (or not a postgres:// URL).\n' +
        'The benchmark measures callhold on real PostgreSQL and creates a scratch database on that server, e.g.\n' +
        '  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench\n',
    );
    return 2;
  }
  const quick = values.quick;
  const scale = {
    // 2,000 calls: 4,000 caller frames/s and ~660 tool calls/s (issue 14).
    levels: quick ? [20, 50] : [50, 200, 500, 2000],
    warmupMs: quick ? 2000 : 3000,
    windowMs: quick ? 6000 : 12_000,
    contentionRounds: quick ? 2 : 5,
    contentionCallers: 100,
    talkers: quick ? 5 : 20,
    talkMs: quick ? 10_000 : 60_000,
    sessions: quick ? 1000 : 10_000,
  };
  const startedAt = new Date();
  const label = startedAt.toISOString().replace(/[-:TZ.]/g, '').slice(0, 14);
  const scratch: ScratchDatabase[] = [];
  const brokers: BrokerProcess[] = [];
  const cleanup = async () => {
    for (const broker of brokers) await broker.stop('SIGKILL').catch(() => {});
    for (const database of scratch) await database.drop().catch((error) => log(`could not drop ${database.name}: ${error}`));
  };
  process.once('SIGINT', () => {
    log('interrupted: cleaning up');
    void cleanup().then(() => process.exit(130));
  });

  try {
    const catalog = HarnessCatalog.demo();
    const today = startedAt.toISOString().slice(0, 10);
    const from = (days: number) => new Date(Date.parse(`${today}T12:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
    const contentionDates = catalog.openDates(from(20), scale.contentionRounds);
    const baselineDates = catalog.openDates(from(30), 2) as [string, string];
    // Days far apart per phase: refused callers' alternatives reach up to 14 days after the day they asked for.
    const loadDates = catalog.openDates(from(60), 250);
    const talkDates = catalog.openDates(from(420), 4);
    // 12 open days of half-hour starts: a slot of its own for each of the 200 floor rounds.
    const floorDates = catalog.openDates(from(440), 12);
    const statementDates = catalog.openDates(from(470), 10);
    // The floors' warm-up rounds, a slot of their own each (about 16 a day).
    const floorWarmupRounds = quick ? 200 : 1000;
    const floorWarmupDates = catalog.openDates(from(490), Math.ceil(floorWarmupRounds / 14));

    const machine: Machine = {
      cpus: os.availableParallelism(),
      cpu_model: os.cpus()[0]?.model ?? 'unknown',
      memory_gib: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
      kernel: `${os.type()} ${os.release()}`,
      node: process.version,
      postgres: await serverVersion(serverUrl),
      fd_limit: await fdLimit(),
      commit: gitCommit(),
    };
    const before = await idleCheck(3000);
    log(`machine before the run: ${before.machine_busy_pct} % busy (${before.other_pct_of_core} % of a core used by others)`);
    log(`machine: ${machine.cpus} CPUs, ${machine.memory_gib} GiB, node ${machine.node}, ${machine.postgres.split(' on ')[0]}`);

    const newDatabase = async (suffix: string) => {
      const database = await createScratchDatabase(serverUrl, `${label}_${suffix}`);
      scratch.push(database);
      return database;
    };
    const startBroker = async (databaseUrl: string, env: Record<string, string> = {}, nodeArgs?: string[]) => {
      const broker = await startBrokerProcess({ databaseUrl, env: { HOLD_TTL_S: '60', HOLD_MAX_S: '600', ...env }, nodeArgs });
      brokers.push(broker);
      return broker;
    };
    // Phases 1 and 2, against one broker or several at once (the calls round-robin over the targets).
    const measureLatencyLevels = async (targets: BrokerTarget[], databaseUrl: string) => {
      const latency: LatencyLevelResult[] = [];
      for (const calls of scale.levels) {
        const level = await measureToolLatency({ targets, calls, warmupMs: scale.warmupMs, windowMs: scale.windowMs, seed: calls, dates: loadDates, databaseUrl });
        const each = targets.length > 1 ? ` (p99 by instance: ${(level.instances ?? []).map((part) => `${part.instance} ${part.check_availability.p99}/${part.book_appointment.p99}`).join(', ')})` : '';
        log(`latency at ${calls} calls: check p50 ${level.check_availability.p50} / p99 ${level.check_availability.p99} ms, book p50 ${level.book_appointment.p50} / p99 ${level.book_appointment.p99} ms${each}`);
        latency.push(level);
      }
      return latency;
    };
    const measureContentionOn = (targets: BrokerTarget[], databaseUrl: string) =>
      measureContention({ targets, callers: scale.contentionCallers, dates: contentionDates, databaseUrl });
    const flags = [...(quick ? ['--quick'] : []), ...(instanceCount > 1 ? [`--instances ${instanceCount}`] : [])];
    const runInfo = () => ({
      started_at: startedAt.toISOString(),
      duration_s: Math.round((Date.now() - startedAt.getTime()) / 1000),
      quick,
      command: `DATABASE_URL=${redact(serverUrl)} npm run bench${flags.length ? ` -- ${flags.join(' ')}` : ''}`,
      machine,
      machine_busy_before: before,
    });
    const write = async (file: ResultsFile, markdown: string, owner: SectionOwner) => {
      if (!values['no-write']) {
        await writeFile(RESULTS, `${JSON.stringify(file, null, 2)}\n`);
        await writeBenchmarks(markdown, new Set([owner]));
        log('wrote BENCHMARKS.md and bench/results.json');
      }
      process.stdout.write(`${markdown}\n`);
      return 0;
    };

    if (instanceCount > 1) {
      // N brokers (INSTANCE_ID a, b, …) on one database, started one after another so only
      // the first applies the migrations; one tenant and runtime token serve all of them.
      const database = await newDatabase('i');
      const names = Array.from({ length: instanceCount }, (_, index) => String.fromCharCode(97 + index));
      const started: BrokerProcess[] = [];
      for (const name of names) {
        started.push(await startBroker(database.url, { INSTANCE_ID: name }));
        log(`broker ${name} (pid ${started.at(-1)!.pid}, INSTANCE_ID=${name}) on ${database.name}`);
      }
      const token = await loadTenant(started[0]!);
      const targets: BrokerTarget[] = started.map((broker, index) => ({ name: names[index]!, broker, token }));
      const latency = await measureLatencyLevels(targets, database.url);
      const contention = await measureContentionOn(targets, database.url);
      await Promise.all(targets.map((target) => target.broker.stop()));
      const results: InstancesResults = { ...runInfo(), instances: targets.map((target) => target.name), latency, contention };
      const file = await readResults();
      return await write({ ...file, multi_instance: { ...file.multi_instance, [instanceCount]: results } }, renderInstances(results), `instances:${instanceCount}`);
    }

    // Broker F: the floors, with a CPU profile, on its own database. The floors send pings and
    // tool calls back to back on one call, thousands a second, so the per-call frame limit
    // (MAX_FRAMES_PER_S, 50 by default) is lifted for this broker: it would drop them as RATE_LIMITED.
    const databaseF = await newDatabase('f');
    const floors = await measureFloors({
      start: (nodeArgs) => startBroker(databaseF.url, { MAX_FRAMES_PER_S: '1000000' }, nodeArgs),
      databaseUrl: databaseF.url,
      loadTenant,
      dates: floorDates,
      warmupDates: floorWarmupDates,
      warmupRounds: floorWarmupRounds,
      statementDates,
      tenant: TENANT,
      rounds: quick ? 60 : 200,
    });

    // Broker G: how the cost of one refused check grows with staff and booked days, on its own database.
    const databaseG = await newDatabase('g');
    const brokerG = await startBroker(databaseG.url, { MAX_FRAMES_PER_S: '1000000' });
    const growth = await measureWorkGrowth({
      broker: brokerG,
      staffCounts: quick ? [1, 30] : [1, 10, 30],
      bookedDays: quick ? [1, 14] : [1, 7, 14],
      firstDate: catalog.openDates(from(30), 1)[0]!,
      callsPerPoint: quick ? 30 : 100,
    });
    await brokerG.stop();

    // Broker A: latency, contention, baseline, extension writes (HOLD_TTL_S 60, the default).
    const databaseA = await newDatabase('a');
    const brokerA = await startBroker(databaseA.url);
    const token = await loadTenant(brokerA);
    log(`broker A (pid ${brokerA.pid}) on ${databaseA.name}`);
    const targetsA = [{ name: 'A', broker: brokerA, token }];
    const latency = await measureLatencyLevels(targetsA, databaseA.url);
    const contention = await measureContentionOn(targetsA, databaseA.url);
    const baseline = await compareWithNaive({ broker: brokerA, token, tenant: TENANT, dates: baselineDates, seed: 4 });

    // Broker B: capacity, a fresh process on a fresh database. Meanwhile broker A serves the
    // extension-write minute: it is timer-bound and needs one real minute at the real TTL.
    const databaseB = await newDatabase('b');
    const brokerB = await startBroker(databaseB.url);
    const tokenB = await loadTenant(brokerB);
    const [extension, capacity] = await Promise.all([
      measureExtensionWrites({ broker: brokerA, token, databaseUrl: databaseA.url, talkers: scale.talkers, talkMs: scale.talkMs, dates: talkDates }),
      measureCapacity({ broker: brokerB, token: tokenB, sessions: scale.sessions, batch: 200, checkpoints: 4, settleMs: 3000, fdLimit: machine.fd_limit }),
    ]);
    log(`extension: ${extension.extensions_per_talker_minute} extension writes per talker-minute`);
    await brokerA.stop();

    // Broker H: memory of sessions that each hold a slot, a fresh process on a fresh database.
    // The settle is longer than the capacity phase's: tool calls leave garbage that V8 collects only once the load stops.
    const databaseH = await newDatabase('h');
    const brokerH = await startBroker(databaseH.url, { HOLD_TTL_S: '1800', HOLD_MAX_S: '3600' });
    const put = await brokerH.admin('PUT', '/v1/admin/tenants/holding', holdingCatalog);
    if (put.status !== 200) throw new Error(`loading the holding catalog failed: ${JSON.stringify(put.body)}`);
    const tokenH = (await brokerH.admin('POST', '/v1/admin/tenants/holding/runtime-tokens')).body.token as string;
    const holding = await measureHoldingCapacity({ broker: brokerH, token: tokenH, sessions: scale.sessions, firstDate: from(600), settleMs: 10_000, checkpoints: 4 });

    const results: BenchResults = { ...runInfo(), floors, growth, latency, contention, capacity, holding, extension, baseline };
    const { multi_instance } = await readResults();
    return await write({ ...results, ...(multi_instance ? { multi_instance } : {}) }, renderMarkdown(results), 'bench');
  } finally {
    await cleanup();
  }
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
