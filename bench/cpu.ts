/**
 * Where the CPU went during a phase: the broker process, the load generator (this
 * process), PostgreSQL (every process named `postgres`), and the whole machine. On a
 * 2-core box all three compete, so this is what says whether a figure is limited by the
 * broker, the database or the generator itself.
 */
import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism as cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { readCpuSeconds } from './broker-process.js';

const CLOCK_TICKS_PER_S = 100;

export interface CpuSnapshot {
  at: number;
  machineBusy: number;
  machineTotal: number;
  /** CPU seconds of all the brokers together, and of each. */
  broker: number;
  brokers: number[];
  bench: number;
  postgres: number;
}

export interface CpuShare {
  /** Busy share of the whole machine, 0–100 %. */
  machine_busy_pct: number;
  /** Per process group, in % of one core (200 % = both cores of a 2-core machine). */
  broker_pct_of_core: number;
  /** The same per broker process, in the order their pids were given (one entry with one broker). */
  brokers_pct_of_core: number[];
  postgres_pct_of_core: number;
  load_generator_pct_of_core: number;
  /** Everything else on the machine (other users' processes, the kernel), % of one core. */
  other_pct_of_core: number;
}

async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3]! + (values[4] ?? 0);
  const total = values.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

async function postgresSeconds(): Promise<number> {
  let ticks = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (comm !== 'postgres') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended while we looked
    }
  }
  return ticks / CLOCK_TICKS_PER_S;
}

/** CPU counters now; `brokerPids` is the broker process, or every broker process when several serve the load. */
export async function cpuSnapshot(brokerPids: number | readonly number[]): Promise<CpuSnapshot> {
  const pids = typeof brokerPids === 'number' ? [brokerPids] : brokerPids;
  const [machine, brokers, postgres] = await Promise.all([machineTicks(), Promise.all(pids.map(readCpuSeconds)), postgresSeconds()]);
  const own = process.cpuUsage();
  const broker = brokers.reduce((sum, seconds) => sum + seconds, 0);
  return { at: performance.now(), machineBusy: machine.busy, machineTotal: machine.total, broker, brokers, bench: (own.user + own.system) / 1e6, postgres };
}

/** Broker CPU (user + system) between two snapshots per unit of work, in ms (e.g. per tool call): all brokers together, or broker `index`. */
export function brokerCpuMsPer(from: CpuSnapshot, to: CpuSnapshot, units: number, index?: number): number {
  const seconds = index === undefined ? to.broker - from.broker : to.brokers[index]! - from.brokers[index]!;
  return units > 0 ? Math.round((seconds * 1000 * 100) / units) / 100 : Number.NaN;
}

export function cpuShare(from: CpuSnapshot, to: CpuSnapshot): CpuShare {
  const wall = (to.at - from.at) / 1000;
  const pct = (seconds: number) => Math.round((seconds / wall) * 1000) / 10;
  const busyShare = (to.machineBusy - from.machineBusy) / Math.max(1, to.machineTotal - from.machineTotal);
  const ours = pct(to.broker - from.broker) + pct(to.postgres - from.postgres) + pct(to.bench - from.bench);
  return {
    machine_busy_pct: Math.round(busyShare * 1000) / 10,
    broker_pct_of_core: pct(to.broker - from.broker),
    brokers_pct_of_core: to.brokers.map((seconds, index) => pct(seconds - from.brokers[index]!)),
    postgres_pct_of_core: pct(to.postgres - from.postgres),
    load_generator_pct_of_core: pct(to.bench - from.bench),
    other_pct_of_core: Math.max(0, Math.round((busyShare * cpus() * 100 - ours) * 10) / 10),
  };
}

/** CPU use on the machine over `ms`, before the bench starts: is someone else using it? */
export async function idleCheck(ms: number): Promise<CpuShare> {
  const from = await cpuSnapshot(process.pid);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return cpuShare(from, await cpuSnapshot(process.pid));
}
