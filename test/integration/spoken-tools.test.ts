/**
 * Issue 6 through the tools: the forms callers use reach check_availability and
 * book_appointment and come back as the right slot, with the chosen time said aloud.
 * The tool runner runs on real storage with the clock fixed at the incident's moment
 * (Sunday 2025-11-23, 22:04 in Berlin).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '../../machines/call-session.types.js';
import type { ToolRunner } from '../../src/tools/tool-runner.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';
import { toolsOnDemoSalon } from '../fixtures/tool-runner.js';

const NOW = new Date('2025-11-23T21:04:50Z');

describe.each(drivers)('spoken dates, times and services through the tools on %s', (driver) => {
  let database: TestDatabase;
  let tools: ToolRunner;
  let tenantId: string;

  beforeAll(async () => {
    database = await openTestDatabase(driver);
    ({ tools, tenantId } = await toolsOnDemoSalon(database, NOW, 'spoken'));
  });
  afterAll(() => database.close());

  const session = (locale: string): SessionView => ({ sessionId: randomUUID(), tenantId, callId: `c-${randomUUID()}`, locale, callerPhone: '+4915112345678', hold: null, request: null });
  const run = (name: string, args: Record<string, unknown>, view: SessionView) => tools.run({ id: randomUUID(), name, arguments: args, receivedAt: 0 }, view);

  it.each([
    ['Dauerwelle', 'nächster Freitag', 'zehn Uhr', 'de-DE', '2025-11-28T10:00:00+01:00', /Freitag, den 28\. November, um 10 Uhr/],
    ['Dauer Welle', 'Freitag', '10 Uhr', 'de-DE', '2025-11-28T10:00:00+01:00', /10 Uhr/],
    ['dauerwele', 'übermorgen', 'halb elf', 'de', '2025-11-25T10:30:00+01:00', /10:30/],
    ['Herrenschnitt', 'morgen', 'um drei', 'de-AT', '2025-11-24T15:00:00+01:00', /15 Uhr/],
    ['herren schnitt', '28.11.', 'halb drei', 'de-DE', '2025-11-28T14:30:00+01:00', /14:30/],
    ['Herrenschnit', 'am 28.', 'viertel nach zehn', 'de-DE', '2025-11-28T10:15:00+01:00', /10:15/],
    ['Damenschnitt', '28. November', 'viertel vor elf', 'de-DE', '2025-11-28T10:45:00+01:00', /10:45/],
    ['Faerben', 'in vier Tagen', 'drei Uhr nachmittags', 'de-DE', '2025-11-27T15:00:00+01:00', /15 Uhr/],
    ['Färben', 'Freitag nächste Woche', '14 Uhr', 'de-DE', '2025-11-28T14:00:00+01:00', /14 Uhr/],
    ['perm', 'next friday', '4 pm', 'en-US', '2025-11-28T16:00:00+01:00', /Friday, November 28 at 4 pm/],
    ["men's haircut", 'tomorrow', '2 pm', 'en-GB', '2025-11-24T14:00:00+01:00', /2 pm/],
    ['colour', 'on the 28th', 'half past two', 'en', '2025-11-28T14:30:00+01:00', /2:30 in the afternoon/],
    ['women’s haircut', 'November 28', '10 Uhr 30', 'en', '2025-11-28T10:30:00+01:00', /10:30 in the morning/],
  ])('%s / %s / %s (%s) → %s', async (service, date, time, locale, start, said) => {
    const view = session(locale);
    const answer = await run('check_availability', { service, date, time }, view);
    expect(answer.response).toMatchObject({ ok: true, result: { available: true, start } });
    expect(answer.response.result.message).toMatch(said);
    const hold = answer.hold?.kind === 'placed' ? answer.hold.hold : null;
    const booked = await run('book_appointment', { customer_name: 'Siegfried Reu' }, { ...view, hold, request: answer.request ?? null });
    expect(booked.response).toMatchObject({ ok: true, result: { booked: true, appointment: { start } } });
  });

  it('reads "in zwei Wochen" as a closed Sunday and offers alternatives', async () => {
    const answer = await run('check_availability', { service: 'Damenschnitt', date: 'in zwei Wochen', time: '11:00' }, session('de-DE'));
    expect(answer.response).toMatchObject({ ok: true, result: { available: false, reason: 'OUTSIDE_HOURS', alternatives: [{ start: '2025-12-08T11:00:00+01:00' }, {}, {}] } });
  });

  it('books directly from spoken arguments without a hold', async () => {
    const booked = await run('book_appointment', { customer_name: 'Ida', service: 'Herrenschnitt', date: 'Samstag', time: 'elf Uhr' }, session('de-DE'));
    expect(booked.response).toMatchObject({ ok: true, result: { booked: true, appointment: { start: '2025-11-29T11:00:00+01:00' } } });
  });

  it('names both services and asks when a name fits two equally', async () => {
    const answer = await run('check_availability', { service: 'Schnitt', date: 'morgen', time: '10:00' }, session('de-DE'));
    expect(answer.response).toMatchObject({ ok: false, error: { code: 'UNKNOWN_SERVICE' }, result: { candidates: expect.arrayContaining(['herrenschnitt', 'damenschnitt']) } });
    expect(answer.response.result.message).toMatch(/Herrenschnitt/);
    expect(answer.response.result.message).toMatch(/Damenschnitt/);
  });

  it('lists what the salon offers for an unknown service, and names a date it cannot read', async () => {
    const unknown = await run('check_availability', { service: 'Nagelstudio', date: 'morgen', time: '10:00' }, session('de-DE'));
    expect(unknown.response).toMatchObject({ ok: false, error: { code: 'UNKNOWN_SERVICE' } });
    expect(unknown.response.result.message).toMatch(/Dauerwelle/);
    const unreadable = await run('check_availability', { service: 'Dauerwelle', date: 'blau', time: '10:00' }, session('de-DE'));
    expect(unreadable.response).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^date: /) } });
    // What the agent reads aloud is in the call's language, not the developer's error text.
    expect(unreadable.response.result.message).toBe('Entschuldigung, das Datum habe ich nicht richtig verstanden, können Sie es bitte noch einmal sagen?');
    const wrongShape = await run('check_availability', { service: 'Dauerwelle', date: 'morgen', time: { hour: 10 } }, session('de-DE'));
    expect(wrongShape.response.result.message).toBe('Entschuldigung, die Uhrzeit habe ich nicht richtig verstanden, können Sie es bitte noch einmal sagen?');
    const unknownTool = await run('summon_stylist', {}, session('en-US'));
    expect(unknownTool.response).toMatchObject({ ok: false, error: { code: 'UNKNOWN_TOOL' }, result: { message: "Sorry, that's something I can't do for you here." } });
  });
});
