import { describe, expect, it } from 'vitest';
import { resolveTime } from '../../../src/language/index.js';

const phrases: Array<[expression: string, candidates: string[]]> = [
  ['10:00', ['10:00']],
  ['09:30', ['09:30']],
  ['14:30', ['14:30']],
  ['10.30 Uhr', ['10:30']],
  ['9:30', ['09:30', '21:30']],
  ['10 Uhr', ['10:00', '22:00']],
  ['10Uhr', ['10:00', '22:00']],
  ['zehn Uhr', ['10:00', '22:00']],
  ['um 10', ['10:00', '22:00']],
  ['10 Uhr 30', ['10:30', '22:30']],
  ['zehn Uhr dreißig', ['10:30', '22:30']],
  ['zehn Uhr dreissig', ['10:30', '22:30']],
  ['elf Uhr', ['11:00', '23:00']],
  ['um sieben', ['07:00', '19:00']],
  ['um drei', ['15:00', '03:00']],
  ['gegen vier', ['16:00', '04:00']],
  ['halb elf', ['10:30', '22:30']],
  ['halb drei', ['14:30', '02:30']],
  ['halb 3', ['14:30', '02:30']],
  ['halb zwölf', ['11:30', '23:30']],
  ['halb eins', ['12:30']],
  ['viertel nach zehn', ['10:15', '22:15']],
  ['viertel vor elf', ['10:45', '22:45']],
  ['dreiviertel elf', ['10:45', '22:45']],
  ['viertel elf', ['10:15', '22:15']],
  ['zehn nach drei', ['15:10', '03:10']],
  ['fünf vor halb drei', ['14:25', '02:25']],
  ['drei Uhr nachmittags', ['15:00']],
  ['um 3 Uhr am Nachmittag', ['15:00']],
  ['halb drei nachmittags', ['14:30']],
  ['neun Uhr morgens', ['09:00']],
  ['um 8 Uhr abends', ['20:00']],
  ['11 Uhr nachts', ['23:00']],
  ['14 Uhr', ['14:00']],
  ['Um 14 Uhr.', ['14:00']],
  ['vierzehn Uhr', ['14:00']],
  ['vierzehn Uhr fünfundvierzig', ['14:45']],
  ['18 Uhr', ['18:00']],
  ['12 Uhr', ['12:00']],
  ['0 Uhr', ['00:00']],
  ['mittags', ['12:00']],
  ['mittags 12', ['12:00']],
  ['um 1 Uhr mittags', ['13:00']],
  ['Mitternacht', ['00:00']],
  ['2 pm', ['14:00']],
  ['2pm', ['14:00']],
  ['2:30 pm', ['14:30']],
  ['2.30 p.m.', ['14:30']],
  ['10 am', ['10:00']],
  ['10:00 pm', ['22:00']],
  ['12 pm', ['12:00']],
  ['12 am', ['00:00']],
  ['half past two', ['14:30', '02:30']],
  ['quarter past ten', ['10:15', '22:15']],
  ['a quarter to eleven', ['10:45', '22:45']],
  ['quarter to eleven', ['10:45', '22:45']],
  ['ten to four', ['15:50', '03:50']],
  ['ten thirty', ['10:30', '22:30']],
  ['two forty-five', ['14:45', '02:45']],
  ["three o'clock in the afternoon", ['15:00']],
  ['at 7 in the evening', ['19:00']],
  ['noon', ['12:00']],
  ['12 noon', ['12:00']],
  ['midnight', ['00:00']],
];

describe('resolveTime', () => {
  it.each(phrases)('%s is %j', (expression, candidates) => {
    expect(resolveTime(expression)).toEqual({ ok: true, candidates });
  });

  it.each([
    ['blau', "'blau'"],
    ['25:00', 'no hour 25'],
    ['10:75', 'no minute 75'],
    ['24:30', '24:00'],
    ['', 'no time'],
    ['halb', "'halb'"],
  ])('rejects %o, naming %s', (expression, named) => {
    const result = resolveTime(expression);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(named);
  });
});
