/**
 * Point 1: tool latency with N live calls. Every call sends caller activity (and a
 * partial transcript) every second, and every 2–4 s a tool call: a check_availability on
 * a random slot (which places a hold when free) and, 2–4 s after a hold, the
 * book_appointment that converts it. Latency is measured at the client, from sending the
 * tool.call to receiving its tool.result, over a fixed window after a warm-up.
 *
 * The calls can be spread over several broker processes on one database (round-robin:
 * call i goes to target i mod n, and stays there); the figures are then reported for all
 * calls together and per broker.
 */
import { performance } from 'node:perf_hooks';
import { HarnessCatalog } from '../src/harness/catalog.js';
import { Prng } from '../src/harness/prng.js';
import type { RuntimeClient } from '../src/harness/runtime-client.js';
import { LatencyRecorder, summarize, type LatencySummary } from '../src/harness/stats.js';
import type { BrokerTarget } from './broker-process.js';
import { hangUp, log, openCallsAcross, sleep } from './calls.js';
import { brokerCpuMsPer, cpuShare, cpuSnapshot, type CpuShare } from './cpu.js';
import { samplePool, type PoolUse } from './pool-sampler.js';

/** What the calls on one broker (or on all of them) saw over the window. */
export interface LatencyFigures {
  calls: number;
  tool_calls_per_s: number;
  caller_frames_per_s: number;
  check_availability: LatencySummary;
  check_availability_held: LatencySummary;
  check_availability_refused: LatencySummary;
  book_appointment: LatencySummary;
  booked: number;
  not_booked: number;
  tool_errors: Record<string, number>;
  timeouts: number;
  /** Ping → pong through the broker from one extra idle call per broker, every 100 ms during the window: the broker's event-loop responsiveness. */
  ping: LatencySummary;
  /** Broker CPU (user + system, from /proc) over the window divided by the tool calls answered in it, ms; the caller frames' CPU is included. */
  broker_cpu_ms_per_tool_call: number;
  /** Resident set size of the broker (all brokers together in the combined figures). */
  broker_rss_mib: number;
}

export interface LatencyInstanceFigures extends LatencyFigures {
  instance: string;
  /** This broker's CPU over the window, % of one core. */
  broker_pct_of_core: number;
}

export interface LatencyLevelResult extends LatencyFigures {
  window_s: number;
  cpu: CpuShare;
  /** The brokers' database connections (a pool of 20 each) over the window, on average. */
  pool: PoolUse;
  /** The same figures per broker, in target order (one entry when one broker served the calls). */
  instances?: LatencyInstanceFigures[];
}

export interface LatencyOptions {
  targets: readonly BrokerTarget[];
  /** Live calls in all, spread round-robin over the targets. */
  calls: number;
  warmupMs: number;
  windowMs: number;
  seed: number;
  /** Open dates far from the other phases' days, to spread bookings over. */
  dates: string[];
  /** The brokers' database, to sample pg_stat_activity. */
  databaseUrl: string;
}

/** The counts and samples of one broker's calls inside the window. */
class WindowTally {
  readonly recorder = new LatencyRecorder();
  readonly errors: Record<string, number> = {};
  readonly pings: number[] = [];
  calls = 0;
  timeouts = 0;
  toolCalls = 0;
  frames = 0;
  booked = 0;
  notBooked = 0;
}

/** The figures of several tallies together (one tally: that broker's figures). */
function figures(tallies: readonly WindowTally[], windowS: number, cpuMs: (toolCalls: number) => number, rssKib: number): LatencyFigures {
  const sum = (pick: (tally: WindowTally) => number) => tallies.reduce((total, tally) => total + pick(tally), 0);
  const values = (name: string) => tallies.flatMap((tally) => tally.recorder.values(name));
  const errors: Record<string, number> = {};
  for (const tally of tallies) for (const [code, count] of Object.entries(tally.errors)) errors[code] = (errors[code] ?? 0) + count;
  const toolCalls = sum((tally) => tally.toolCalls);
  return {
    calls: sum((tally) => tally.calls),
    tool_calls_per_s: Math.round((toolCalls / windowS) * 10) / 10,
    caller_frames_per_s: Math.round(sum((tally) => tally.frames) / windowS),
    check_availability: summarize(values('check_availability')),
    check_availability_held: summarize(values('check_held')),
    check_availability_refused: summarize(values('check_refused')),
    book_appointment: summarize(values('book_appointment')),
    booked: sum((tally) => tally.booked),
    not_booked: sum((tally) => tally.notBooked),
    tool_errors: errors,
    timeouts: sum((tally) => tally.timeouts),
    ping: summarize(tallies.flatMap((tally) => tally.pings)),
    broker_cpu_ms_per_tool_call: cpuMs(toolCalls),
    broker_rss_mib: Math.round(rssKib / 1024),
  };
}

export async function measureToolLatency(options: LatencyOptions): Promise<LatencyLevelResult> {
  const { targets, calls } = options;
  const catalog = HarnessCatalog.demo();
  const root = new Prng(options.seed);
  const where = targets.length > 1 ? ` over ${targets.length} brokers (${targets.map((target) => target.name).join(', ')})` : '';
  log(`latency: opening ${calls} calls${where}`);
  const stamp = Date.now().toString(36);
  const clients = await openCallsAcross(targets.map(({ broker, token }) => ({ url: broker.url, token })), `bench-load-${calls}-${stamp}`, calls, 50);
  const tallies = targets.map(() => new WindowTally());
  const tallyOf = (index: number) => tallies[index % targets.length]!;
  clients.forEach((_, index) => tallyOf(index).calls++);

  let stopping = false;
  const startedAt = performance.now();
  const windowStart = startedAt + options.warmupMs;
  const windowEnd = windowStart + options.windowMs;
  const inWindow = (at: number) => at >= windowStart && at < windowEnd;

  const drive = async (client: RuntimeClient, index: number) => {
    const prng = root.fork(`load:${index}`);
    const tally = tallyOf(index);
    let ids = 0;
    const talk = async () => {
      await sleep(prng.between(0, 1000));
      while (!stopping) {
        client.send({ type: 'caller.activity', speaking: true });
        client.send({ type: 'transcript', role: 'caller', text: 'ja genau und dann noch', final: false });
        if (inWindow(performance.now())) tally.frames += 2;
        await sleep(1000);
      }
    };
    const tool = async (name: string, args: Record<string, unknown>) => {
      const sentAt = performance.now();
      try {
        const answer = await client.tool(name, args, `b${++ids}`, 10_000);
        const ms = performance.now() - sentAt;
        if (inWindow(sentAt)) {
          tally.toolCalls++;
          tally.recorder.record(name, ms);
          if (name === 'check_availability') tally.recorder.record(answer.result.available === true ? 'check_held' : 'check_refused', ms);
          if (!answer.ok && answer.error) tally.errors[answer.error.code] = (tally.errors[answer.error.code] ?? 0) + 1;
        }
        return answer;
      } catch {
        if (inWindow(sentAt)) tally.timeouts++;
        return null;
      }
    };
    const work = async () => {
      while (!stopping) {
        await sleep(prng.between(2000, 4000));
        if (stopping) return;
        const date = prng.pick(options.dates);
        const service = prng.pick(catalog.services);
        const time = prng.pick(catalog.startTimes(date, service));
        const check = await tool('check_availability', { service: service.name, date, time, customer_name: 'Bench Caller' });
        if (!check?.ok || check.result.available !== true) continue;
        await sleep(prng.between(2000, 4000));
        if (stopping) return;
        const book = await tool('book_appointment', { customer_name: 'Bench Caller' });
        if (book?.ok && book.result.booked === true) tally.booked++;
        else tally.notBooked++;
      }
    };
    await Promise.all([talk(), work()]);
  };

  const running = clients.map((client, index) => drive(client, index));
  // One idle prober call per broker: each broker's event loop is its own.
  const probers = await Promise.all(targets.map(({ broker, token }, index) => openCallsAcross([{ url: broker.url, token }], `bench-ping-${calls}-${stamp}-${index}`, 1, 1)));
  const probing = probers.map(async ([prober], index) => {
    await sleep(windowStart - performance.now());
    for (let id = 0; performance.now() < windowEnd; id++) {
      const sentAt = performance.now();
      prober!.send({ type: 'ping', id });
      await prober!.next((frame) => frame.type === 'pong' && frame.id === id, { timeoutMs: 10_000 }).catch(() => null);
      tallies[index]!.pings.push(performance.now() - sentAt);
      await sleep(100);
    }
  });
  const pids = targets.map((target) => target.broker.pid);
  await sleep(windowStart - performance.now());
  const cpuFrom = await cpuSnapshot(pids);
  const pool = samplePool(options.databaseUrl);
  log(`latency: ${calls} calls${where}, measuring for ${options.windowMs / 1000} s`);
  await sleep(windowEnd - performance.now());
  const cpuTo = await cpuSnapshot(pids);
  const poolUse = await pool.stop();
  const rss = await Promise.all(targets.map((target) => target.broker.rssKib()));
  stopping = true;
  await Promise.all([...running, ...probing]);
  await hangUp([...clients, ...probers.flat()]);

  const windowS = options.windowMs / 1000;
  const cpu = cpuShare(cpuFrom, cpuTo);
  return {
    ...figures(tallies, windowS, (toolCalls) => brokerCpuMsPer(cpuFrom, cpuTo, toolCalls), rss.reduce((sum, kib) => sum + kib, 0)),
    window_s: windowS,
    cpu,
    pool: poolUse,
    instances: targets.map((target, index) => ({
      instance: target.name,
      ...figures([tallies[index]!], windowS, (toolCalls) => brokerCpuMsPer(cpuFrom, cpuTo, toolCalls, index), rss[index]!),
      broker_pct_of_core: cpu.brokers_pct_of_core[index]!,
    })),
  };
}
