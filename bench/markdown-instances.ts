/**
 * Renders `npm run bench -- --instances N` as its own section of BENCHMARKS.md
 * (`## Two instances` for N = 2): the latency and contention phases of sections 1 and 2
 * with the calls split round-robin over N broker processes on one database, for each
 * broker and for all of them together.
 */
import type { ContentionResult } from './contention.js';
import type { LatencyFigures, LatencyLevelResult } from './latency-load.js';
import { CPU_PER_TOOL_CALL, cpuMs, ms, TARGET, verdict, type RunInfo } from './markdown.js';
import { instancesHeading } from './sections.js';

/** `npm run bench -- --instances N`: latency and contention against N brokers at once. */
export interface InstancesResults extends RunInfo {
  /** The brokers' INSTANCE_IDs, in round-robin order. */
  instances: string[];
  latency: LatencyLevelResult[];
  contention: ContentionResult;
}

const errorsCell = (figures: LatencyFigures) =>
  `${Object.entries(figures.tool_errors).map(([code, count]) => `${code} ${count}`).join(', ') || (figures.timeouts ? '' : '0')}${figures.timeouts ? ` timeouts ${figures.timeouts}` : ''}`;

export function renderInstances(results: InstancesResults): string {
  const { machine, latency, contention, instances } = results;
  const count = instances.length;
  const names = instances.join(' / ');
  const top = latency.at(-1)!;
  const checkOk = top.check_availability.p50 <= TARGET.p50 && top.check_availability.p99 <= TARGET.p99;
  const bookOk = top.book_appointment.p50 <= TARGET.p50 && top.book_appointment.p99 <= TARGET.p99;
  const perRound = contention.callers / count;
  const together = count === 2 ? 'both instances together' : `all ${count} instances together`;
  const lines: string[] = [];
  const push = (...text: string[]) => lines.push(...text);

  push(
    instancesHeading(count),
    '',
    `Measured by \`npm run bench -- --instances ${count}\` on ${results.started_at.slice(0, 16).replace('T', ' ')} UTC in ${results.duration_s} s` +
      `${results.quick ? ' (**--quick**: reduced sizes, not the figures of record)' : ''}, callhold commit ${machine.commit}, on ${machine.cpus} × ${machine.cpu_model}, ` +
      `Node.js ${machine.node}, ${machine.postgres.split(' on ')[0]}. Every figure is a measurement of that run. ` +
      'This run writes only this section (and its part of `bench/results.json`); a single-instance `npm run bench` keeps it, and this run keeps the single-instance sections.',
    '',
    '```sh',
    results.command,
    '```',
    '',
    `${count} broker processes (\`node --import tsx src/server.ts\`, \`INSTANCE_ID=${instances.join('`, `INSTANCE_ID=')}\`, \`LOG_LEVEL=warn\`, \`HOLD_TTL_S=60\`, ` +
      '`HOLD_MAX_S=600`, a pool of 20 database connections each) on one scratch database; the tenant and its runtime token are created once and serve both. ' +
      `The calls are split round-robin: call i connects to instance ${instances.map((name, index) => `${name} when i mod ${count} = ${index}`).join(', ')}, ` +
      `and keeps that connection for the whole call. The load is that of sections 1 and 2; the brokers, PostgreSQL and the load generator share the ${machine.cpus} cores. ` +
      `In the 3 s before the run the machine was ${results.machine_busy_before.machine_busy_pct} % busy (${results.machine_busy_before.other_pct_of_core} % of a core used by others).`,
    '',
    `| what | target | measured, ${together} | |`,
    '|---|---|---|---|',
    `| \`check_availability\` at ${top.calls} live calls | p50 ≤ ${TARGET.p50} ms, p99 ≤ ${TARGET.p99} ms | p50 ${ms(top.check_availability.p50)} ms, p99 ${ms(top.check_availability.p99)} ms | ${verdict(checkOk)} |`,
    `| \`book_appointment\` at ${top.calls} live calls | p50 ≤ ${TARGET.p50} ms, p99 ≤ ${TARGET.p99} ms | p50 ${ms(top.book_appointment.p50)} ms, p99 ${ms(top.book_appointment.p99)} ms | ${verdict(bookOk)} |`,
    `| ${contention.callers} callers on one slot (${perRound} per instance), ${contention.rounds.length} rounds | 1 hold and ${contention.callers - 1} answers with alternatives per round, over all instances | ${contention.rounds.map((round) => `${round.holds} + ${round.refused_with_alternatives}`).join(', ')} | ${verdict(contention.all_rounds_exact)} |`,
    `| latency of those ${contention.latency.count} answers | p99 ≤ ${TARGET.contentionP99} ms | p50 ${ms(contention.latency.p50)} ms, p99 ${ms(contention.latency.p99)} ms, max ${ms(contention.latency.max)} ms | ${verdict(contention.latency.p99 <= TARGET.contentionP99)} |`,
    '',
  );

  push(
    `### Tool latency with the calls split over ${count} instances`,
    '',
    `As in section 1: every call talks every second and runs a tool every 2–4 s. ${ms(latency[0]!.window_s)} s window after a warm-up; each level opens fresh calls. ` +
      `Per instance, then **all** (the instances' samples together; CPU and RSS summed over the ${count} processes).`,
    '',
    '| live calls | instance | calls | tool calls/s | check p50 | check p95 | check p99 | check max | book p50 | book p95 | book p99 | book max | errors | ping p50 / p99 | broker CPU | broker CPU per tool call | broker RSS |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  const latencyRow = (level: LatencyLevelResult, label: string, figures: LatencyFigures, brokerPct: number) =>
    `| ${level.calls} | ${label} | ${figures.calls} | ${figures.tool_calls_per_s} | ${ms(figures.check_availability.p50)} | ${ms(figures.check_availability.p95)} | ${ms(figures.check_availability.p99)} | ${ms(figures.check_availability.max)} | ` +
    `${ms(figures.book_appointment.p50)} | ${ms(figures.book_appointment.p95)} | ${ms(figures.book_appointment.p99)} | ${ms(figures.book_appointment.max)} | ${errorsCell(figures)} | ` +
    `${ms(figures.ping.p50)} / ${ms(figures.ping.p99)} | ${brokerPct} % | ${cpuMs(figures.broker_cpu_ms_per_tool_call)} | ${figures.broker_rss_mib} MiB |`;
  for (const level of latency) {
    for (const instance of level.instances ?? []) push(latencyRow(level, instance.instance, instance, instance.broker_pct_of_core));
    push(latencyRow(level, '**all**', level, level.cpu.broker_pct_of_core));
  }
  push(
    '',
    `The machine over the same windows, and the brokers' database connections (both pools together, ${count} × 20; average of \`pg_stat_activity\` samples every 200 ms):`,
    '',
    '| live calls | brokers CPU | PostgreSQL CPU | generator CPU | others CPU | machine busy | waiting for the advisory lock | waiting for another lock | running a statement | idle in transaction | idle |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...latency.map(
      (level) =>
        `| ${level.calls} | ${level.cpu.broker_pct_of_core} % | ${level.cpu.postgres_pct_of_core} % | ${level.cpu.load_generator_pct_of_core} % | ${level.cpu.other_pct_of_core} % | ${level.cpu.machine_busy_pct} % | ` +
        `${level.pool.advisory_lock_wait} | ${level.pool.other_lock_wait} | ${level.pool.running} | ${level.pool.idle_in_transaction} | ${level.pool.idle} |`,
    ),
    '',
    `Latencies in ms; CPU in % of one core (${machine.cpus * 100} % in all). "ping" is one extra idle call per instance pinging it every 100 ms. ${CPU_PER_TOOL_CALL} ` +
      'In the **all** rows it is the CPU of the brokers together divided by all their tool calls.',
    '',
  );

  push(
    `### Contention: ${contention.callers} callers on one slot, split over ${count} instances`,
    '',
    `As in section 2, ${contention.slot.service} with ${contention.slot.staff} at ${contention.slot.time}, one round per day; caller i is on instance ${instances.map((name, index) => `${name} (i mod ${count} = ${index})`).join(', ')}, ` +
      `${perRound} each. All ${contention.callers} \`check_availability\` frames leave in one synchronous loop, alternating between the instances' sockets, so the brokers race for the slot in PostgreSQL. ` +
      `The invariant is checked over all instances together: exactly one hold per round (on whichever instance) and ${contention.callers - 1} refusals with alternatives.`,
    '',
    `| day | holds (${names}) | refused with alternatives (${names}) | refused without | errors | p50 ms | p99 ms | max ms | p99 ms (${names}) | brokers CPU (${names}) | broker CPU per answer | PostgreSQL CPU | others CPU | connections waiting for the advisory lock (avg) |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...contention.rounds.map((round) => {
      const parts = round.instances ?? [];
      const each = (pick: (part: (typeof parts)[number]) => string | number) => parts.map(pick).join(' / ');
      const connections = Math.round((round.pool.advisory_lock_wait + round.pool.other_lock_wait + round.pool.running + round.pool.idle_in_transaction + round.pool.idle) * 10) / 10;
      return (
        `| ${round.date} | ${round.holds} (${each((part) => part.holds)}) | ${round.refused_with_alternatives} (${each((part) => part.refused_with_alternatives)}) | ${round.refused_without_alternatives} | ` +
        `${Object.entries(round.errors).map(([code, n]) => `${code} ${n}`).join(', ') || 0} | ${ms(round.latency.p50)} | ${ms(round.latency.p99)} | ${ms(round.latency.max)} | ${each((part) => ms(part.latency.p99))} | ` +
        `${round.cpu.broker_pct_of_core} % (${round.cpu.brokers_pct_of_core.map((pct) => `${pct} %`).join(' / ')}) | ${cpuMs(round.broker_cpu_ms_per_answer)} | ${round.cpu.postgres_pct_of_core} % | ${round.cpu.other_pct_of_core} % | ${round.pool.advisory_lock_wait} of ${connections} |`
      );
    }),
    '',
    `Over the ${contention.rounds.length} rounds, per instance:`,
    '',
    '| instance | callers per round | holds won | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|---|',
    ...(contention.instances ?? []).map((part) => `| ${part.instance} | ${part.callers} | ${part.holds} | ${ms(part.latency.p50)} | ${ms(part.latency.p99)} | ${ms(part.latency.max)} |`),
    `| **all** | ${contention.callers} | ${contention.rounds.reduce((sum, round) => sum + round.holds, 0)} | ${ms(contention.latency.p50)} | ${ms(contention.latency.p99)} | ${ms(contention.latency.max)} |`,
    '',
    'CPU over each burst, from the first frame sent to the last answer, in % of one core; "broker CPU per answer" is the CPU of the brokers together over the burst divided by all the answers. ' +
      '`UNAVAILABLE` is a broker\'s own answer when a tool has not finished within 1.8 s (PROTOCOL §4): such a caller got neither a hold nor alternatives, so its round does not count as exact.',
    '',
  );
  return `${lines.join('\n')}\n`;
}
