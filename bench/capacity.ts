/**
 * Point 3: how many live sessions one broker process holds, and what each costs in
 * memory. A fresh broker process on its own scratch database; after a warm-up (a few
 * hundred calls opened and ended, so code is compiled and pools are filled) its RSS is
 * the baseline; then 10,000 calls are opened over loopback WebSockets (connect and
 * session.start, waiting for session.ready) in batches, and RSS is read from
 * /proc/<pid>/status at checkpoints after a short settle. The broker is killed afterwards.
 */
import { performance } from 'node:perf_hooks';
import type { RuntimeClient } from '../src/harness/runtime-client.js';
import type { BrokerProcess } from './broker-process.js';
import { hangUp, log, openCalls, sleep } from './calls.js';
import { cpuShare, cpuSnapshot, type CpuShare } from './cpu.js';

export interface CapacityCheckpoint {
  sessions: number;
  live_sessions_reported: number | null;
  rss_mib: number;
  heap_used_mib: number | null;
}

export interface CapacityResult {
  target_sessions: number;
  opened: number;
  open_rate_per_s: number;
  baseline_rss_mib: number;
  baseline_heap_used_mib: number | null;
  checkpoints: CapacityCheckpoint[];
  /** (RSS at the last checkpoint − baseline) / sessions, in KiB. */
  rss_per_session_kib: number;
  /** Slope between the first and the last checkpoint, in KiB per session: excludes one-off growth. */
  rss_slope_kib: number;
  heap_per_session_kib: number | null;
  fd_limit: string;
  /** Broker CPU per session opened (user + system), ms. */
  broker_cpu_ms_per_session: number;
  /** CPU while the sessions were being opened. */
  cpu: CpuShare;
}

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

export async function measureCapacity(options: { broker: BrokerProcess; token: string; sessions: number; batch: number; checkpoints: number; settleMs: number; fdLimit: string }): Promise<CapacityResult> {
  const { broker, token } = options;
  const stamp = Date.now().toString(36);
  log('capacity: warming up');
  const warm = await openCalls(broker.url, token, `bench-warm-${stamp}`, 400, 100);
  await hangUp(warm);
  await sleep(options.settleMs);
  const heapMib = async () => {
    const bytes = await broker.metric('nodejs_heap_size_used_bytes');
    return bytes === null ? null : Math.round((bytes / 1048576) * 10) / 10;
  };
  const baselineKib = await broker.rssKib();
  const baselineHeap = await heapMib();
  log(`capacity: baseline RSS ${mib(baselineKib)} MiB; opening ${options.sessions} sessions`);

  const clients: RuntimeClient[] = [];
  const checkpoints: CapacityCheckpoint[] = [];
  const step = Math.ceil(options.sessions / options.checkpoints);
  const started = performance.now();
  let openMs = 0;
  let brokerCpuS = 0;
  let cpu: CpuShare | null = null;
  while (clients.length < options.sessions) {
    const count = Math.min(step, options.sessions - clients.length);
    const before = performance.now();
    const cpuFrom = await cpuSnapshot(broker.pid);
    clients.push(...(await openCalls(broker.url, token, `bench-cap-${stamp}-${clients.length}`, count, options.batch)));
    const cpuTo = await cpuSnapshot(broker.pid);
    openMs += performance.now() - before;
    brokerCpuS += cpuTo.broker - cpuFrom.broker;
    cpu ??= cpuShare(cpuFrom, cpuTo);
    await sleep(options.settleMs);
    const health = await (await fetch(`${broker.url}/healthz`)).json() as { live_sessions?: number };
    const checkpoint = { sessions: clients.length, live_sessions_reported: health.live_sessions ?? null, rss_mib: mib(await broker.rssKib()), heap_used_mib: await heapMib() };
    checkpoints.push(checkpoint);
    log(`capacity: ${checkpoint.sessions} sessions, broker reports ${checkpoint.live_sessions_reported} live, RSS ${checkpoint.rss_mib} MiB, heap ${checkpoint.heap_used_mib} MiB`);
  }
  log(`capacity: opened ${clients.length} in ${Math.round(performance.now() - started) / 1000} s`);
  // The broker is this phase's alone: stop it hard, so 10,000 hang-ups don't cost minutes of writes to a database about to be dropped.
  await broker.stop('SIGKILL');
  for (const client of clients) client.drop();

  const last = checkpoints.at(-1)!;
  const first = checkpoints[0]!;
  const lastKib = last.rss_mib * 1024;
  return {
    target_sessions: options.sessions,
    opened: clients.length,
    open_rate_per_s: Math.round(clients.length / (openMs / 1000)),
    baseline_rss_mib: mib(baselineKib),
    baseline_heap_used_mib: baselineHeap,
    checkpoints,
    rss_per_session_kib: Math.round(((lastKib - baselineKib) / clients.length) * 10) / 10,
    rss_slope_kib: Math.round((((last.rss_mib - first.rss_mib) * 1024) / (last.sessions - first.sessions)) * 10) / 10,
    heap_per_session_kib: last.heap_used_mib !== null && baselineHeap !== null ? Math.round((((last.heap_used_mib - baselineHeap) * 1024) / clients.length) * 10) / 10 : null,
    fd_limit: options.fdLimit,
    broker_cpu_ms_per_session: Math.round((brokerCpuS * 1000 * 100) / clients.length) / 100,
    cpu: cpu!,
  };
}
