import { normalizeText, wordsOf } from './normalize.js';
import { wordsToNumbers } from './number-words.js';

/** A local time of day: one `HH:MM` or, when the hour could be morning or evening, two. */
export type TimeResolution =
  | { ok: true; candidates: string[] }
  | { ok: false; reason: string };

/** Which half of the day a caller named ("nachmittags", "pm", "nachts"). */
type Period = 'morning' | 'midday' | 'afternoon' | 'night';

const PERIOD_WORDS: ReadonlyMap<string, Period> = new Map([
  ['am', 'morning'], ['morgens', 'morning'], ['frueh', 'morning'], ['vormittags', 'morning'],
  ['vormittag', 'morning'], ['morning', 'morning'],
  ['mittags', 'midday'], ['mittag', 'midday'], ['noon', 'midday'], ['midday', 'midday'],
  ['nachmittags', 'afternoon'], ['nachmittag', 'afternoon'], ['abends', 'afternoon'],
  ['abend', 'afternoon'], ['pm', 'afternoon'], ['afternoon', 'afternoon'],
  ['evening', 'afternoon'], ['tonight', 'afternoon'],
  ['nachts', 'night'], ['nacht', 'night'], ['night', 'night'], ['mitternacht', 'night'],
  ['midnight', 'night'],
]);

/** Words that name a time on their own. */
const TIME_WORDS: ReadonlyMap<string, string> = new Map([
  ['mittag', '12:00'], ['mittags', '12:00'], ['noon', '12:00'], ['midday', '12:00'],
  ['mitternacht', '00:00'], ['midnight', '00:00'],
]);

const FILLERS: ReadonlySet<string> = new Set([
  'um', 'gegen', 'so', 'ca', 'circa', 'etwa', 'ungefaehr', 'uhr', 'in', 'der', 'bitte',
  'at', 'around', 'about', 'the', 'a', "o'clock", 'oclock', 'please', 'minuten', 'minutes',
]);

/** Minutes that "viertel", "quarter" and "half" stand for in "viertel nach zehn", "half past two". */
const FRACTIONS: ReadonlyMap<string, number> = new Map([
  ['viertel', 15], ['quarter', 15], ['half', 30],
]);
const DIRECTIONS: ReadonlyMap<string, number> = new Map([
  ['nach', 1], ['past', 1], ['after', 1], ['vor', -1], ['to', -1], ['before', -1], ['till', -1],
]);
/** "halb elf" is half an hour before eleven; "viertel elf" and "dreiviertel elf" likewise. */
const BEFORE_HOUR: ReadonlyMap<string, number> = new Map([
  ['halb', 30], ['viertel', 45], ['dreiviertel', 15],
]);

/** A time as read from the words, before morning or afternoon is decided. */
interface Clock {
  hour: number;
  minute: number;
  /** Read on a 12-hour dial ("halb drei", "3 Uhr", "3:30"), so "drei" may be 03:00 or 15:00. */
  twelveHour: boolean;
}

/**
 * Reads a time of day as callers say it: `HH:MM`, "10 Uhr 30", "zehn Uhr", "halb elf",
 * "viertel vor elf", "drei Uhr nachmittags", "2:30 pm", "half past two", "noon".
 * An hour from 1 to 11 without "pm", "nachmittags" and the like could be either half of
 * the day, so both readings come back: 1–6 afternoon first (salons rarely open at 3 am),
 * 7–11 morning first. `HH:MM` with two hour digits is taken as a 24-hour time.
 */
export function resolveTime(expression: string): TimeResolution {
  const words = timeWords(expression);
  if (words.length === 0) return { ok: false, reason: 'no time was given' };
  const period = periodOf(words);
  const rest = wordsToNumbers(words.filter((word) => !PERIOD_WORDS.has(word) && !FILLERS.has(word)));
  const named = rest.length === 0 ? words.map((word) => TIME_WORDS.get(word)).find(Boolean) : undefined;
  if (named) return { ok: true, candidates: [named] };
  const clock = readClock(rest.join(' '));
  if (clock === undefined) {
    return {
      ok: false,
      reason: `could not read '${expression}' as a time of day (expected HH:MM or e.g. '10 Uhr', 'halb drei', '2 pm')`,
    };
  }
  if (typeof clock === 'string') return { ok: false, reason: `'${expression}' is not a time of day: ${clock}` };
  return { ok: true, candidates: candidatesOf(clock, period) };
}

/** Words with "2pm", "p.m." and "10uhr" split and spelled the way the tables know them. */
function timeWords(expression: string): string[] {
  return wordsOf(
    normalizeText(expression)
      .replace(/\b([ap])\.\s?m\b\.?/g, '$1m')
      .replace(/(\d)(am|pm|uhr)\b/g, '$1 $2')
      .replace(/\bam morgen\b/g, 'morgens'),
  );
}

/** German "am" is an article in "am Nachmittag"; alone it is the English "am". */
function periodOf(words: readonly string[]): Period | undefined {
  const named = words.filter((word) => PERIOD_WORDS.has(word));
  const word = named.find((candidate) => candidate !== 'am') ?? named[0];
  return word === undefined ? undefined : PERIOD_WORDS.get(word);
}

/**
 * The clock a phrase names; a reason (a string) when it names a time that is not on the
 * clock ("25:00"); undefined when it is not a time at all.
 */
function readClock(text: string): Clock | string | undefined {
  const written = /^(\d{1,2})[:.](\d{2})$/.exec(text);
  if (written) {
    const [, hour = '', minute = ''] = written;
    return checked(Number(hour), Number(minute), hour.length === 1);
  }
  const spoken = readSpoken(text);
  return spoken && fromSpoken(spoken.hour, spoken.offset);
}

/** A spoken time as the hour it names and the minutes to add to it ("halb elf" = 11 − 30). */
interface Spoken {
  hour: number;
  offset: number;
}

function readSpoken(text: string): Spoken | undefined {
  return readHourAndMinutes(text) ?? readBeforeHour(text) ?? readPastOrTo(text);
}

/** "10", "10 30" (from "zehn Uhr dreißig"). */
function readHourAndMinutes(text: string): Spoken | undefined {
  const [, hour, minutes = '0'] = /^(\d{1,2})(?: (\d{1,2}))?$/.exec(text) ?? [];
  return hour === undefined ? undefined : { hour: Number(hour), offset: Number(minutes) };
}

/** "halb elf", "viertel elf", "dreiviertel elf". */
function readBeforeHour(text: string): Spoken | undefined {
  const [, fraction = '', hour = ''] = /^([a-z]+) (\d{1,2})$/.exec(text) ?? [];
  const minutes = BEFORE_HOUR.get(fraction);
  return minutes === undefined ? undefined : { hour: Number(hour), offset: -minutes };
}

/** "viertel nach zehn", "fünf vor halb drei", "quarter to eleven", "half past two". */
function readPastOrTo(text: string): Spoken | undefined {
  const [, amount = '', direction = '', half, hour = ''] =
    /^(\d{1,2}|[a-z]+) ([a-z]+) (halb )?(\d{1,2})$/.exec(text) ?? [];
  const minutes = FRACTIONS.get(amount) ?? (/^\d+$/.test(amount) ? Number(amount) : undefined);
  const sign = DIRECTIONS.get(direction);
  if (minutes === undefined || minutes >= 60 || sign === undefined) return undefined;
  return { hour: Number(hour), offset: sign * minutes - (half ? 30 : 0) };
}

/** Minutes before an hour on the 12-hour dial wrap to 12 ("halb eins" is 12:30, not 0:30). */
function fromSpoken(hour: number, offset: number): Clock | string {
  if (hour > 24) return `there is no hour ${hour}`;
  if (offset >= 60) return `there is no minute ${offset}`;
  const twelveHour = hour >= 1 && hour <= 12;
  const spoken = hour * 60 + offset;
  const minutes = twelveHour && spoken < 60 ? spoken + 720 : (spoken + 1440) % 1440;
  return checked(Math.floor(minutes / 60), minutes % 60, twelveHour);
}

function checked(hour: number, minute: number, twelveHour: boolean): Clock | string {
  if (hour > 24) return `there is no hour ${hour}`;
  if (minute > 59) return `there is no minute ${minute}`;
  if (hour === 24 && minute > 0) return 'the day ends at 24:00';
  return { hour: hour % 24, minute, twelveHour };
}

function candidatesOf(clock: Clock, period: Period | undefined): string[] {
  const { hour, minute } = clock;
  const onDial = hour >= 1 && hour <= 12;
  if (period !== undefined && onDial) return [formatTime(hourIn(period, hour), minute)];
  if (!clock.twelveHour || hour < 1 || hour > 11) return [formatTime(hour, minute)];
  const readings = [formatTime(hour, minute), formatTime(hour + 12, minute)];
  return hour <= 6 ? readings.reverse() : readings;
}

/** The 24-hour hour for an hour on the 12-hour dial in the named part of the day. */
function hourIn(period: Period, hour: number): number {
  switch (period) {
    case 'morning':
      return hour % 12;
    case 'afternoon':
      return (hour % 12) + 12;
    case 'midday':
      return hour >= 10 ? hour : hour + 12;
    case 'night':
      if (hour === 12) return 0;
      return hour >= 6 ? hour + 12 : hour;
  }
}

function formatTime(hour: number, minute: number): string {
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}
