/** The day board (PROTOCOL §5): per staff member, windows, appointments with phases, live holds, blocks. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { drivers } from '../fixtures/database.js';
import { berlin, upcoming } from '../fixtures/dates.js';

describe.each(drivers)('day board on %s', (driver) => {
  let broker: TestBroker;
  let token: string;
  beforeAll(async () => {
    broker = await startBroker(driver);
    token = await broker.tenant('board');
  });
  afterAll(() => broker.close());

  it('shows a day as the salon sees it: who works when, what is booked by whom, who holds what, who is blocked', async () => {
    const tuesday = upcoming('tue');
    const at = (time: string) => berlin(tuesday, time);
    const perm = await broker.admin('POST', '/v1/admin/tenants/board/appointments', { service: 'dauerwelle', staff: 'fabian', date: tuesday, time: '10:00', customer_name: 'Walk-in Wolf' });
    expect(perm.status).toBe(201);
    const booker = await RuntimeClient.connect(broker.url, 'board-booker', token);
    await booker.start();
    const cut = await booker.tool('book_appointment', { customer_name: 'Siegfried Reu', service: 'Herrenschnitt', date: tuesday, time: '10:30', staff: 'Fabian' });
    expect(cut.result.booked).toBe(true);
    await booker.end();
    const cancelled = await broker.admin('POST', '/v1/admin/tenants/board/appointments', { service: 'herrenschnitt', staff: 'fabian', date: tuesday, time: '16:00', customer_name: 'Gone' });
    await broker.admin('DELETE', `/v1/admin/tenants/board/appointments/${cancelled.body.id}`);
    expect((await broker.admin('PUT', '/v1/admin/tenants/board/blocks/lunch', { staff: 'lena', start: at('12:00'), end: at('13:00'), reason: 'Mittag' })).status).toBe(200);
    const holder = await RuntimeClient.connect(broker.url, 'board-holder', token);
    await holder.start();
    const held = await holder.tool('check_availability', { service: 'Damenschnitt', date: tuesday, time: '14:00', staff: 'Aylin' });
    expect(held.result.available).toBe(true);

    const board = await broker.admin('GET', `/v1/admin/tenants/board/day?date=${tuesday}`);
    expect(board.status).toBe(200);
    const hold = held.result.hold as { id: string; expires_at: string };
    expect(board.body).toEqual({
      date: tuesday,
      timezone: 'Europe/Berlin',
      staff: [
        {
          id: 'fabian',
          name: 'Fabian Spitzer',
          windows: [['09:00', '18:00']],
          appointments: [
            {
              id: perm.body.id,
              service: 'dauerwelle',
              start: at('10:00'),
              end: at('11:45'),
              source: 'front_desk',
              customer_name: 'Walk-in Wolf',
              phases: [
                { start: at('10:00'), end: at('10:30'), staff_busy: true },
                { start: at('10:30'), end: at('11:15'), staff_busy: false },
                { start: at('11:15'), end: at('11:45'), staff_busy: true },
              ],
            },
            {
              id: (cut.result.appointment as { id: string }).id,
              service: 'herrenschnitt',
              start: at('10:30'),
              end: at('11:00'),
              source: 'call',
              customer_name: 'Siegfried Reu',
              phases: [{ start: at('10:30'), end: at('11:00'), staff_busy: true }],
            },
          ],
          holds: [],
          blocks: [],
        },
        { id: 'lena', name: 'Lena Vogt', windows: [['09:00', '18:00']], appointments: [], holds: [], blocks: [{ id: 'lunch', start: at('12:00'), end: at('13:00'), reason: 'Mittag', source: 'front_desk' }] },
        {
          id: 'aylin',
          name: 'Aylin Demir',
          windows: [['12:00', '18:00']],
          appointments: [],
          holds: [{ id: hold.id, call_id: 'board-holder', service: 'damenschnitt', start: at('14:00'), end: at('14:45'), expires_at: hold.expires_at }],
          blocks: [],
        },
      ],
    });

    await holder.tool('release_hold');
    const after = await broker.admin('GET', `/v1/admin/tenants/board/day?date=${tuesday}`);
    expect(after.body.staff[2].holds).toEqual([]);
    await holder.end();
  });

  it('shows a closed day with no windows, and validates its query', async () => {
    const wednesday = upcoming('wed');
    const board = await broker.admin('GET', `/v1/admin/tenants/board/day?date=${wednesday}`);
    expect(board.body.staff.map((column: { windows: unknown[] }) => column.windows)).toEqual([[], [], []]);
    expect(await broker.admin('GET', '/v1/admin/tenants/board/day?date=2026-02-30')).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/^date: /) } } });
    expect((await broker.admin('GET', `/v1/admin/tenants/nobody/day?date=${wednesday}`)).status).toBe(404);
    expect((await broker.admin('GET', `/v1/admin/tenants/board/day?date=${wednesday}`, undefined, null)).status).toBe(401);
  });
});
