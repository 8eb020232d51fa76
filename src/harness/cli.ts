/**
 * `npm run simulate -- [options]`: simulated callers against a running broker.
 * Exit codes: 0 every invariant held and the callers did their part; 1 an invariant broke,
 * or callers could not do their part (a script failed, an unexpected tool error, nobody
 * booked); 2 nothing was run: bad options, no broker to drive, or a salon that cannot
 * host the scenario (the message names what it lacks).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { HarnessCatalog } from './catalog.js';
import { UnhostableScenarioError } from './learn.js';
import { formatReport, progressLine } from './report.js';
import { builtInScenarios, loadScenario } from './scenario.js';
import { runSimulation } from './simulate.js';
import { isHttpRuntime, prepareHttpRuntime, type HttpRuntime } from './http-runtime.js';
import { DEFAULT_OPENAI_PORT, prepareOpenAiRuntime, type OpenAiRuntime } from './openai-runtime.js';
import { resolveTarget, TargetError } from './target.js';

const USAGE = `usage: npm run simulate -- [options]

  --scenario NAME|PATH  ${Object.keys(builtInScenarios).join(', ')}, or a scenario .json file (default: happy)
  --callers N           number of simulated callers (default: the scenario's)
  --concurrency N       at most N calls live at once (default: all)
  --seed N              same seed, same callers, slots, pauses and choices (default: 1)
  --json                print one JSON object instead of the table
  --url URL             the broker (default: the local demo broker, else http://127.0.0.1:8080)
  --token TOKEN         a runtime token of the tenant
  --tenant ID           the tenant (with --admin-token: a runtime token is created; an unknown
                        tenant is loaded with the catalog first)
  --admin-token TOKEN   lets the harness read the catalog and the appointments back (double bookings)
  --date YYYY-MM-DD     the day to book (default: the first day with free time a week or more ahead)
  --catalog PATH        the tenant's catalog JSON, overriding what the harness learns from the broker
                        (also what a new --tenant is loaded with; default there: the demo salon)
  --hold-ttl S          the broker's HOLD_TTL_S (default: learned from one probe hold)
  --hold-max S          the broker's HOLD_MAX_S (default: 600)
  --time-scale F        multiply the scenario's pauses and speech (default: hold TTL / 60 s)
  --naive               play a system without holds (check, release at once, book later)
  --runtime NAME        callhold (default: our call WebSocket) or openai: the harness plays OpenAI
                        Realtime over SIP (signed webhooks, a stand-in Realtime service on
                        --openai-port, function calls on the broker's sideband); the broker must run
                        with OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 OPENAI_REALTIME_URL=ws://127.0.0.1:PORT/v1/realtime
                        vapi, retell or elevenlabs: the harness plays that runtime's HTTP tool
                        webhooks (PROTOCOL §6.2) with temporary settings (needs --admin-token)
  --openai-port N       where the stand-in listens (default: ${DEFAULT_OPENAI_PORT})
  --data-dir DIR        where \`npm start\` wrote demo-credentials.json (default: $DATA_DIR or ./data)

With no options it drives the demo salon of a local \`npm start\`. The harness learns the salon
over the contract: the catalog read back with --admin-token, else list_services,
get_current_context and check_availability's alternatives with the runtime token alone.

Exit codes: 0 all invariants held and every caller did its part; 1 an invariant broke or
callers could not do their part; 2 nothing was run (bad options, no broker, or a salon
that cannot host the scenario).`;

function positiveNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new TargetError(`--${name}: expected a positive number, got "${value}"`);
  return number;
}

const OPTIONS = {
  scenario: { type: 'string', default: 'happy' },
  callers: { type: 'string' },
  concurrency: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean', default: false },
  url: { type: 'string' },
  token: { type: 'string' },
  tenant: { type: 'string' },
  'admin-token': { type: 'string' },
  date: { type: 'string' },
  catalog: { type: 'string' },
  'hold-ttl': { type: 'string' },
  'hold-max': { type: 'string' },
  'time-scale': { type: 'string' },
  naive: { type: 'boolean', default: false },
  runtime: { type: 'string', default: 'callhold' },
  'openai-port': { type: 'string' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/**
 * `--token X` as `--token=X`: runtime tokens are base64url and may begin with "-", which
 * parseArgs would otherwise read as a missing value.
 */
function joinValues(args: string[]): string[] {
  const joined: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : null;
    const option = name ? OPTIONS[name as keyof typeof OPTIONS] : undefined;
    if (option?.type === 'string' && index + 1 < args.length) joined.push(`${arg}=${args[++index]}`);
    else joined.push(arg);
  }
  return joined;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: joinValues(process.argv.slice(2)),
    options: OPTIONS,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const scenario = await loadScenario(values.scenario);
  const catalog = values.catalog ? JSON.parse(await readFile(values.catalog, 'utf8')) : undefined;
  if (catalog !== undefined) HarnessCatalog.from(catalog);
  if (values.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(values.date)) throw new TargetError(`--date: expected YYYY-MM-DD, got "${values.date}"`);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed)) throw new TargetError(`--seed: expected an integer, got "${values.seed}"`);
  const callers = positiveNumber('callers', values.callers);
  const concurrency = positiveNumber('concurrency', values.concurrency);
  const holdTtlS = positiveNumber('hold-ttl', values['hold-ttl']);
  const holdMaxS = positiveNumber('hold-max', values['hold-max']);

  const runtime = values.runtime;
  if (runtime !== 'callhold' && runtime !== 'openai' && !isHttpRuntime(runtime)) throw new TargetError(`--runtime: expected callhold, openai, vapi, retell or elevenlabs, got "${runtime}"`);
  // Without --tenant or --token the demo broker's credentials bring an admin token; otherwise it must be given.
  if (isHttpRuntime(runtime) && (values.tenant || values.token) && !values['admin-token']) {
    throw new TargetError(`--runtime ${runtime} needs --admin-token (with --tenant): it gives the tenant temporary ${runtime} settings`);
  }
  const openAiPort = positiveNumber('openai-port', values['openai-port']) ?? DEFAULT_OPENAI_PORT;

  const target = await resolveTarget({ url: values.url, token: values.token, tenant: values.tenant, adminToken: values['admin-token'], dataDir: values['data-dir'], catalog });
  const total = callers ?? scenario.callers;
  const tty = process.stderr.isTTY === true;
  if (!values.json) process.stderr.write(`simulating ${total} caller(s) of "${scenario.name}" against ${target.source}\n`);

  let openAi: OpenAiRuntime | null = null;
  if (values.runtime === 'openai') {
    openAi = await prepareOpenAiRuntime({ url: target.url, tenant: target.tenant, adminToken: target.adminToken, port: Math.floor(openAiPort), locale: scenario.locale, runId: Date.now().toString(36) });
    if (!values.json) process.stderr.write(`calls go through OpenAI Realtime over SIP, played by the harness on 127.0.0.1:${Math.floor(openAiPort)}\n`);
  }
  let http: HttpRuntime | null = null;
  if (isHttpRuntime(runtime)) {
    http = await prepareHttpRuntime({ runtime, url: target.url, tenant: target.tenant, adminToken: target.adminToken, locale: scenario.locale });
    if (!values.json) process.stderr.write(`calls go through ${runtime}'s HTTP tool webhooks, played by the harness\n`);
  }
  const dial = openAi ?? http;
  // Interrupted, the run still takes its temporary settings away: left behind, they would refuse the next run.
  const interrupted = () => {
    void Promise.allSettled([openAi?.close(), http?.close()]).then(() => process.exit(130));
  };
  if (dial) process.once('SIGINT', interrupted);
  let report: Awaited<ReturnType<typeof runSimulation>>;
  let violations = 0;
  try {
    report = await runSimulation({
      url: target.url,
      token: target.token,
      tenant: target.tenant,
      adminToken: target.adminToken,
      scenario,
      callers: callers === undefined ? undefined : Math.floor(callers),
      concurrency: concurrency === undefined ? undefined : Math.floor(concurrency),
      seed,
      date: values.date,
      holdTtlMs: holdTtlS === undefined ? undefined : holdTtlS * 1000,
      holdMaxMs: holdMaxS === undefined ? undefined : holdMaxS * 1000,
      timeScale: positiveNumber('time-scale', values['time-scale']),
      naive: values.naive,
      catalog,
      dial: dial ? (callId, phone, reconnecting) => dial.dial(callId, phone, reconnecting) : undefined,
      onProgress: tty ? (tally) => process.stderr.write(`\r\x1b[2K${progressLine(scenario.name, total, tally)}`) : undefined,
    });
  } finally {
    violations = openAi?.violations() ?? 0;
    await openAi?.close();
    await http?.close();
    process.off('SIGINT', interrupted);
  }
  if (tty) process.stderr.write('\r\x1b[2K');
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  if (violations > 0) process.stderr.write(`simulate: the broker sent ${violations} response.create while a response was active (conversation_already_has_active_response)\n`);
  return report.invariants.ok && violations === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UnhostableScenarioError) {
      process.stderr.write(`simulate: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    const expected = error instanceof TargetError || (error instanceof Error && /^(scenario|catalog|unknown scenario|the salon|could not learn)/.test(error.message)) || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`simulate: ${error instanceof Error ? (expected ? error.message : (error.stack ?? error.message)) : String(error)}\n`);
    if (expected) process.stderr.write(`\n${USAGE}\n`);
    process.exitCode = 2;
  },
);
