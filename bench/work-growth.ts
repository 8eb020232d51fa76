/**
 * How cost grows with work (issue 14, point 6): a refused `check_availability` has to
 * look for alternatives over up to 15 days × every qualified staff member, so its cost
 * depends on the salon, not on the load. One broker, one tenant per staff count, every
 * staff member offering the one service (an hour, staff busy throughout) and the salon
 * open 09:00–18:00 every day. Days are booked solid through the front desk (nine
 * appointments per staff member and day) but for a few gaps: on the 5th, 9th and 13th
 * booked day one staff member has one hour free. One call then asks, again and again,
 * for the first booked day at 10:00 with anyone: taken, so the answer carries the
 * alternatives the search found across the booked days (or just after them).
 *
 * Measured per (staff, booked days): latency at the client and broker CPU per call. What
 * the broker does per call: one read of the day's claims (to order staff), one read of the
 * 15-day window's claims (C = staff × booked days × 9 rows), sorting and merging them per
 * staff member (C log C), then at most 15 days × staff × 36 grid starts, each checked by
 * binary search in its staff member's claims.
 */
import { performance } from 'node:perf_hooks';
import { RuntimeClient } from '../src/harness/runtime-client.js';
import { summarize, type LatencySummary } from '../src/harness/stats.js';
import type { BrokerProcess } from './broker-process.js';
import { log } from './calls.js';

export interface WorkGrowthPoint {
  staff: number;
  booked_days: number;
  /** Live claims in the 15-day window the alternatives search reads. */
  claims_in_window: number;
  latency: LatencySummary;
  /** Broker CPU (user + system) per call, ms. */
  broker_cpu_ms_per_call: number;
  /** How many alternatives the answers offered (the same for every call of a point). */
  alternatives_offered: number;
}

export interface WorkGrowthResult {
  calls_per_point: number;
  points: WorkGrowthPoint[];
}

const OPEN: [string, string][] = [['09:00', '18:00']];
const HOURS = ['09:00', '10:00', '11:00', '12:00', '13:00', '14:00', '15:00', '16:00', '17:00'];
/** Booked-day index → which staff member (by position: first, middle, last) keeps which hour free. */
const GAPS: Array<{ day: number; staff: 'first' | 'middle' | 'last'; time: string }> = [
  { day: 4, staff: 'first', time: '15:00' },
  { day: 8, staff: 'middle', time: '11:00' },
  { day: 12, staff: 'last', time: '16:00' },
];

function growthCatalog(staffCount: number) {
  const week = { mon: OPEN, tue: OPEN, wed: OPEN, thu: OPEN, fri: OPEN, sat: OPEN, sun: OPEN };
  return {
    name: `Growth ${staffCount}`,
    timezone: 'Europe/Berlin',
    slot_step_min: 15,
    opening_hours: week,
    closed_dates: [],
    staff: Array.from({ length: staffCount }, (_, index) => ({ id: `s${String(index + 1).padStart(2, '0')}`, name: `Staff ${index + 1}`, services: ['schnitt'] })),
    services: [{ id: 'schnitt', name: 'Schnitt', aliases: [], phases: [{ minutes: 60, staff_busy: true }] }],
  };
}

const addDays = (date: string, days: number) => new Date(Date.parse(`${date}T12:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** Books every hour of `staffIds` on booked-day indexes [from, to), but for the gaps, `parallel` requests at a time. */
async function bookSolid(broker: BrokerProcess, tenant: string, staffIds: string[], firstDate: string, from: number, to: number, parallel = 8): Promise<void> {
  const position = { first: 0, middle: Math.floor((staffIds.length - 1) / 2), last: staffIds.length - 1 };
  const requests: Array<{ staff: string; date: string; time: string }> = [];
  for (let day = from; day < to; day++) {
    for (const [index, staff] of staffIds.entries()) {
      for (const time of HOURS) {
        if (GAPS.some((gap) => gap.day === day && position[gap.staff] === index && gap.time === time)) continue;
        requests.push({ staff, date: addDays(firstDate, day), time });
      }
    }
  }
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      const answer = await broker.admin('POST', `/v1/admin/tenants/${tenant}/appointments`, { service: 'schnitt', ...request, customer_name: 'Solid Booking' });
      if (answer.status !== 201) throw new Error(`booking ${JSON.stringify(request)} failed: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

export async function measureWorkGrowth(options: {
  broker: BrokerProcess;
  staffCounts: number[];
  bookedDays: number[];
  firstDate: string;
  callsPerPoint: number;
}): Promise<WorkGrowthResult> {
  const { broker } = options;
  const points: WorkGrowthPoint[] = [];
  for (const staffCount of options.staffCounts) {
    const tenant = `growth-${staffCount}`;
    const put = await broker.admin('PUT', `/v1/admin/tenants/${tenant}`, growthCatalog(staffCount));
    if (put.status !== 200) throw new Error(`loading the growth catalog failed: ${JSON.stringify(put.body)}`);
    const token = (await broker.admin('POST', `/v1/admin/tenants/${tenant}/runtime-tokens`)).body.token as string;
    const staffIds = growthCatalog(staffCount).staff.map((member) => member.id);
    const client = await RuntimeClient.connect(broker.url, `bench-growth-${staffCount}-${Date.now().toString(36)}`, token);
    await client.start({ locale: 'de-DE' });
    let booked = 0;
    let ids = 0;
    for (const days of options.bookedDays) {
      await bookSolid(broker, tenant, staffIds, options.firstDate, booked, days);
      booked = days;
      const ask = () => client.tool('check_availability', { service: 'Schnitt', date: options.firstDate, time: '10:00' }, `g${++ids}`);
      for (let warm = 0; warm < 10; warm++) await ask();
      const samples: number[] = [];
      let offered = 0;
      const cpuBefore = await broker.cpuSeconds();
      for (let call = 0; call < options.callsPerPoint; call++) {
        const started = performance.now();
        const answer = await ask();
        samples.push(performance.now() - started);
        if (answer.result.available !== false) throw new Error(`growth: ${options.firstDate} 10:00 was not refused: ${JSON.stringify(answer.result)}`);
        offered = (answer.result.alternatives as unknown[]).length;
      }
      const cpuAfter = await broker.cpuSeconds();
      const point: WorkGrowthPoint = {
        staff: staffCount,
        booked_days: days,
        claims_in_window: staffCount * Math.min(days, 15) * HOURS.length - GAPS.filter((gap) => gap.day < Math.min(days, 15)).length,
        latency: summarize(samples),
        broker_cpu_ms_per_call: Math.round(((cpuAfter - cpuBefore) * 1000 * 100) / options.callsPerPoint) / 100,
        alternatives_offered: offered,
      };
      points.push(point);
      log(`growth: ${staffCount} staff, ${days} booked days (${point.claims_in_window} claims): p50 ${point.latency.p50} / p99 ${point.latency.p99} ms, broker ${point.broker_cpu_ms_per_call} ms CPU per call`);
    }
    await client.end();
    client.close();
  }
  return { calls_per_point: options.callsPerPoint, points };
}
