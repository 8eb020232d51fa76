/**
 * Point 2: 100 callers on one slot. All calls are open and started first; then each sends
 * check_availability for the same service, staff, day and time in the same tick. Exactly
 * one may get the hold; every other one must be answered "not available" with
 * alternatives in that same answer. Repeated over several rounds on different days.
 *
 * The callers can be spread over several broker processes on one database (round-robin:
 * caller i on target i mod n); the invariant is then checked over all of them together
 * (one hold in all, whichever broker gave it), and the answers are also reported per broker.
 */
import { performance } from 'node:perf_hooks';
import type { ToolResultFrame } from '../src/harness/runtime-client.js';
import { summarize, type LatencySummary } from '../src/harness/stats.js';
import type { BrokerTarget } from './broker-process.js';
import { hangUp, log, openCallsAcross } from './calls.js';
import { brokerCpuMsPer, cpuShare, cpuSnapshot, type CpuShare } from './cpu.js';
import { samplePool, type PoolUse } from './pool-sampler.js';

/** How a set of answers (a round's, or one broker's part of it) came out. */
export interface ContentionOutcome {
  holds: number;
  refused_with_alternatives: number;
  refused_without_alternatives: number;
  other: number;
  /** Answers that were neither a hold nor a refusal, by error code (UNAVAILABLE: the broker's 1.8 s tool timeout). */
  errors: Record<string, number>;
  latency: LatencySummary;
}

export interface ContentionRound extends ContentionOutcome {
  date: string;
  /** CPU from the first frame sent to the last answer received. */
  cpu: CpuShare;
  /** Broker CPU over the burst (all brokers) divided by the answers, ms. */
  broker_cpu_ms_per_answer?: number;
  pool: PoolUse;
  /** The same per broker, in target order (one entry with one broker). */
  instances?: Array<ContentionOutcome & { instance: string; broker_cpu_ms_per_answer: number }>;
}

export interface ContentionResult {
  callers: number;
  slot: { service: string; staff: string; time: string };
  rounds: ContentionRound[];
  latency: LatencySummary;
  /** Every round had exactly one hold and callers − 1 answers with alternatives, over all brokers together. */
  all_rounds_exact: boolean;
  /** Over all rounds, per broker: its callers' latency and holds. */
  instances?: Array<{ instance: string; callers: number; holds: number; latency: LatencySummary }>;
}

type Answered = { answer: ToolResultFrame; ms: number; target: number };

function outcome(answers: readonly Answered[]): ContentionOutcome {
  const holds = answers.filter(({ answer }) => answer.ok && answer.result.available === true).length;
  const refused = answers.filter(({ answer }) => answer.ok && answer.result.available === false);
  const withAlternatives = refused.filter(({ answer }) => Array.isArray(answer.result.alternatives) && (answer.result.alternatives as unknown[]).length > 0).length;
  const errors: Record<string, number> = {};
  for (const { answer } of answers) if (!answer.ok) errors[answer.error?.code ?? 'unknown'] = (errors[answer.error?.code ?? 'unknown'] ?? 0) + 1;
  return {
    holds,
    refused_with_alternatives: withAlternatives,
    refused_without_alternatives: refused.length - withAlternatives,
    other: answers.length - holds - refused.length,
    errors,
    latency: summarize(answers.map(({ ms }) => ms)),
  };
}

export async function measureContention(options: { targets: readonly BrokerTarget[]; callers: number; dates: string[]; databaseUrl: string }): Promise<ContentionResult> {
  const { targets, callers } = options;
  const slot = { service: 'Dauerwelle', staff: 'fabian', time: '10:00' };
  const pids = targets.map((target) => target.broker.pid);
  const callTargets = targets.map(({ broker, token }) => ({ url: broker.url, token }));
  const rounds: ContentionRound[] = [];
  const all: Answered[] = [];
  for (const [round, date] of options.dates.entries()) {
    const clients = await openCallsAcross(callTargets, `bench-race-${round}-${Date.now().toString(36)}`, callers, 50);
    const started: Array<Promise<Answered>> = [];
    const pool = samplePool(options.databaseUrl, 50);
    const cpuFrom = await cpuSnapshot(pids);
    // One synchronous loop: all 100 frames leave in the same tick (alternating brokers when there are several).
    for (const [index, client] of clients.entries()) {
      const sentAt = performance.now();
      started.push(
        client
          .tool('check_availability', { service: slot.service, staff: slot.staff, date, time: slot.time, customer_name: 'Race Caller' }, 'race', 10_000)
          .then((answer) => ({ answer, ms: performance.now() - sentAt, target: index % targets.length })),
      );
    }
    const answers = await Promise.all(started);
    const cpuTo = await cpuSnapshot(pids);
    const poolUse = await pool.stop();
    all.push(...answers);
    const mine = (index: number) => answers.filter((answered) => answered.target === index);
    const result: ContentionRound = {
      date,
      ...outcome(answers),
      cpu: cpuShare(cpuFrom, cpuTo),
      broker_cpu_ms_per_answer: brokerCpuMsPer(cpuFrom, cpuTo, answers.length),
      pool: poolUse,
      instances: targets.map((target, index) => ({ instance: target.name, ...outcome(mine(index)), broker_cpu_ms_per_answer: brokerCpuMsPer(cpuFrom, cpuTo, mine(index).length, index) })),
    };
    rounds.push(result);
    const byBroker = targets.length > 1 ? ` (holds by broker: ${result.instances!.map((part) => `${part.instance} ${part.holds}`).join(', ')})` : '';
    log(`contention round ${round + 1}: ${result.holds} hold(s)${byBroker}, ${result.refused_with_alternatives} refused with alternatives, p99 ${result.latency.p99} ms`);
    await hangUp(clients);
  }
  return {
    callers,
    slot,
    rounds,
    latency: summarize(all.map(({ ms }) => ms)),
    all_rounds_exact: rounds.every((round) => round.holds === 1 && round.refused_with_alternatives === callers - 1),
    instances: targets.map((target, index) => {
      const answers = all.filter((answered) => answered.target === index);
      return { instance: target.name, callers: answers.length / Math.max(1, rounds.length), holds: outcome(answers).holds, latency: summarize(answers.map(({ ms }) => ms)) };
    }),
  };
}
