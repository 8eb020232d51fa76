/**
 * Point 2: 100 callers on one slot. All calls are open and started first; then each sends
 * check_availability for the same service, staff, day and time in the same tick. Exactly
 * one may get the hold; every other one must be answered "not available" with
 * alternatives in that same answer. Repeated over several rounds on different days.
 */
import { performance } from 'node:perf_hooks';
import type { RuntimeClient, ToolResultFrame } from '../src/harness/runtime-client.js';
import { summarize, type LatencySummary } from '../src/harness/stats.js';
import type { BrokerProcess } from './broker-process.js';
import { hangUp, log, openCalls } from './calls.js';
import { cpuShare, cpuSnapshot, type CpuShare } from './cpu.js';
import { samplePool, type PoolUse } from './pool-sampler.js';

export interface ContentionRound {
  date: string;
  holds: number;
  refused_with_alternatives: number;
  refused_without_alternatives: number;
  other: number;
  /** Answers that were neither a hold nor a refusal, by error code (UNAVAILABLE: the broker's 1.8 s tool timeout). */
  errors: Record<string, number>;
  latency: LatencySummary;
  /** CPU from the first frame sent to the last answer received. */
  cpu: CpuShare;
  pool: PoolUse;
}

export interface ContentionResult {
  callers: number;
  slot: { service: string; staff: string; time: string };
  rounds: ContentionRound[];
  latency: LatencySummary;
  /** Every round had exactly one hold and callers − 1 answers with alternatives. */
  all_rounds_exact: boolean;
}

export async function measureContention(options: { broker: BrokerProcess; token: string; callers: number; dates: string[]; databaseUrl: string }): Promise<ContentionResult> {
  const { broker, token, callers } = options;
  const slot = { service: 'Dauerwelle', staff: 'fabian', time: '10:00' };
  const rounds: ContentionRound[] = [];
  const all: number[] = [];
  for (const [round, date] of options.dates.entries()) {
    const clients = await openCalls(broker.url, token, `bench-race-${round}-${Date.now().toString(36)}`, callers, 50);
    const started: Array<Promise<{ answer: ToolResultFrame; ms: number }>> = [];
    const pool = samplePool(options.databaseUrl, 50);
    const cpuFrom = await cpuSnapshot(broker.pid);
    // One synchronous loop: all 100 frames leave in the same tick.
    for (const client of clients as RuntimeClient[]) {
      const sentAt = performance.now();
      started.push(client.tool('check_availability', { service: slot.service, staff: slot.staff, date, time: slot.time, customer_name: 'Race Caller' }, 'race', 10_000).then((answer) => ({ answer, ms: performance.now() - sentAt })));
    }
    const answers = await Promise.all(started);
    const cpu = cpuShare(cpuFrom, await cpuSnapshot(broker.pid));
    const poolUse = await pool.stop();
    const latencies = answers.map(({ ms }) => ms);
    all.push(...latencies);
    const holds = answers.filter(({ answer }) => answer.ok && answer.result.available === true).length;
    const refused = answers.filter(({ answer }) => answer.ok && answer.result.available === false);
    const withAlternatives = refused.filter(({ answer }) => Array.isArray(answer.result.alternatives) && (answer.result.alternatives as unknown[]).length > 0).length;
    const errors: Record<string, number> = {};
    for (const { answer } of answers) if (!answer.ok) errors[answer.error?.code ?? 'unknown'] = (errors[answer.error?.code ?? 'unknown'] ?? 0) + 1;
    rounds.push({
      date,
      errors,
      holds,
      refused_with_alternatives: withAlternatives,
      refused_without_alternatives: refused.length - withAlternatives,
      other: answers.length - holds - refused.length,
      latency: summarize(latencies),
      cpu,
      pool: poolUse,
    });
    log(`contention round ${round + 1}: ${holds} hold(s), ${withAlternatives} refused with alternatives, p99 ${summarize(latencies).p99} ms`);
    await hangUp(clients);
  }
  return {
    callers,
    slot,
    rounds,
    latency: summarize(all),
    all_rounds_exact: rounds.every((round) => round.holds === 1 && round.refused_with_alternatives === callers - 1),
  };
}
