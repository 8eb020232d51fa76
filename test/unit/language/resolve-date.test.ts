import { describe, expect, it } from 'vitest';
import { resolveDate, type Reference } from '../../../src/language/index.js';

const berlin = (iso: string): Reference => ({ now: new Date(iso), timezone: 'Europe/Berlin' });

/** Sunday 2025-11-23, 22:04 in Berlin (ISO week 47 ends today). */
const SUNDAY = berlin('2025-11-23T21:04:50Z');
/** Monday 2025-11-24, 11:00 in Berlin. */
const MONDAY = berlin('2025-11-24T10:00:00Z');
/** Friday 2025-11-28, 09:00 in Berlin. */
const FRIDAY = berlin('2025-11-28T08:00:00Z');
/** Tuesday 2025-12-30, 11:00 in Berlin: the turn of the year is two days away. */
const DECEMBER_30 = berlin('2025-12-30T10:00:00Z');
/** Saturday 2026-03-28, 23:30 CET: clocks go forward tonight. */
const BEFORE_SPRING_CHANGE = berlin('2026-03-28T22:30:00Z');
/** Monday 2026-03-30, 00:30 CEST, while it is still the 29th in UTC. */
const AFTER_SPRING_CHANGE = berlin('2026-03-29T22:30:00Z');
/** Saturday 2025-10-25, 23:30 CEST: clocks go back tonight. */
const BEFORE_AUTUMN_CHANGE = berlin('2025-10-25T21:30:00Z');
/** Sunday 2025-10-26, 00:30 CEST (the change day), while it is still the 25th in UTC. */
const AUTUMN_CHANGE_DAY = berlin('2025-10-25T22:30:00Z');
/** Sunday 2025-11-23, 22:00 in New York, already Monday in UTC. */
const NEW_YORK_EVENING: Reference = { now: new Date('2025-11-24T03:00:00Z'), timezone: 'America/New_York' };

const phrases: Array<[expression: string, reference: Reference, date: string]> = [
  ['2025-11-28', SUNDAY, '2025-11-28'],
  ['2026-01-15', SUNDAY, '2026-01-15'],
  ['heute', SUNDAY, '2025-11-23'],
  ['Heute', SUNDAY, '2025-11-23'],
  ['morgen', SUNDAY, '2025-11-24'],
  ['für morgen', SUNDAY, '2025-11-24'],
  ['übermorgen', SUNDAY, '2025-11-25'],
  ['uebermorgen', SUNDAY, '2025-11-25'],
  ['Übermorgen.', SUNDAY, '2025-11-25'],
  ['Freitag', SUNDAY, '2025-11-28'],
  ['am Freitag', SUNDAY, '2025-11-28'],
  ['diesen Freitag', SUNDAY, '2025-11-28'],
  ['Montag', SUNDAY, '2025-11-24'],
  ['Sonntag', SUNDAY, '2025-11-23'],
  ['Sonnabend', SUNDAY, '2025-11-29'],
  ['nächster Freitag', SUNDAY, '2025-11-28'],
  ['nächsten Freitag', SUNDAY, '2025-11-28'],
  ['naechsten Freitag', SUNDAY, '2025-11-28'],
  ['kommenden Freitag', SUNDAY, '2025-11-28'],
  ['nächsten Sonntag', SUNDAY, '2025-11-30'],
  ['Freitag nächste Woche', SUNDAY, '2025-11-28'],
  ['Freitag nächster Woche', SUNDAY, '2025-11-28'],
  ['nächste Woche Montag', SUNDAY, '2025-11-24'],
  ['in zwei Wochen', SUNDAY, '2025-12-07'],
  ['in 2 Wochen', SUNDAY, '2025-12-07'],
  ['in drei Tagen', SUNDAY, '2025-11-26'],
  ['in einer Woche', SUNDAY, '2025-11-30'],
  ['in einem Monat', SUNDAY, '2025-12-23'],
  ['am 28.', SUNDAY, '2025-11-28'],
  ['am 23.', SUNDAY, '2025-11-23'],
  ['am 22.', SUNDAY, '2025-12-22'],
  ['am 31.', SUNDAY, '2025-12-31'],
  ['28.11.', SUNDAY, '2025-11-28'],
  ['28.11.2025', SUNDAY, '2025-11-28'],
  ['28.11.25', SUNDAY, '2025-11-28'],
  ['28. November', SUNDAY, '2025-11-28'],
  ['am 28. November', SUNDAY, '2025-11-28'],
  ['Freitag, den 28. November', SUNDAY, '2025-11-28'],
  ['1. Dezember', SUNDAY, '2025-12-01'],
  ['23. November', SUNDAY, '2025-11-23'],
  ['22. November', SUNDAY, '2026-11-22'],
  ['15. März', SUNDAY, '2026-03-15'],
  ['15. Maerz', SUNDAY, '2026-03-15'],
  ['today', SUNDAY, '2025-11-23'],
  ['tomorrow', SUNDAY, '2025-11-24'],
  ['day after tomorrow', SUNDAY, '2025-11-25'],
  ['the day after tomorrow', SUNDAY, '2025-11-25'],
  ['friday', SUNDAY, '2025-11-28'],
  ['on Friday', SUNDAY, '2025-11-28'],
  ['next friday', SUNDAY, '2025-11-28'],
  ['sunday', SUNDAY, '2025-11-23'],
  ['next sunday', SUNDAY, '2025-11-30'],
  ['on the 28th', SUNDAY, '2025-11-28'],
  ['the 1st', SUNDAY, '2025-12-01'],
  ['November 28', SUNDAY, '2025-11-28'],
  ['Nov. 28th, 2025', SUNDAY, '2025-11-28'],
  ['28 November', SUNDAY, '2025-11-28'],
  ['28th of November', SUNDAY, '2025-11-28'],
  ['December 3rd', SUNDAY, '2025-12-03'],
  ['in two weeks', SUNDAY, '2025-12-07'],
  ['in 3 days', SUNDAY, '2025-11-26'],
  ['in a week', SUNDAY, '2025-11-30'],

  ['nächster Freitag', MONDAY, '2025-11-28'],
  ['Freitag nächste Woche', MONDAY, '2025-12-05'],
  ['friday next week', MONDAY, '2025-12-05'],
  ['next week friday', MONDAY, '2025-12-05'],

  ['Freitag', FRIDAY, '2025-11-28'],
  ['friday', FRIDAY, '2025-11-28'],
  ['nächster Freitag', FRIDAY, '2025-12-05'],
  ['nächsten Freitag', FRIDAY, '2025-12-05'],
  ['kommenden Freitag', FRIDAY, '2025-12-05'],
  ['next friday', FRIDAY, '2025-12-05'],
  ['Freitag nächste Woche', FRIDAY, '2025-12-05'],
  ['Donnerstag', FRIDAY, '2025-12-04'],
  ['am 27.', FRIDAY, '2025-12-27'],
  ['in zwei Wochen', FRIDAY, '2025-12-12'],

  ['am 2.', DECEMBER_30, '2026-01-02'],
  ['3. Januar', DECEMBER_30, '2026-01-03'],
  ['3.1.', DECEMBER_30, '2026-01-03'],
  ['January 3rd', DECEMBER_30, '2026-01-03'],
  ['31. Dezember', DECEMBER_30, '2025-12-31'],
  ['29.12.', DECEMBER_30, '2026-12-29'],
  ['on the 30th', DECEMBER_30, '2025-12-30'],
  ['übermorgen', DECEMBER_30, '2026-01-01'],
  ['in drei Tagen', DECEMBER_30, '2026-01-02'],
  ['nächsten Montag', DECEMBER_30, '2026-01-05'],
  ['Freitag nächste Woche', DECEMBER_30, '2026-01-09'],

  ['heute', BEFORE_SPRING_CHANGE, '2026-03-28'],
  ['morgen', BEFORE_SPRING_CHANGE, '2026-03-29'],
  ['tomorrow', BEFORE_SPRING_CHANGE, '2026-03-29'],
  ['übermorgen', BEFORE_SPRING_CHANGE, '2026-03-30'],
  ['Sonntag', BEFORE_SPRING_CHANGE, '2026-03-29'],
  ['heute', AFTER_SPRING_CHANGE, '2026-03-30'],
  ['morgen', AFTER_SPRING_CHANGE, '2026-03-31'],
  ['heute', BEFORE_AUTUMN_CHANGE, '2025-10-25'],
  ['morgen', BEFORE_AUTUMN_CHANGE, '2025-10-26'],
  ['in einer Woche', BEFORE_AUTUMN_CHANGE, '2025-11-01'],
  ['heute', AUTUMN_CHANGE_DAY, '2025-10-26'],
  ['morgen', AUTUMN_CHANGE_DAY, '2025-10-27'],
  ['Sonntag', AUTUMN_CHANGE_DAY, '2025-10-26'],
  ['today', NEW_YORK_EVENING, '2025-11-23'],
  ['tomorrow', NEW_YORK_EVENING, '2025-11-24'],
];

describe('resolveDate', () => {
  it.each(phrases)('%s (now %o) is %s', (expression, reference, date) => {
    expect(resolveDate(expression, reference)).toEqual({ ok: true, date });
  });

  it.each([
    ['blau', "'blau'"],
    ['', 'no date'],
    ['31.11.', "'31.11.'"],
    ['30. Februar', "'30. Februar'"],
    ['2025-02-30', '2025-02-30'],
    ['letzten Freitag', "'letzten Freitag'"],
    ['Mittwoch, den 28. November', 'is a Friday, not a Wednesday'],
  ])('rejects %o, naming %s', (expression, named) => {
    const result = resolveDate(expression, SUNDAY);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(named);
  });

  it('rejects an unknown time zone instead of guessing one', () => {
    const result = resolveDate('morgen', { now: SUNDAY.now, timezone: 'Mars/Olympus' });
    expect(result).toEqual({ ok: false, reason: "unknown time zone 'Mars/Olympus'" });
  });
});
