/**
 * The inspector page in a real browser (Debian's Chromium through playwright-core):
 * sign in with the admin token, watch a call appear the moment a runtime starts it,
 * see its state and hold countdown move with check_availability and a booking, and
 * read its state tree, timeline and the tenant's hold statistics. Leaves a screenshot
 * in `test-artifacts/inspector.png`.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { ADMIN_TOKEN, startBroker, type TestBroker } from '../fixtures/broker.js';
import { berlin, upcoming } from '../fixtures/dates.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const STEP_TIMEOUT_MS = 10_000;

describe('the inspector page in Chromium', () => {
  let broker: TestBroker;
  let browser: Browser;
  let runtimeToken: string;
  const problems: string[] = [];

  beforeAll(async () => {
    broker = await startBroker('pglite');
    runtimeToken = await broker.tenant('sonnenschein');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await broker?.close();
  });

  async function openPage(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    // Script errors and refused resources (a content security policy violation among them) fail the test.
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/401 \(Unauthorized\)/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    return page;
  }

  it('asks for the token and refuses a wrong one', async () => {
    const page = await openPage();
    await page.goto(`${broker.url}/inspector`);
    await page.locator('#token-input').waitFor();
    expect(await page.locator('#workspace').isHidden()).toBe(true);

    await page.fill('#token-input', 'not-the-admin-token');
    await page.click('#login-form button[type=submit]');
    await page.locator('#login-error', { hasText: 'refused' }).waitFor();
    expect(await page.locator('#workspace').isHidden()).toBe(true);
    await page.close();
  });

  it('shows a call live, its state and hold countdown changing with a check and a booking, and its detail', async () => {
    const friday = upcoming('fri');
    const page = await openPage();
    await page.goto(`${broker.url}/inspector`);
    await page.fill('#token-input', ADMIN_TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.locator('#feed-status[data-status="live"]').waitFor();
    await page.locator('#calls-empty').waitFor();

    // A runtime starts a call: it appears without reloading.
    const caller = await RuntimeClient.connect(broker.url, 'call_browser_booked', runtimeToken);
    await caller.start();
    const row = page.locator('#calls tr[data-key="sonnenschein/call_browser_booked"]');
    await row.waitFor();
    await row.locator('[data-field="state"]', { hasText: 'connected' }).waitFor();
    expect(await row.locator('[data-field="hold"]').getAttribute('data-hold-status')).toBe('none');
    expect(await row.locator('[data-field="outcome"]').textContent()).toBe('in call');
    // The feed names the runtime carrying the call: our own WebSocket here.
    expect(await row.locator('[data-field="runtime"]').textContent()).toBe('callhold');

    await caller.tool('get_current_context');
    await caller.tool('check_customer');
    await row.locator('[data-field="tool"]', { hasText: 'check_customer' }).waitFor();

    // check_availability places a hold: the row shows it with a countdown that runs down.
    const check = await caller.tool('check_availability', { service: 'Dauerwelle', date: friday, time: 'zehn Uhr' });
    expect(check.result).toMatchObject({ available: true });
    const heldCell = row.locator('[data-field="hold"][data-hold-status="held"]');
    await heldCell.waitFor();
    await row.locator('[data-field="state"]', { hasText: 'held › steady' }).waitFor();
    const countdown = heldCell.locator('.countdown');
    const shown = (await countdown.textContent()) ?? '';
    expect(shown).toMatch(/^\d+:\d\d$/);
    await page.waitForFunction(
      ({ selector, before }) => document.querySelector(selector)?.textContent !== before,
      { selector: '#calls tr[data-key="sonnenschein/call_browser_booked"] .countdown', before: shown },
    );

    // The detail: the machine's tree with the current states, the hold and the timeline.
    await row.click();
    const detail = page.locator('#detail');
    await detail.locator('h2', { hasText: 'call_browser_booked' }).waitFor();
    await detail.locator('.state.active[data-path="live.hold.held.steady"]').waitFor();
    for (const path of ['live', 'live.hold.held', 'live.tools.idle', 'live.connection.connected']) {
      expect(await detail.locator(`.state.active[data-path="${path}"]`).count(), path).toBe(1);
    }
    for (const path of ['live.hold.none', 'live.tools.running', 'ended', 'live.hold.held.extending']) {
      expect(await detail.locator(`.state[data-path="${path}"]`).count(), path).toBe(1);
      expect(await detail.locator(`.state.active[data-path="${path}"]`).count(), path).toBe(0);
    }
    await detail.locator('.hold-card .countdown').waitFor();
    await detail.locator('#timeline tr[data-type="tool.result"]', { hasText: 'check_availability' }).waitFor();
    await detail.locator('table.latency tr[data-tool="check_availability"]').waitFor();

    // A second caller holds a slot and stays on the line, for the screenshot's sake too.
    const waiting = await RuntimeClient.connect(broker.url, 'call_browser_waiting', runtimeToken);
    await waiting.start({ from: '+4917099887766' });
    await waiting.tool('check_availability', { service: 'Herrenschnitt', date: friday, time: '15:00' });
    await page.locator('#calls tr[data-key="sonnenschein/call_browser_waiting"] [data-field="hold"][data-hold-status="held"]').waitFor();

    // Booking: the hold turns into an appointment, the tree leaves "held", statistics count it.
    const booked = await caller.tool('book_appointment', { customer_name: 'Siegfried Reu' });
    expect(booked.result).toMatchObject({ booked: true });
    await row.locator('[data-field="hold"][data-hold-status="booked"]').waitFor();
    expect(await row.locator('.countdown').count()).toBe(0);
    await detail.locator('.state.active[data-path="live.hold.none"]').waitFor();
    expect(await detail.locator('.state.active[data-path="live.hold.held"]').count()).toBe(0);
    await detail.locator('table.latency tr[data-tool="book_appointment"]').waitFor();
    await detail.locator('.hold-history li[data-hold-status="booked"]').waitFor();
    const stats = page.locator('#stats tr[data-tenant="sonnenschein"]');
    await stats.locator('[data-field="converted"]', { hasText: /^1$/ }).waitFor();
    expect(await stats.locator('[data-field="placed"]').textContent()).toBe('2');
    expect(await stats.locator('[data-field="held"]').textContent()).toBe('1');

    // The call ends: outcome and final state, live from the feed.
    await caller.end();
    await row.locator('[data-field="outcome"][data-outcome="booked"]').waitFor();
    await row.locator('[data-field="state"]', { hasText: 'ended' }).waitFor();
    await detail.locator('.state.active[data-path="ended"]').waitFor();
    await detail.locator('#timeline tr[data-type="session.ended"]').waitFor();

    // Show the waiting call, the one with a running countdown, for the screenshot.
    await page.locator('#calls tr[data-key="sonnenschein/call_browser_waiting"]').click();
    await detail.locator('h2', { hasText: 'call_browser_waiting' }).waitFor();
    await detail.locator('.state.active[data-path="live.hold.held.steady"]').waitFor();
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}inspector.png`, fullPage: true });

    // A reload keeps the token for this tab and shows the same calls from the API.
    await page.reload();
    await page.locator('#feed-status[data-status="live"]').waitFor();
    await page.locator('#calls tr[data-key="sonnenschein/call_browser_booked"] [data-field="outcome"][data-outcome="booked"]').waitFor();
    await page.locator('#detail h2', { hasText: 'call_browser_waiting' }).waitFor();

    // Logging out forgets it.
    await page.click('#logout');
    await page.locator('#token-input').waitFor();
    await page.reload();
    await page.locator('#token-input').waitFor();
    expect(await page.locator('#workspace').isHidden()).toBe(true);

    await waiting.end();
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
  it('draws the day board as a calendar per staff member, with phases, sources, blocks and live holds that follow the feed', async () => {
    const tuesday = upcoming('tue');
    const boardToken = await broker.tenant('board-salon');
    const walkIn = await broker.admin('POST', '/v1/admin/tenants/board-salon/appointments', { service: 'dauerwelle', staff: 'fabian', date: tuesday, time: '10:00', customer_name: 'Walk-in Wolf' });
    expect(walkIn.status).toBe(201);
    expect((await broker.admin('PUT', '/v1/admin/tenants/board-salon/blocks/lunch', { staff: 'lena', start: berlin(tuesday, '12:00'), end: berlin(tuesday, '13:00'), reason: 'Mittagspause' })).status).toBe(200);

    const page = await openPage();
    await page.goto(`${broker.url}/inspector`);
    await page.fill('#token-input', ADMIN_TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.locator('#feed-status[data-status="live"]').waitFor();
    await page.fill('#board-tenant', 'board-salon');
    await page.fill('#board-date', tuesday);
    await page.click('#board-form button[type=submit]');

    const board = page.locator('#board');
    for (const staff of ['fabian', 'lena', 'aylin']) await board.locator(`.board-column[data-staff="${staff}"]`).waitFor();
    const perm = board.locator(`.board-column[data-staff="fabian"] .board-appointment[data-appointment="${walkIn.body.id}"]`);
    await perm.waitFor();
    expect(await perm.getAttribute('data-source')).toBe('front_desk');
    expect(await perm.locator('.board-phase[data-busy="true"]').count()).toBe(2);
    expect(await perm.locator('.board-phase[data-busy="false"]').count()).toBe(1);
    await perm.locator('.board-source', { hasText: 'front desk' }).waitFor();
    await board.locator('.board-column[data-staff="lena"] .board-block[data-block="lunch"]', { hasText: 'Mittagspause' }).waitFor();
    // The processing gap is drawn inside the perm, below its first busy phase.
    // Measured in one step in the page: the board redraws on feed events, which detaches what a second step would measure.
    const [first, gap] = await perm.evaluate((element) =>
      [...element.querySelectorAll('.board-phase')].slice(0, 2).map((phase) => {
        const box = phase.getBoundingClientRect();
        return { y: box.y, height: box.height };
      }),
    );
    expect(gap!.y).toBeGreaterThanOrEqual(first!.y + first!.height - 1);

    // A caller holds a slot: it appears on the board without a reload, with its call and a countdown.
    const caller = await RuntimeClient.connect(broker.url, 'call_board', boardToken);
    await caller.start();
    expect((await caller.tool('check_availability', { service: 'Damenschnitt', date: tuesday, time: '14:00', staff: 'Aylin' })).result.available).toBe(true);
    const hold = board.locator('.board-column[data-staff="aylin"] .board-hold[data-call="call_board"]');
    await hold.waitFor();
    const countdown = hold.locator('.countdown');
    const shown = (await countdown.textContent()) ?? '';
    expect(shown).toMatch(/^\d+:\d\d$/);
    await page.waitForFunction(
      ({ before }) => document.querySelector('.board-hold[data-call="call_board"] .countdown')?.textContent !== before,
      { before: shown },
    );
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}day-board.png`, fullPage: true });

    // Booked: the hold gives way to a phone appointment.
    expect((await caller.tool('book_appointment', { customer_name: 'Siegfried Reu' })).result.booked).toBe(true);
    await board.locator('.board-column[data-staff="aylin"] .board-appointment[data-source="call"]', { hasText: 'Siegfried Reu' }).waitFor();
    await hold.waitFor({ state: 'detached' });
    await caller.end();

    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
