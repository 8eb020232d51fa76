/**
 * `npm run soak` (not in CI): a long run of realistic calls against one broker process,
 * to see whether memory comes back once the calls are over (issue 9). It starts a broker
 * (`bench/broker-process.ts`) on DATABASE_URL itself (migrated at start; use a database of
 * its own, the soak's bookings stay in it), spreads `--calls` calls over `--minutes`, each
 * a caller over the harness's `RuntimeClient`: start, caller activity and transcripts,
 * context and customer look-ups, check_availability (taking an offered alternative when
 * the slot is gone), then sometimes book, sometimes release, sometimes hang up with the
 * hold, and in one call of ten a dropped connection without `session.end` (the session
 * then waits out RESUME_GRACE_S). The broker's RSS (VmRSS from /proc) is read before the
 * calls (after a warm-up of `--warmup` short calls and RESUME_GRACE_S, so the broker is past
 * its start), every second during them (peak), when they are over, and after a settle period.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/callhold_soak npm run soak [-- --calls 1000 --minutes 10]
 *
 * Exits 1 when a call failed (a timeout, an error frame, an unexpected close), when the
 * bookings told do not match the appointments stored, or when sessions are left live.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { demoCatalogBody, HarnessCatalog, localDateTime } from '../src/harness/catalog.js';
import { Prng } from '../src/harness/prng.js';
import { RuntimeClient, type ToolResultFrame } from '../src/harness/runtime-client.js';
import { startBrokerProcess, type BrokerProcess } from './broker-process.js';
import { log, sleep } from './calls.js';

const TENANT = 'soak';
const RESUME_GRACE_S = 30;

interface Sample {
  at_s: number;
  rss_mib: number;
  live_sessions: number | null;
}

interface CallTally {
  started: number;
  completed: number;
  ended: number;
  dropped: number;
  bookings: number;
  releases: number;
  kept_hold: number;
  tool_calls: number;
  caller_frames: number;
  /** ok:false answers by error.code (SLOT_TAKEN on a late booking is a normal answer, counted here too). */
  refusals: Record<string, number>;
  /** Failures: the call did not go as the contract says (timeouts, error frames, unexpected closes). */
  errors: Record<string, number>;
  error_examples: string[];
}

const emptyTally = (): CallTally => ({ started: 0, completed: 0, ended: 0, dropped: 0, bookings: 0, releases: 0, kept_hold: 0, tool_calls: 0, caller_frames: 0, refusals: {}, errors: {}, error_examples: [] });

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

async function liveSessions(broker: BrokerProcess): Promise<number | null> {
  try {
    const body = (await (await fetch(`${broker.url}/healthz`)).json()) as { live_sessions?: number };
    return body.live_sessions ?? null;
  } catch {
    return null;
  }
}

function fail(tally: CallTally, kind: string, detail: string): void {
  tally.errors[kind] = (tally.errors[kind] ?? 0) + 1;
  if (tally.error_examples.length < 10) tally.error_examples.push(`${kind}: ${detail.slice(0, 300)}`);
}

/** One caller, from connect to hang-up (or a dropped line). Never throws: failures are tallied. */
async function runCall(options: { url: string; token: string; callId: string; index: number; lengthMs: number; prng: Prng; catalog: HarnessCatalog; dates: string[]; tally: CallTally }): Promise<void> {
  const { prng, catalog, tally } = options;
  const deadline = performance.now() + options.lengthMs;
  const pause = (share: number) => sleep(Math.min(deadline - performance.now(), options.lengthMs * share * prng.between(0.5, 1.5)));
  let client: RuntimeClient;
  try {
    client = await RuntimeClient.connect(options.url, options.callId, options.token);
  } catch (error) {
    fail(tally, 'connect', String(error));
    return;
  }
  tally.started++;
  const ended = { value: false };
  let toolIds = 0;
  const tool = async (name: string, args: Record<string, unknown> = {}): Promise<ToolResultFrame | null> => {
    tally.tool_calls++;
    try {
      const answer = await client.tool(name, args, `s${++toolIds}`, 10_000);
      if (!answer.ok) tally.refusals[answer.error?.code ?? '?'] = (tally.refusals[answer.error?.code ?? '?'] ?? 0) + 1;
      return answer;
    } catch (error) {
      fail(tally, `timeout:${name}`, String(error));
      return null;
    }
  };
  const errorFrames = client.onFrame((frame) => {
    if (frame.type === 'error') fail(tally, `error-frame:${String(frame.code)}`, JSON.stringify(frame));
  });
  const closed = client.waitClosed().then((close) => {
    if (!ended.value) fail(tally, `closed:${close.code}`, `${options.callId} closed with ${close.code} ${close.reason}`);
  });

  try {
    const locale = prng.chance(0.8) ? 'de-DE' : 'en-US';
    await client.start({ from: `+4916${String(options.index).padStart(9, '0')}`, locale });
    // The caller talks throughout: voice activity and transcripts, as a runtime forwards them.
    const talking = (async () => {
      while (!ended.value && performance.now() < deadline) {
        client.send({ type: 'caller.activity', speaking: true });
        client.send({ type: 'transcript', role: 'caller', text: prng.pick(['Hallo, ich hätte gern einen Termin', 'Geht es auch', 'Ja, genau', 'Hm, einen Moment']), final: false });
        await sleep(prng.between(400, 1200));
        if (ended.value) return;
        client.send({ type: 'transcript', role: 'caller', text: prng.pick(['Hallo, ich hätte gern einen Termin.', 'Geht es auch etwas später?', 'Ja, genau so.', 'Am liebsten vormittags.']), final: true });
        client.send({ type: 'caller.activity', speaking: false });
        client.send({ type: 'transcript', role: 'agent', text: 'Einen Moment, ich schaue nach.', final: true });
        tally.caller_frames += 5;
        await sleep(prng.between(800, 2500));
      }
    })();

    if (prng.chance(0.8)) await tool('get_current_context');
    if (prng.chance(0.3)) await tool('check_customer');
    if (prng.chance(0.3)) await tool('list_services');
    await pause(0.15);

    // Asks for a slot; when it is gone, takes the first alternative offered (up to 3 attempts).
    const date = prng.pick(options.dates);
    const service = prng.pick(catalog.services);
    let ask: Record<string, unknown> = { service: service.name, date, time: prng.pick(catalog.startTimes(date, service)) };
    let held = false;
    for (let attempt = 0; attempt < 3 && !held; attempt++) {
      const check = await tool('check_availability', ask);
      if (!check?.ok) break;
      if (check.result.available === true) {
        held = true;
        break;
      }
      const alternative = (check.result.alternatives as Array<{ start: string; staff: string }> | undefined)?.[0];
      if (!alternative) break;
      ask = { service: service.name, ...localDateTime(alternative.start), staff: alternative.staff };
      await pause(0.05);
    }
    await pause(0.25);

    if (held) {
      const choice = prng.next();
      if (choice < 0.55) {
        const book = await tool('book_appointment', { customer_name: `Soak Caller ${options.index}` });
        if (book?.ok && book.result.booked === true) tally.bookings++;
      } else if (choice < 0.7) {
        const release = await tool('release_hold');
        if (release?.ok && release.result.released === true) tally.releases++;
      } else {
        tally.kept_hold++;
      }
    }
    await pause(0.15);

    if (prng.chance(0.1)) {
      ended.value = true;
      tally.dropped++;
      client.drop();
    } else {
      const mark = client.frames.length;
      ended.value = true;
      client.send({ type: 'session.end', reason: 'caller hung up' });
      await client.next('session.ended', { after: mark, timeoutMs: 10_000 });
      const close = await Promise.race([client.waitClosed(), sleep(10_000).then(() => null)]);
      if (close?.code !== 1000) fail(tally, 'end-close', `${options.callId}: ${close ? close.code : 'not closed within 10 s'} after session.ended`);
      tally.ended++;
    }
    await talking;
    tally.completed++;
  } catch (error) {
    fail(tally, 'call', `${options.callId}: ${String(error)}`);
  } finally {
    ended.value = true;
    errorFrames();
    client.close();
    await Promise.race([closed, sleep(1000)]);
  }
}

/** Appointments stored for this run's calls (call ids with `prefix`), read back over the admin API. */
async function storedBookings(broker: BrokerProcess, dates: string[], prefix: string): Promise<number> {
  let count = 0;
  for (const date of new Set(dates)) {
    const list = await broker.admin('GET', `/v1/admin/tenants/${TENANT}/appointments?date=${date}`);
    if (list.status !== 200) throw new Error(`appointments of ${date}: ${list.status} ${JSON.stringify(list.body)}`);
    count += (list.body as Array<{ call_id: string | null; status: string }>).filter((row) => row.call_id?.startsWith(prefix) && row.status === 'booked').length;
  }
  return count;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '1000' },
      minutes: { type: 'string', default: '10' },
      'settle-s': { type: 'string', default: String(RESUME_GRACE_S + 30) },
      seed: { type: 'string', default: 'soak' },
      warmup: { type: 'string', default: '30' },
    },
  });
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl || !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    process.stderr.write(
      'soak: DATABASE_URL is not set (or not a postgres:// URL).\n' +
        'The soak runs a broker on real PostgreSQL; give it a database of its own, e.g.\n' +
        '  createdb -h 127.0.0.1 -U postgres callhold_soak\n' +
        '  DATABASE_URL=postgres://postgres@127.0.0.1:5432/callhold_soak npm run soak -- --calls 50 --minutes 1\n',
    );
    return 2;
  }
  const calls = Number(values.calls);
  const durationMs = Number(values.minutes) * 60_000;
  const settleMs = Number(values['settle-s']) * 1000;
  if (!(calls > 0) || !(durationMs > 0) || !(settleMs >= 0)) throw new Error('--calls and --minutes must be positive numbers, --settle-s a number ≥ 0');
  const prng = new Prng(values.seed!);
  const catalog = HarnessCatalog.demo();
  const dates = catalog.openDates(catalog.defaultDate(new Date(), 'mon', 7), 60);
  // A call lasts 30–100 % of a minute, or of a third of the run when that is shorter.
  const longestMs = Math.min(60_000, durationMs / 3);

  const broker = await startBrokerProcess({ databaseUrl, env: { RESUME_GRACE_S: String(RESUME_GRACE_S) } });
  const started = performance.now();
  const samples: Sample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        samples.push({ at_s: Math.round((performance.now() - started) / 1000), rss_mib: mib(await broker.rssKib()), live_sessions: await liveSessions(broker) });
      } catch {
        // the broker is gone: the final checks say so
      }
      await sleep(1000);
    }
  })();
  try {
    const put = await broker.admin('PUT', `/v1/admin/tenants/${TENANT}`, demoCatalogBody);
    if (put.status !== 200) throw new Error(`loading the demo catalog failed: ${JSON.stringify(put.body)}`);
    const token = (await broker.admin('POST', `/v1/admin/tenants/${TENANT}/runtime-tokens`)).body.token as string;
    // A warm-up, so that "before" is a broker past its start (code compiled, pools filled), not one still starting.
    const warmTally = emptyTally();
    const warmStamp = Date.now().toString(36);
    await Promise.all(
      Array.from({ length: Number(values.warmup) }, (_, index) =>
        runCall({ url: broker.url, token, callId: `soak-warmup-${warmStamp}-${index}`, index, lengthMs: 5000, prng: prng.fork(`warmup-${index}`), catalog, dates, tally: warmTally }),
      ),
    );
    await sleep(RESUME_GRACE_S * 1000 + 10_000);
    const before = { rss_mib: mib(await broker.rssKib()), heap_used_mib: mib(((await broker.metric('nodejs_heap_size_used_bytes')) ?? 0) / 1024) };
    log(`soak: broker pid ${broker.pid}, RSS before ${before.rss_mib} MiB; ${calls} calls over ${values.minutes} min (seed ${values.seed})`);

    const prefix = `soak-${Date.now().toString(36)}`;
    const tally = emptyTally();
    const callsFrom = performance.now();
    const running: Array<Promise<void>> = [];
    const progress = setInterval(() => {
      const last = samples.at(-1);
      log(`soak: ${tally.started} started, ${tally.completed} done, ${tally.bookings} booked, ${Object.values(tally.errors).reduce((a, b) => a + b, 0)} errors; live ${last?.live_sessions ?? '?'}, RSS ${last?.rss_mib ?? '?'} MiB`);
    }, 30_000);
    for (let index = 0; index < calls; index++) {
      const callPrng = prng.fork(index);
      const lengthMs = longestMs * callPrng.between(0.3, 1);
      const startAt = callsFrom + (index / calls) * (durationMs - longestMs) + callPrng.between(0, (durationMs - longestMs) / calls);
      await sleep(startAt - performance.now());
      running.push(runCall({ url: broker.url, token, callId: `${prefix}-${index}`, index, lengthMs, prng: callPrng, catalog, dates, tally }));
    }
    await Promise.all(running);
    clearInterval(progress);
    const callsMs = performance.now() - callsFrom;
    const endOfCalls = mib(await broker.rssKib());
    const during = samples.filter((sample) => sample.at_s * 1000 >= callsFrom - started && sample.at_s * 1000 <= callsFrom - started + callsMs);
    const peak = during.reduce((best, sample) => (sample.rss_mib > best.rss_mib ? sample : best), during[0] ?? { at_s: 0, rss_mib: 0, live_sessions: null });
    const peakLive = Math.max(0, ...during.map((sample) => sample.live_sessions ?? 0));
    log(`soak: calls over after ${Math.round(callsMs / 1000)} s; settling ${settleMs / 1000} s (dropped calls wait out RESUME_GRACE_S=${RESUME_GRACE_S})`);
    await sleep(settleMs);
    const after = { rss_mib: mib(await broker.rssKib()), heap_used_mib: mib(((await broker.metric('nodejs_heap_size_used_bytes')) ?? 0) / 1024), live_sessions: await liveSessions(broker) };
    const stored = await storedBookings(broker, dates, prefix);
    const metrics = await (await fetch(`${broker.url}/metrics`)).text();
    const outcomes = Object.fromEntries([...metrics.matchAll(/^callhold_sessions_ended_total\{outcome="(\w+)"\} (\d+)$/gm)].map((match) => [match[1], Number(match[2])]));
    const errorCount = Object.values(tally.errors).reduce((a, b) => a + b, 0);

    const report = {
      command: `DATABASE_URL=${databaseUrl} npm run soak -- --calls ${calls} --minutes ${values.minutes}`,
      calls,
      minutes: Number(values.minutes),
      calls_s: Math.round(callsMs / 1000),
      settle_s: settleMs / 1000,
      rss_mib: { before: before.rss_mib, peak: peak.rss_mib, peak_after_calls_began_s: Math.round(peak.at_s - (callsFrom - started) / 1000), end_of_calls: endOfCalls, after: after.rss_mib },
      warmup: { calls: Number(values.warmup), errors: warmTally.errors },
      heap_used_mib: { before: before.heap_used_mib, after: after.heap_used_mib },
      peak_live_sessions: peakLive,
      live_sessions_after: after.live_sessions,
      tally,
      sessions_ended: outcomes,
      bookings_told: tally.bookings,
      bookings_stored: stored,
      /** Seconds since the broker process started. */
      rss_timeline: samples.filter((_, index) => index % 30 === 0).map((sample) => `${sample.at_s} s: ${sample.rss_mib} MiB, ${sample.live_sessions ?? '?'} live`),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    const ok = errorCount === 0 && Object.keys(warmTally.errors).length === 0 && stored === tally.bookings && after.live_sessions === 0;
    log(`soak: ${ok ? 'ok' : 'FAILED'}: RSS ${before.rss_mib} → peak ${peak.rss_mib} → ${after.rss_mib} MiB; ${tally.bookings} booked (${stored} stored), ${errorCount} errors, ${after.live_sessions} live after`);
    return ok ? 0 : 1;
  } finally {
    sampling = false;
    await sampler;
    await broker.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
