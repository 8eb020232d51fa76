import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDoubleBookings, type ListedAppointment } from '../../../src/harness/audit.js';
import { HarnessCatalog } from '../../../src/harness/catalog.js';
import { readCatalogBack } from '../../../src/harness/learn.js';
import { CatalogSalon, LearnedSalon, longestService, shortestService } from '../../../src/harness/salon.js';
import { kiriCatalogBody } from '../../fixtures/catalogs.js';

// 2030-01-02 is a Wednesday, 2030-01-06 a Sunday.
const WED = '2030-01-02';
const SUN = '2030-01-06';

/** The catalog as GET /v1/admin/tenants/{tenant} returns it: the PUT body, customers left out. */
const readBackBody = { ...kiriCatalogBody };

describe('a salon known from its catalog (the --catalog file or the admin read-back)', () => {
  const salon = new CatalogSalon(HarnessCatalog.from(readBackBody), 'admin');

  it('knows services with their phases and aliases, and staff by id, name or first name', () => {
    expect(salon.services.map((service) => [service.id, service.durationMin, service.phases?.length])).toEqual([
      ['balayage', 110, 3],
      ['scalp-care', 50, 3],
      ['beard-trim', 20, 1],
      ['kids-cut', 25, 1],
    ]);
    expect(salon.service('hand-painted Highlights')?.id).toBe('balayage');
    expect(salon.service('scalp treatment')?.id).toBe('scalp-care');
    expect(salon.service('Dauerwelle')).toBeUndefined();
    expect(salon.staff('ruth')?.id).toBe('ruth');
    expect(salon.staff('Oskar')?.id).toBe('oskar');
    expect(salon.staff('Fabian')).toBeUndefined();
    expect(salon.staffFor('kids-cut').map((member) => member.id)).toEqual(['oskar', 'ruth']);
  });

  it('lays starts on the salon grid within each staff member’s own hours', () => {
    // Balayage (110 min) on Wednesday: 06:30 and 06:50 in the morning, 19:10 to 20:50 in the evening, every 20 min.
    expect(salon.startTimes(WED, 'balayage')).toEqual(['06:30', '06:50', '19:10', '19:30', '19:50', '20:10', '20:30', '20:50']);
    // Ruth works Wednesday evenings until 21:50 only; Oskar all day.
    expect(salon.startTimes(WED, 'kids-cut', 'ruth').at(-1)).toBe('21:10');
    expect(salon.startTimes(WED, 'kids-cut', 'oskar').at(-1)).toBe('22:10');
    expect(salon.startTimes('2030-01-03', 'balayage')).toEqual([]);
  });

  it('names the first and last start of a day with who has it', () => {
    expect(salon.firstStart(WED, 'balayage')).toEqual({ time: '06:30', staff: 'mei' });
    expect(salon.lastStart(WED, 'balayage')).toEqual({ time: '20:50', staff: 'mei' });
    // On Sunday only Ruth offers kids' cuts from 09:40; Oskar from 07:20.
    expect(salon.firstStart(SUN, 'kids-cut')).toEqual({ time: '07:20', staff: 'oskar' });
    expect(salon.firstStart('2030-01-03', 'kids-cut')).toBeNull();
  });

  it('picks the longest service with a processing gap, and the shortest', () => {
    expect(longestService(salon.services, true)?.id).toBe('balayage');
    expect(shortestService(salon.services)?.id).toBe('beard-trim');
    const withoutGap = salon.services.filter((service) => service.id !== 'balayage' && service.id !== 'scalp-care');
    expect(longestService(withoutGap, true)?.id).toBe('kids-cut');
  });
});

describe('a salon learned with a runtime token', () => {
  const learned = () =>
    new LearnedSalon('Kiri', 'Asia/Tokyo', [
      { id: 'balayage', name: 'Balayage', aliases: [], durationMin: 110, phases: null },
      { id: 'beard-trim', name: 'Beard Trim', aliases: [], durationMin: 20, phases: null },
    ]);

  it('bounds a day by the first and last free start seen, guessing a 15-minute grid between', () => {
    const salon = learned();
    salon.learnStart('balayage', WED, { time: '19:10', staff: 'oskar' });
    salon.learnStart('balayage', WED, { time: '06:30', staff: 'mei' });
    salon.learnStart('balayage', WED, { time: '07:00', staff: 'mei' });
    expect(salon.firstStart(WED, 'balayage')).toEqual({ time: '06:30', staff: 'mei' });
    expect(salon.lastStart(WED, 'balayage')).toEqual({ time: '19:10', staff: 'oskar' });
    const starts = salon.startTimes(WED, 'balayage');
    expect(starts.slice(0, 3)).toEqual(['06:30', '06:45', '07:00']);
    expect(starts.at(-1)).toBe('19:10');
    expect(salon.startTimes(WED, 'beard-trim')).toEqual([]);
    expect(salon.knownDates('balayage')).toEqual([WED]);
  });

  it('knows only the staff it saw offering a service, and no phases', () => {
    const salon = learned();
    salon.learnStaff('balayage', { id: 'mei', name: 'Mei Tanaka' });
    salon.learnStaff('balayage', { id: 'mei', name: 'Mei Tanaka' });
    expect(salon.staffFor('balayage')).toEqual([{ id: 'mei', name: 'Mei Tanaka' }]);
    expect(salon.staffFor('beard-trim')).toEqual([]);
    expect(salon.staff('mei tanaka')?.id).toBe('mei');
    expect(salon.busyStretches()).toBeNull();
    expect(longestService(salon.services, true)?.id).toBe('balayage');
  });

  it('calls only certain overlaps double bookings when phases are unknown, and counts the others as unjudged', () => {
    const at = (id: string, service: string, start: string, end: string): ListedAppointment => ({ id, service, staff: 'mei', start, end, status: 'booked' });
    const list = [
      at('a', 'balayage', '2030-01-02T06:30:00+09:00', '2030-01-02T08:20:00+09:00'),
      at('b', 'balayage', '2030-01-02T06:30:00+09:00', '2030-01-02T08:20:00+09:00'),
      at('c', 'beard-trim', '2030-01-02T07:20:00+09:00', '2030-01-02T07:40:00+09:00'),
    ];
    const found = findDoubleBookings(list, learned());
    expect(found.doubleBookings.map((double) => [double.first.id, double.second.id])).toEqual([['a', 'b']]);
    expect(found.unjudged).toBe(2);
    // With the phases known, the beard trim sits in the balayage's processing gap: no overlap at all.
    const known = findDoubleBookings(list, new CatalogSalon(HarnessCatalog.from(kiriCatalogBody), 'catalog'));
    expect(known).toEqual({ doubleBookings: [expect.objectContaining({ staff: 'mei' })], unjudged: 0 });
  });
});

describe('reading the catalog back over the admin API', () => {
  let server: Server;
  let url: string;
  const seen: Array<{ path: string | undefined; authorization: string | undefined }> = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push({ path: request.url, authorization: request.headers.authorization });
      const status = { '/v1/admin/tenants/kiri': 200, '/v1/admin/tenants/old-broker': 405, '/v1/admin/tenants/locked': 401 }[request.url ?? ''] ?? 404;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(status === 200 ? JSON.stringify(readBackBody) : JSON.stringify({ error: { code: status === 401 ? 'UNAUTHORIZED' : 'NOT_FOUND', message: 'no' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('parses a 200 into the whole catalog, sending the admin token', async () => {
    const catalog = await readCatalogBack(url, 'kiri', 'secret');
    expect(seen.at(-1)).toEqual({ path: '/v1/admin/tenants/kiri', authorization: 'Bearer secret' });
    const salon = new CatalogSalon(catalog!, 'admin');
    expect(salon.name).toBe('Kiri Hair Lab');
    expect(salon.timezone).toBe('Asia/Tokyo');
    expect(salon.firstStart(SUN, 'balayage')).toEqual({ time: '07:20', staff: 'mei' });
  });

  it('falls back (null) on 404 and 405, a broker without the read-back', async () => {
    expect(await readCatalogBack(url, 'unknown', 'secret')).toBeNull();
    expect(await readCatalogBack(url, 'old-broker', 'secret')).toBeNull();
  });

  it('fails on any other answer, naming the status', async () => {
    await expect(readCatalogBack(url, 'locked', 'wrong')).rejects.toThrow(/HTTP 401/);
  });
});
