import { describe, expect, it } from 'vitest';
import { judgeSlot, localInstant } from '../../../src/booking/availability.js';
import { demoCatalog } from '../../fixtures/catalogs.js';

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
