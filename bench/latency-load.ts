/**
 * Point 1: tool latency with N live calls. Every call sends caller activity (and a
 * partial transcript) every second, and every 2–4 s a tool call: a check_availability on
 * a random slot (which places a hold when free) and, 2–4 s after a hold, the
 * book_appointment that converts it. Latency is measured at the client, from sending the
 * tool.call to receiving its tool.result, over a fixed window after a warm-up.
 */
import { performance } from 'node:perf_hooks';
import { HarnessCatalog } from '../src/harness/catalog.js';
import { Prng } from '../src/harness/prng.js';
import type { RuntimeClient } from '../src/harness/runtime-client.js';
import { LatencyRecorder, summarize, type LatencySummary } from '../src/harness/stats.js';
import type { BrokerProcess } from './broker-process.js';
import { hangUp, log, openCalls, sleep } from './calls.js';
import { cpuShare, cpuSnapshot, type CpuShare } from './cpu.js';
import { samplePool, type PoolUse } from './pool-sampler.js';

export interface LatencyLevelResult {
  calls: number;
  window_s: number;
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
  /** Ping → pong through the broker from one extra idle call, every 100 ms during the window: the broker's event-loop responsiveness. */
  ping: LatencySummary;
  cpu: CpuShare;
  /** The broker's database connections (pool of 20) over the window, on average. */
  pool: PoolUse;
  broker_rss_mib: number;
}

export interface LatencyOptions {
  broker: BrokerProcess;
  token: string;
  calls: number;
  warmupMs: number;
  windowMs: number;
  seed: number;
  /** Open dates far from the other phases' days, to spread bookings over. */
  dates: string[];
  /** The broker's database, to sample pg_stat_activity. */
  databaseUrl: string;
}

export async function measureToolLatency(options: LatencyOptions): Promise<LatencyLevelResult> {
  const { broker, token, calls } = options;
  const catalog = HarnessCatalog.demo();
  const root = new Prng(options.seed);
  log(`latency: opening ${calls} calls`);
  const clients = await openCalls(broker.url, token, `bench-load-${calls}-${Date.now().toString(36)}`, calls, 50);

  const recorder = new LatencyRecorder();
  const errors: Record<string, number> = {};
  let timeouts = 0;
  let toolCalls = 0;
  let frames = 0;
  let booked = 0;
  let notBooked = 0;
  let stopping = false;
  const startedAt = performance.now();
  const windowStart = startedAt + options.warmupMs;
  const windowEnd = windowStart + options.windowMs;
  const inWindow = (at: number) => at >= windowStart && at < windowEnd;

  const drive = async (client: RuntimeClient, index: number) => {
    const prng = root.fork(`load:${index}`);
    let ids = 0;
    const talk = async () => {
      await sleep(prng.between(0, 1000));
      while (!stopping) {
        client.send({ type: 'caller.activity', speaking: true });
        client.send({ type: 'transcript', role: 'caller', text: 'ja genau und dann noch', final: false });
        if (inWindow(performance.now())) frames += 2;
        await sleep(1000);
      }
    };
    const tool = async (name: string, args: Record<string, unknown>) => {
      const sentAt = performance.now();
      try {
        const answer = await client.tool(name, args, `b${++ids}`, 10_000);
        const ms = performance.now() - sentAt;
        if (inWindow(sentAt)) {
          toolCalls++;
          recorder.record(name, ms);
          if (name === 'check_availability') recorder.record(answer.result.available === true ? 'check_held' : 'check_refused', ms);
          if (!answer.ok && answer.error) errors[answer.error.code] = (errors[answer.error.code] ?? 0) + 1;
        }
        return answer;
      } catch {
        if (inWindow(sentAt)) timeouts++;
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
        if (book?.ok && book.result.booked === true) booked++;
        else notBooked++;
      }
    };
    await Promise.all([talk(), work()]);
  };

  const running = clients.map((client, index) => drive(client, index));
  const [prober] = await openCalls(broker.url, token, `bench-ping-${calls}-${Date.now().toString(36)}`, 1, 1);
  const pings: number[] = [];
  const probing = (async () => {
    await sleep(windowStart - performance.now());
    for (let id = 0; performance.now() < windowEnd; id++) {
      const sentAt = performance.now();
      prober!.send({ type: 'ping', id });
      await prober!.next((frame) => frame.type === 'pong' && frame.id === id, { timeoutMs: 10_000 }).catch(() => null);
      pings.push(performance.now() - sentAt);
      await sleep(100);
    }
  })();
  await sleep(windowStart - performance.now());
  const cpuFrom = await cpuSnapshot(broker.pid);
  const pool = samplePool(options.databaseUrl);
  log(`latency: ${calls} calls, measuring for ${options.windowMs / 1000} s`);
  await sleep(windowEnd - performance.now());
  const cpuTo = await cpuSnapshot(broker.pid);
  const poolUse = await pool.stop();
  const rss = await broker.rssKib();
  stopping = true;
  await Promise.all([...running, probing]);
  await hangUp([...clients, prober!]);

  const windowS = options.windowMs / 1000;
  return {
    calls,
    window_s: windowS,
    tool_calls_per_s: Math.round((toolCalls / windowS) * 10) / 10,
    caller_frames_per_s: Math.round(frames / windowS),
    check_availability: summarize(recorder.values('check_availability')),
    check_availability_held: summarize(recorder.values('check_held')),
    check_availability_refused: summarize(recorder.values('check_refused')),
    book_appointment: summarize(recorder.values('book_appointment')),
    booked,
    not_booked: notBooked,
    tool_errors: errors,
    timeouts,
    ping: summarize(pings),
    cpu: cpuShare(cpuFrom, cpuTo),
    pool: poolUse,
    broker_rss_mib: Math.round(rss / 1024),
  };
}
