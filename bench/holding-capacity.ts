/**
 * Memory of live sessions that each hold a slot (issue 14, point 7): the capacity phase
 * measures idle sessions; a session holding a slot also keeps its hold in context, two
 * armed timers (the deadline and the extension) and a larger snapshot. A fresh broker on
 * its own database and a salon of 50 staff (one 30-minute service, open 09:00–18:00 every
 * day), so every session can hold its own slot: after a warm-up (400 calls that hold and
 * hang up), sessions are opened and each holds a different slot with `check_availability`
 * (staff named), a quarter at a time, and RSS is read from /proc after each quarter.
 * HOLD_TTL_S is long enough that no hold expires during the phase.
 */
import { performance } from 'node:perf_hooks';
import type { RuntimeClient } from '../src/harness/runtime-client.js';
import type { BrokerProcess } from './broker-process.js';
import { hangUp, log, openCalls, sleep } from './calls.js';

export interface HoldingCheckpoint {
  sessions: number;
  holding: number;
  rss_mib: number;
  heap_used_mib: number | null;
}

export interface HoldingCapacityResult {
  target_sessions: number;
  holding: number;
  baseline_rss_mib: number;
  baseline_heap_used_mib: number | null;
  checkpoints: HoldingCheckpoint[];
  /** (RSS at the last checkpoint − baseline) / holding sessions, KiB. */
  rss_per_session_kib: number;
  rss_slope_kib: number;
  heap_per_session_kib: number | null;
  /** Holds placed per second while the sessions were being filled. */
  holds_per_s: number;
}

const STAFF = 50;
const TIMES = Array.from({ length: 18 }, (_, index) => `${String(9 + Math.floor(index / 2)).padStart(2, '0')}:${index % 2 === 0 ? '00' : '30'}`);

export const holdingCatalog = (() => {
  const open: [string, string][] = [['09:00', '18:00']];
  return {
    name: 'Holding salon',
    timezone: 'Europe/Berlin',
    slot_step_min: 30,
    opening_hours: { mon: open, tue: open, wed: open, thu: open, fri: open, sat: open, sun: open },
    closed_dates: [],
    staff: Array.from({ length: STAFF }, (_, index) => ({ id: `h${String(index + 1).padStart(2, '0')}`, name: `Holder ${index + 1}`, services: ['kurz'] })),
    services: [{ id: 'kurz', name: 'Kurzschnitt', aliases: [], phases: [{ minutes: 30, staff_busy: true }] }],
  };
})();

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;
const addDays = (date: string, days: number) => new Date(Date.parse(`${date}T12:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** The `index`-th distinct slot: staff member, then time, then day. */
function slotOf(firstDate: string, index: number) {
  const staff = holdingCatalog.staff[index % STAFF]!.id;
  const time = TIMES[Math.floor(index / STAFF) % TIMES.length]!;
  const date = addDays(firstDate, Math.floor(index / (STAFF * TIMES.length)));
  return { service: 'Kurzschnitt', staff, date, time };
}

/** Each client holds its own slot, `parallel` at a time; returns how many holds were placed. */
async function holdEach(clients: RuntimeClient[], firstDate: string, offset: number, parallel = 100): Promise<number> {
  let placed = 0;
  let next = 0;
  const worker = async () => {
    while (next < clients.length) {
      const index = next++;
      const answer = await clients[index]!.tool('check_availability', slotOf(firstDate, offset + index), 'hold', 10_000);
      if (answer.ok && answer.result.available === true) placed++;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return placed;
}

export async function measureHoldingCapacity(options: { broker: BrokerProcess; token: string; sessions: number; firstDate: string; settleMs: number; checkpoints: number }): Promise<HoldingCapacityResult> {
  const { broker, token } = options;
  const stamp = Date.now().toString(36);
  const heapMib = async () => {
    const bytes = await broker.metric('nodejs_heap_size_used_bytes');
    return bytes === null ? null : Math.round((bytes / 1048576) * 10) / 10;
  };
  log('holding capacity: warming up');
  const warm = await openCalls(broker.url, token, `bench-hold-warm-${stamp}`, 400, 100);
  // The warm-up holds slots far from the measured ones, then hangs up (which releases them).
  await holdEach(warm, addDays(options.firstDate, 200), 0);
  await hangUp(warm);
  await sleep(options.settleMs);
  const baselineKib = await broker.rssKib();
  const baselineHeap = await heapMib();
  log(`holding capacity: baseline RSS ${mib(baselineKib)} MiB; opening ${options.sessions} sessions that each hold a slot`);

  const clients: RuntimeClient[] = [];
  const checkpoints: HoldingCheckpoint[] = [];
  const step = Math.ceil(options.sessions / options.checkpoints);
  let holding = 0;
  let holdMs = 0;
  while (clients.length < options.sessions) {
    const count = Math.min(step, options.sessions - clients.length);
    const opened = await openCalls(broker.url, token, `bench-hold-${stamp}-${clients.length}`, count, 200);
    const started = performance.now();
    holding += await holdEach(opened, options.firstDate, clients.length);
    holdMs += performance.now() - started;
    clients.push(...opened);
    await sleep(options.settleMs);
    const checkpoint = { sessions: clients.length, holding, rss_mib: mib(await broker.rssKib()), heap_used_mib: await heapMib() };
    checkpoints.push(checkpoint);
    log(`holding capacity: ${checkpoint.sessions} sessions, ${holding} holding, RSS ${checkpoint.rss_mib} MiB, heap ${checkpoint.heap_used_mib} MiB`);
  }
  // The broker is this phase's alone: stop it hard rather than release 10,000 holds into a database about to be dropped.
  await broker.stop('SIGKILL');
  for (const client of clients) client.drop();

  const last = checkpoints.at(-1)!;
  const first = checkpoints[0]!;
  return {
    target_sessions: options.sessions,
    holding,
    baseline_rss_mib: mib(baselineKib),
    baseline_heap_used_mib: baselineHeap,
    checkpoints,
    rss_per_session_kib: Math.round(((last.rss_mib * 1024 - baselineKib) / Math.max(1, holding)) * 10) / 10,
    rss_slope_kib: Math.round((((last.rss_mib - first.rss_mib) * 1024) / Math.max(1, last.holding - first.holding)) * 10) / 10,
    heap_per_session_kib:
      last.heap_used_mib !== null && baselineHeap !== null ? Math.round((((last.heap_used_mib - baselineHeap) * 1024) / Math.max(1, holding)) * 10) / 10 : null,
    holds_per_s: Math.round(holding / (holdMs / 1000)),
  };
}
