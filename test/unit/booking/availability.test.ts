import { describe, expect, it } from 'vitest';
import { alternatives, judgeSlot, localInstant } from '../../../src/booking/availability.js';
import { demoCatalog, openEveryDayCatalog } from '../../fixtures/catalogs.js';

const { catalog } = demoCatalog('salon');
const herrenschnitt = catalog.services.find((service) => service.id === 'herrenschnitt')!;
const at = (date: string, time: string) => localInstant(date, time, catalog.timezone)!;
const claim = (staffId: string, date: string, from: string, to: string) => ({ staffId, during: { start: at(date, from), end: at(date, to) } });

describe('choosing a staff member when none was named', () => {
  // Thursday 2030-01-10 and Friday 2030-01-11: both Fabian and Aylin cut men's hair on Friday.
  it('tries first whoever has the least claimed time on that local day, not in the 24 hours around it', () => {
    const claims = [claim('aylin', '2030-01-10', '16:00', '18:00'), claim('fabian', '2030-01-11', '15:00', '15:30')];
    const verdict = judgeSlot({ catalog, service: herrenschnitt, date: '2030-01-11', start: at('2030-01-11', '10:00'), staff: null, now: new Date('2030-01-01T00:00:00Z') }, claims);
    expect(verdict.free && verdict.slots.map((slot) => slot.staff.id)).toEqual(['aylin', 'fabian']);
  });

  it('keeps catalog order when the day is equally free for everyone', () => {
    const verdict = judgeSlot({ catalog, service: herrenschnitt, date: '2030-01-11', start: at('2030-01-11', '10:00'), staff: null, now: new Date('2030-01-01T00:00:00Z') }, []);
    expect(verdict.free && verdict.slots.map((slot) => slot.staff.id)).toEqual(['fabian', 'aylin']);
  });
});

describe('alternatives', () => {
  const dauerwelle = catalog.services.find((service) => service.id === 'dauerwelle')!;
  const fabian = catalog.staff.find((member) => member.id === 'fabian')!;
  const now = new Date('2030-01-01T00:00:00Z');
  const query = (date: string, time: string) => ({ catalog, service: herrenschnitt, date, start: at(date, time), staff: fabian, now });
  const said = (slots: Array<{ staff: { id: string }; start: Date }>) => slots.map((slot) => `${slot.staff.id} ${slot.start.toISOString()}`);

  it('looks past days booked solid, and offers the slot nearest the asked time on the first day with a gap', () => {
    // Fabian is booked from opening to close on Thu 10 and Fri 11 January (Aylin works neither morning: no other staff at 10:00 on Thursday), free on Saturday.
    const claims = [claim('fabian', '2030-01-10', '09:00', '20:00'), claim('fabian', '2030-01-11', '09:00', '18:00'), claim('aylin', '2030-01-10', '09:00', '20:00')];
    const offered = alternatives(query('2030-01-10', '10:00'), claims);
    expect(said(offered)).toEqual([`fabian ${at('2030-01-12', '10:00').toISOString()}`, `fabian ${at('2030-01-14', '10:00').toISOString()}`, `fabian ${at('2030-01-15', '10:00').toISOString()}`]);
  });

  it('fits a service between claims that touch, never across them, and keeps its processing gap free for others', () => {
    // Fabian on Monday 14 January: claimed 09:00–10:00 and 10:00–10:30 (touching), then 10:45–18:00; a men's cut takes 30 minutes.
    const claims = [claim('fabian', '2030-01-14', '09:00', '10:00'), claim('fabian', '2030-01-14', '10:00', '10:30'), claim('fabian', '2030-01-14', '10:45', '18:00')];
    const offered = alternatives(query('2030-01-14', '10:00'), claims);
    // Nothing fits before 10:00 or in the 15 minutes at 10:30; the nearest is the next working day at the asked time.
    expect(said(offered)).toEqual([`fabian ${at('2030-01-15', '10:00').toISOString()}`, `fabian ${at('2030-01-17', '10:00').toISOString()}`, `fabian ${at('2030-01-18', '10:00').toISOString()}`]);
    const freed = alternatives(query('2030-01-14', '10:00'), [...claims.slice(0, 2), claim('fabian', '2030-01-14', '11:00', '18:00')]);
    expect(said(freed)[0]).toBe(`fabian ${at('2030-01-14', '10:30').toISOString()}`);
    // A perm (30 busy, 45 processing, 30 busy) starting 09:45 has Fabian free from 10:15 to 11:00: a claim there does not block it.
    const perm = judgeSlot({ catalog, service: dauerwelle, date: '2030-01-14', start: at('2030-01-14', '09:45'), staff: fabian, now }, [claim('fabian', '2030-01-14', '10:15', '11:00')]);
    expect(perm.free).toBe(true);
  });

  it('asks for the same wall-clock time on the following days, also across a change to summer time', () => {
    // A salon open every day, Fabian its only staff, booked all Saturday 30 March 2030 (CET); on Sunday 31 March the clocks go forward to CEST.
    const everyDay = openEveryDayCatalog('every-day').catalog;
    const onlyFabian = everyDay.staff[0]!;
    const cut = everyDay.services.find((service) => service.id === 'herrenschnitt')!;
    const saturday = localInstant('2030-03-30', '11:00', everyDay.timezone)!;
    expect(saturday.toISOString()).toBe('2030-03-30T10:00:00.000Z');
    const booked = [{ staffId: 'fabian', during: { start: new Date('2030-03-30T08:00:00Z'), end: new Date('2030-03-30T17:00:00Z') } }];
    const offered = alternatives({ catalog: everyDay, service: cut, date: '2030-03-30', start: saturday, staff: onlyFabian, now }, booked);
    expect(said(offered)).toEqual(['fabian 2030-03-31T09:00:00.000Z', 'fabian 2030-04-01T09:00:00.000Z', 'fabian 2030-04-02T09:00:00.000Z']);
  });
});
