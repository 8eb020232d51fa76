/**
 * The inspector API (PROTOCOL §5, issue 5) against a real broker: the session list and
 * its filters, a session's detail with timeline and summary, per-tenant hold statistics,
 * the live feed, and 401 for all of them without the admin token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { ADMIN_TOKEN, startBroker, type TestBroker } from '../fixtures/broker.js';
import { upcoming } from '../fixtures/dates.js';
import { drivers } from '../fixtures/database.js';

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$/;

type FeedMessage = Record<string, unknown> & { type: string; call_id?: string };

/** A subscriber of `/v1/sessions/feed`, collecting messages in order. */
class FeedClient {
  readonly messages: FeedMessage[] = [];
  private waiters: Array<{ match: (message: FeedMessage) => boolean; resolve: (message: FeedMessage) => void }> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as FeedMessage;
      this.messages.push(message);
      this.waiters = this.waiters.filter((waiter) => !(waiter.match(message) && (waiter.resolve(message), true)));
    });
  }

  static async open(baseUrl: string, query: Record<string, string>): Promise<FeedClient> {
    const url = new URL('/v1/sessions/feed', baseUrl.replace(/^http/, 'ws'));
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    const socket = new WebSocket(url);
    const feed = new FeedClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('unexpected-response', (_request, response) => reject(Object.assign(new Error(`upgrade refused: ${response.statusCode}`), { status: response.statusCode })));
      socket.once('error', reject);
    });
    await feed.next((message) => message.type === 'feed.ready');
    return feed;
  }

  next(match: (message: FeedMessage) => boolean, timeoutMs = 5000): Promise<FeedMessage> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching feed message within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`)), timeoutMs);
      this.waiters.push({ match, resolve: (message) => (clearTimeout(timer), resolve(message)) });
    });
  }

  close(): void {
    this.socket.close();
  }
}

describe.each(drivers)('the inspector API on %s', (driver) => {
  let broker: TestBroker;
  let token: string;
  let otherToken: string;
  const friday = upcoming('fri');
  const get = (path: string, adminToken: string | null = ADMIN_TOKEN) => broker.admin('GET', path, undefined, adminToken);

  beforeAll(async () => {
    broker = await startBroker(driver);
    token = await broker.tenant('sonnenschein');
    otherToken = await broker.tenant('mondschein');
  });
  afterAll(() => broker.close());

  it('answers 401 without the admin token, on the API and on the feed', async () => {
    for (const path of ['/v1/sessions', '/v1/sessions/sonnenschein/call_x', '/v1/sessions/stats', '/v1/sessions/machine']) {
      for (const adminToken of [null, 'not-the-admin-token']) {
        const response = await get(path, adminToken);
        expect(response.status, `${path} with ${adminToken}`).toBe(401);
        expect(response.body).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      }
    }
    await expect(FeedClient.open(broker.url, {})).rejects.toMatchObject({ status: 401 });
    await expect(FeedClient.open(broker.url, { token: 'not-the-admin-token' })).rejects.toMatchObject({ status: 401 });
    // The runtime token of a tenant is no admin token.
    await expect(FeedClient.open(broker.url, { token })).rejects.toMatchObject({ status: 401 });
    expect((await get('/v1/sessions', token)).status).toBe(401);
  });

  it('follows a call live on the feed and in the API, and summarizes it once it ended', async () => {
    const feed = await FeedClient.open(broker.url, { token: ADMIN_TOKEN, tenant: 'sonnenschein' });
    const callId = 'call_inspect_booked';
    const ofCall = (type: string, extra: (message: FeedMessage) => boolean = () => true) => (message: FeedMessage) =>
      message.type === type && message.call_id === callId && extra(message);
    try {
      const client = await RuntimeClient.connect(broker.url, callId, token);
      await client.start();
      expect(await feed.next(ofCall('session.started'))).toMatchObject({ tenant: 'sonnenschein', call_id: callId, resumed: false });
      await feed.next(ofCall('state.changed'));

      const check = await client.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '11:00' });
      expect(check.result).toMatchObject({ available: true });
      const held = await feed.next(ofCall('hold.changed', (message) => (message.hold as { status: string }).status === 'held'));
      expect(held.hold).toMatchObject({ service: 'herrenschnitt', expires_at: expect.stringMatching(ISO_WITH_OFFSET) });
      expect(await feed.next(ofCall('tool.answered', (message) => message.tool === 'check_availability'))).toMatchObject({ ok: true, latency_ms: expect.any(Number) });
      await feed.next(ofCall('state.changed', (message) => JSON.stringify(message.state).includes('"held"')));

      // While the call is live: the list and the detail show it from the running machine.
      const live = await get('/v1/sessions?tenant=sonnenschein&status=live');
      expect(live.status).toBe(200);
      const listed = live.body.find((session: { call_id: string }) => session.call_id === callId);
      expect(listed).toMatchObject({
        call_id: callId,
        tenant: 'sonnenschein',
        status: 'live',
        outcome: null,
        connected: true,
        started_at: expect.stringMatching(ISO_WITH_OFFSET),
        state: { live: { hold: { held: 'steady' }, connection: 'connected' } },
        hold: { status: 'held', service: 'herrenschnitt', staff: expect.any(String), expires_at: expect.stringMatching(ISO_WITH_OFFSET) },
      });
      const liveDetail = await get(`/v1/sessions/sonnenschein/${callId}`);
      expect(liveDetail.status).toBe(200);
      expect(liveDetail.body).toMatchObject({
        status: 'live',
        state: { live: { hold: { held: 'steady' } } },
        hold: { id: (check.result.hold as { id: string }).id, expires_at: expect.stringMatching(ISO_WITH_OFFSET) },
        context: { call_id: callId, caller_phone: '+4915112345678', hold: { service: 'herrenschnitt' }, request: { service: 'herrenschnitt', date: friday, time: '11:00' } },
        holds: [{ status: 'held', service: 'herrenschnitt' }],
      });

      const booked = await client.tool('book_appointment', { customer_name: 'Siegfried Reu' });
      expect(booked.result).toMatchObject({ booked: true });
      await feed.next(ofCall('hold.changed', (message) => (message.hold as { status: string }).status === 'booked'));
      await client.end();
      expect(await feed.next(ofCall('session.ended'))).toMatchObject({ outcome: 'booked' });
      await feed.next(ofCall('state.changed', (message) => message.state === 'ended'));

      const detail = await get(`/v1/sessions/sonnenschein/${callId}`);
      expect(detail.status).toBe(200);
      expect(detail.body).toMatchObject({
        call_id: callId,
        tenant: 'sonnenschein',
        status: 'ended',
        outcome: 'booked',
        state: 'ended',
        hold: null,
        ended_at: expect.stringMatching(ISO_WITH_OFFSET),
        appointment: { service: 'herrenschnitt' },
        holds: [{ status: 'booked', ended_at: expect.stringMatching(ISO_WITH_OFFSET) }],
        summary: {
          outcome: 'booked',
          hold_placed_to_booked_ms: expect.any(Number),
          tool_latency_ms: {
            check_availability: { count: 1, p50: expect.any(Number), max: expect.any(Number) },
            book_appointment: { count: 1, p50: expect.any(Number), max: expect.any(Number) },
          },
        },
      });
      expect(detail.body.summary.hold_placed_to_booked_ms).toBeGreaterThanOrEqual(0);

      // The timeline: every frame in and out, in order, tool results with their latency.
      const events = detail.body.events as Array<{ at: string; direction: string; type: string; tool: string | null; payload: any; tool_call_id: string | null; latency_ms: number | null }>;
      expect(events.map((event) => `${event.direction} ${event.type}`)).toEqual([
        'in session.start',
        'out session.ready',
        'in tool.call',
        'out tool.result',
        'out hold.updated',
        'in tool.call',
        'out tool.result',
        'out hold.updated',
        'in session.end',
        'out session.ended',
      ]);
      for (const event of events) expect(event.at).toMatch(ISO_WITH_OFFSET);
      const results = events.filter((event) => event.type === 'tool.result');
      expect(results.map((event) => [event.tool, event.tool_call_id, event.payload.ok])).toEqual([
        ['check_availability', 't1', true],
        ['book_appointment', 't2', true],
      ]);
      for (const result of results) expect(result.latency_ms).toBeGreaterThanOrEqual(0);
      expect(events[2]).toMatchObject({ tool: 'check_availability', payload: { name: 'check_availability', arguments: { service: 'Herrenschnitt' } }, latency_ms: null });
    } finally {
      feed.close();
    }
  });

  it('forwards only the asked tenant on a filtered feed, and everything on an unfiltered one', async () => {
    const filtered = await FeedClient.open(broker.url, { token: ADMIN_TOKEN, tenant: 'sonnenschein' });
    const everything = await FeedClient.open(broker.url, { token: ADMIN_TOKEN });
    try {
      const other = await RuntimeClient.connect(broker.url, 'call_other_tenant', otherToken);
      await other.start();
      await other.end();
      const mine = await RuntimeClient.connect(broker.url, 'call_after_other', token);
      await mine.start();
      await mine.end();
      await everything.next((message) => message.type === 'session.ended' && message.call_id === 'call_other_tenant');
      await filtered.next((message) => message.type === 'session.ended' && message.call_id === 'call_after_other');
      expect(filtered.messages.filter((message) => message.tenant === 'mondschein')).toEqual([]);
      expect(everything.messages.some((message) => message.call_id === 'call_after_other')).toBe(true);
    } finally {
      filtered.close();
      everything.close();
    }
  });

  it('filters and pages the list, newest first, with the total in x-total-count', async () => {
    const all = await get('/v1/sessions?tenant=sonnenschein');
    expect(all.status).toBe(200);
    const ids = all.body.map((session: { call_id: string }) => session.call_id);
    expect(ids).toEqual(expect.arrayContaining(['call_inspect_booked', 'call_after_other']));
    expect(ids).not.toContain('call_other_tenant');
    expect(ids.indexOf('call_after_other')).toBeLessThan(ids.indexOf('call_inspect_booked'));

    const page = await fetch(new URL('/v1/sessions?tenant=sonnenschein&limit=1&offset=1', broker.url), { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(page.headers.get('x-total-count')).toBe(String(ids.length));
    expect((await page.json()).map((session: { call_id: string }) => session.call_id)).toEqual([ids[1]]);

    const booked = await get('/v1/sessions?outcome=booked&status=ended');
    expect(booked.body.map((session: { call_id: string }) => session.call_id)).toEqual(['call_inspect_booked']);
    expect(booked.body[0]).toMatchObject({ outcome: 'booked', status: 'ended', state: 'ended', hold: null, ended_at: expect.stringMatching(ISO_WITH_OFFSET) });

    const noBooking = await get('/v1/sessions?outcome=no_booking');
    expect(noBooking.body.map((session: { call_id: string }) => session.call_id).sort()).toEqual(['call_after_other', 'call_other_tenant']);

    const future = encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString());
    expect((await get(`/v1/sessions?from=${future}`)).body).toEqual([]);
    const past = encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString());
    expect((await get(`/v1/sessions?to=${past}`)).body).toEqual([]);
    expect((await get(`/v1/sessions?from=${past}&tenant=mondschein`)).body.map((session: { call_id: string }) => session.call_id)).toEqual(['call_other_tenant']);
  });

  it('refuses bad filters with 400 and unknown sessions with 404', async () => {
    for (const query of ['status=paused', 'outcome=maybe', 'limit=0', 'limit=many', 'offset=-1', 'from=yesterday', 'tenant=no%20spaces']) {
      const response = await get(`/v1/sessions?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
    }
    const missing = await get('/v1/sessions/sonnenschein/call_never_made');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await get('/v1/sessions/mondschein/call_inspect_booked')).status).toBe(404);
  });

  it('counts per tenant what became of the holds: placed, converted, released, and the conversion rate', async () => {
    const client = await RuntimeClient.connect(broker.url, 'call_inspect_released', token);
    await client.start();
    const check = await client.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '14:00' });
    expect(check.result).toMatchObject({ available: true });

    const whileHeld = await get('/v1/sessions/stats?tenant=sonnenschein');
    expect(whileHeld.body).toEqual([{ tenant: 'sonnenschein', placed: 2, held: 1, converted: 1, expired: 0, lost: 0, released: 0, conversion_rate: 0.5 }]);

    await client.end();
    const stats = await get('/v1/sessions/stats');
    expect(stats.status).toBe(200);
    expect(stats.body).toEqual([{ tenant: 'sonnenschein', placed: 2, held: 0, converted: 1, expired: 0, lost: 0, released: 1, conversion_rate: 0.5 }]);

    const future = encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString());
    expect((await get(`/v1/sessions/stats?from=${future}`)).body).toEqual([]);
    expect((await get('/v1/sessions/stats?tenant=mondschein')).body).toEqual([]);
  });

  it('describes the session machine state tree, so the page draws what runs', async () => {
    const machine = await get('/v1/sessions/machine');
    expect(machine.status).toBe(200);
    const paths: string[] = [];
    const walk = (states: Array<{ path: string; states: unknown[] }>) => {
      for (const state of states) {
        paths.push(state.path);
        walk(state.states as Array<{ path: string; states: unknown[] }>);
      }
    };
    walk(machine.body.states);
    expect(machine.body).toMatchObject({ id: 'callSession', initial: 'live', version: expect.any(Number) });
    expect(paths).toEqual(
      expect.arrayContaining([
        'live.tools.idle',
        'live.tools.running',
        'live.hold.none',
        'live.hold.held.steady',
        'live.hold.held.extending',
        'live.hold.held.checkingExpiry',
        'live.hold.held.retryingExpiry',
        'live.connection.connected',
        'live.connection.suspended',
        'ending',
        'dropping',
        'ended',
      ]),
    );
  });
});
