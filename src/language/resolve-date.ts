import { DateTime, Info, type WeekdayNumbers } from 'luxon';
import { inZone } from '../time-zones.js';
import { wordsOf } from './normalize.js';
import { wordsToNumbers } from './number-words.js';

/** Reference point for relative expressions: the current instant and the tenant's IANA zone. */
export interface Reference {
  now: Date;
  timezone: string;
}

/** A calendar date `YYYY-MM-DD`, or an English reason naming what was not understood. */
export type DateResolution = { ok: true; date: string } | { ok: false; reason: string };

/** Words that add nothing to a date: "am Freitag", "on the 28th", "diesen Freitag", "für morgen". */
const FILLERS: ReadonlySet<string> = new Set([
  'am', 'den', 'der', 'dem', 'diesen', 'dieser', 'diese', 'diesem', 'fuer', 'bitte',
  'on', 'the', 'this', 'of', 'for', 'please',
]);

const WEEKDAYS: ReadonlyMap<string, WeekdayNumbers> = new Map([
  ['montag', 1], ['dienstag', 2], ['mittwoch', 3], ['donnerstag', 4], ['freitag', 5],
  ['samstag', 6], ['sonnabend', 6], ['sonntag', 7],
  ['monday', 1], ['tuesday', 2], ['wednesday', 3], ['thursday', 4], ['friday', 5],
  ['saturday', 6], ['sunday', 7],
]);

/** Names and abbreviations of each month, January first. */
const MONTHS: ReadonlyMap<string, number> = new Map(
  [
    'januar january jan jaenner', 'februar february feb', 'maerz marz march mar', 'april apr',
    'mai may', 'juni june jun', 'juli july jul', 'august aug', 'september sept sep',
    'oktober october okt oct', 'november nov', 'dezember december dez dec',
  ].flatMap((names, index) => names.split(' ').map((name): [string, number] => [name, index + 1])),
);

const DAYS_FROM_TODAY: ReadonlyMap<string, number> = new Map([
  ['heute', 0], ['today', 0], ['morgen', 1], ['tomorrow', 1],
  ['uebermorgen', 2], ['ueber morgen', 2], ['day after tomorrow', 2],
]);

/** "nächster Freitag", "kommenden Freitag", "next friday": strictly after today. */
const NEXT: ReadonlySet<string> = new Set([
  'naechste', 'naechster', 'naechsten', 'naechstem', 'kommende', 'kommender', 'kommenden',
  'kommendem', 'next', 'coming',
]);
const WEEK: ReadonlySet<string> = new Set(['woche', 'week']);

const UNITS: ReadonlyMap<string, 'days' | 'weeks' | 'months'> = new Map([
  ['tag', 'days'], ['tage', 'days'], ['tagen', 'days'], ['day', 'days'], ['days', 'days'],
  ['woche', 'weeks'], ['wochen', 'weeks'], ['week', 'weeks'], ['weeks', 'weeks'],
  ['monat', 'months'], ['monate', 'months'], ['monaten', 'months'], ['month', 'months'],
  ['months', 'months'],
]);

type Day = DateTime<true>;

/**
 * Reads a date as callers say it, relative to the local date of `ref.now` in
 * `ref.timezone`: `YYYY-MM-DD`, "heute", "übermorgen", "Freitag" (today if today is a
 * Friday), "nächster Freitag" (strictly after today), "Freitag nächste Woche" (in the next
 * ISO week), "in zwei Wochen", "am 28." (the next 28th), "28.11.", "28. November",
 * "Freitag, den 28. November", and the English forms ("next friday", "on the 28th",
 * "November 28"). A date without a year that has passed this year means next year.
 */
export function resolveDate(expression: string, ref: Reference): DateResolution {
  // Only the local calendar date is used, and all arithmetic below is calendar arithmetic, so the fixed offset of `now` serves.
  const local = inZone(ref.now.getTime(), ref.timezone);
  if (!local.isValid) return { ok: false, reason: `unknown time zone '${ref.timezone}'` };
  const today = local.startOf('day');
  const words = wordsToNumbers(wordsOf(expression).filter((word) => !FILLERS.has(word)));
  if (words.length === 0) return { ok: false, reason: 'no date was given' };
  const found =
    isoDate(words) ??
    daysFromToday(words, today) ??
    inDuration(words, today) ??
    weekdayDate(words, today) ??
    calendarDate(words, today, expression);
  return (
    found ?? {
      ok: false,
      reason: `could not read '${expression}' as a date (expected YYYY-MM-DD or e.g. 'morgen', 'nächster Freitag', '28. November')`,
    }
  );
}

function resolved(day: Day): DateResolution {
  return { ok: true, date: day.toISODate() };
}

function isoDate(words: readonly string[]): DateResolution | undefined {
  const [word = ''] = words;
  if (words.length !== 1 || !/^\d{4}-\d{2}-\d{2}$/.test(word)) return undefined;
  const day = DateTime.fromISO(word, { zone: 'utc' });
  return day.isValid ? resolved(day) : { ok: false, reason: `${word} is not a calendar date` };
}

function daysFromToday(words: readonly string[], today: Day): DateResolution | undefined {
  const days = DAYS_FROM_TODAY.get(words.join(' '));
  return days === undefined ? undefined : resolved(today.plus({ days }));
}

/** "in zwei Wochen", "in 3 Tagen", "in a week". */
function inDuration(words: readonly string[], today: Day): DateResolution | undefined {
  const [preposition, amount = '', unitWord = ''] = words;
  const unit = UNITS.get(unitWord);
  const count = ['a', 'an'].includes(amount) ? 1 : /^\d+$/.test(amount) ? Number(amount) : undefined;
  if (words.length !== 3 || preposition !== 'in' || unit === undefined || count === undefined) {
    return undefined;
  }
  return resolved(today.plus({ [unit]: count }));
}

/** "Freitag", "nächsten Freitag", "Freitag nächste Woche", "next week friday". */
function weekdayDate(words: readonly string[], today: Day): DateResolution | undefined {
  const phrase = words.filter((word) => word !== 'in');
  const [first = '', second = '', third = ''] = phrase;
  switch (phrase.length) {
    case 1:
      return onWeekday(today, WEEKDAYS.get(first), 'coming');
    case 2:
      return NEXT.has(first) ? onWeekday(today, WEEKDAYS.get(second), 'next') : undefined;
    case 3:
      if (NEXT.has(second) && WEEK.has(third)) return onWeekday(today, WEEKDAYS.get(first), 'next-week');
      if (NEXT.has(first) && WEEK.has(second)) return onWeekday(today, WEEKDAYS.get(third), 'next-week');
      return undefined;
    default:
      return undefined;
  }
}

/**
 * `coming`: today or later, because a caller naming today's weekday means today;
 * `next`: strictly after today; `next-week`: that day of the next ISO (Monday) week.
 */
function onWeekday(
  today: Day,
  weekday: WeekdayNumbers | undefined,
  which: 'coming' | 'next' | 'next-week',
): DateResolution | undefined {
  if (weekday === undefined) return undefined;
  if (which === 'next-week') {
    return resolved(today.startOf('week').plus({ weeks: 1, days: weekday - 1 }));
  }
  const ahead = (weekday - today.weekday + 7) % 7;
  return resolved(today.plus({ days: ahead === 0 && which === 'next' ? 7 : ahead }));
}

/** A day of the month, optionally with month and year, optionally led by its weekday. */
interface CalendarWords {
  day: number;
  month?: number;
  year?: number;
}

function calendarDate(words: readonly string[], today: Day, expression: string): DateResolution | undefined {
  const [first = ''] = words;
  const weekday = WEEKDAYS.get(first);
  const rest = weekday === undefined ? words : words.slice(1);
  const calendar = readCalendar(rest);
  if (calendar === undefined) return undefined;
  const day = dayOf(calendar, today);
  if (day === undefined) return { ok: false, reason: `'${expression}' is not a calendar date` };
  if (weekday !== undefined && day.weekday !== weekday) {
    const names = Info.weekdays('long', { locale: 'en' });
    return {
      ok: false,
      reason: `${day.toISODate()} is a ${names[day.weekday - 1]}, not a ${names[weekday - 1]}`,
    };
  }
  return resolved(day);
}

/** "28.11.", "28.11.2025", "28. November", "November 28th 2025", "28.", "28th". */
function readCalendar(words: readonly string[]): CalendarWords | undefined {
  const [first = '', second = '', third] = words;
  if (words.length === 1) {
    const numeric = /^(\d{1,2})\.(\d{1,2})(?:\.(\d{4}|\d{2})?)?$/.exec(first);
    if (numeric) return { day: Number(numeric[1]), month: Number(numeric[2]), year: yearOf(numeric[3]) };
    const day = dayOfMonth(first);
    return day === undefined ? undefined : { day };
  }
  if (words.length > 3 || (third !== undefined && !/^\d{4}$/.test(third))) return undefined;
  const year = yearOf(third);
  const dayFirst = dayOfMonth(first);
  const monthSecond = MONTHS.get(second);
  if (dayFirst !== undefined && monthSecond !== undefined) return { day: dayFirst, month: monthSecond, year };
  const monthFirst = MONTHS.get(first);
  const daySecond = dayOfMonth(second);
  if (monthFirst !== undefined && daySecond !== undefined) return { day: daySecond, month: monthFirst, year };
  return undefined;
}

function dayOfMonth(word: string): number | undefined {
  const match = /^(\d{1,2})(?:\.|st|nd|rd|th)?$/.exec(word);
  return match ? Number(match[1]) : undefined;
}

function yearOf(digits: string | undefined): number | undefined {
  if (digits === undefined) return undefined;
  return digits.length === 2 ? 2000 + Number(digits) : Number(digits);
}

/**
 * The date the words mean: with a year, exactly that; without, the first such date that is
 * today or later (this year or next; with only a day, this month or one of the next twelve).
 */
function dayOf(calendar: CalendarWords, today: Day): Day | undefined {
  const { day, month, year } = calendar;
  const candidates =
    year !== undefined && month !== undefined ? [{ year, month, day }]
    : month !== undefined ? [0, 1].map((ahead) => ({ year: today.year + ahead, month, day }))
    : Array.from({ length: 13 }, (_, ahead) => {
        const start = today.startOf('month').plus({ months: ahead });
        return { year: start.year, month: start.month, day };
      });
  for (const candidate of candidates) {
    const date = DateTime.fromObject(candidate, { zone: today.zone });
    if (date.isValid && (year !== undefined || date >= today)) return date;
  }
  return undefined;
}
