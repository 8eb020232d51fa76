/**
 * Instants read in a tenant's IANA zone, at the cost of arithmetic. luxon asks Intl for a
 * zone's UTC offset at each instant it converts (5–10 µs each, measured), and the broker
 * converts several instants per answer: the hold's start, end and expiry in the result and
 * again in `hold.updated`, the spoken times, "now" for `get_current_context` (issue 14).
 *
 * So the offset is asked of luxon once per zone and UTC hour and reused within that hour
 * when it is the same at the hour's first and last millisecond: no zone changes its offset
 * twice within one hour, so the same offset at both ends means it held all hour. An hour
 * with a change in it is asked of luxon for every instant. The offset is the library's;
 * nothing here knows a zone's rules.
 */
import { DateTime, FixedOffsetZone, IANAZone } from 'luxon';

const HOUR_MS = 3_600_000;
const LIMIT = 50_000;

/** `zone␀hour` → the zone's offset in minutes all that UTC hour, or null when it changes within it. */
const hourOffsets = new Map<string, number | null>();
/** `zone␀offset` → what luxon writes after the seconds for that zone at that offset ("+01:00", "Z"). */
const isoSuffixes = new Map<string, string>();

function remember<V>(map: Map<string, V>, key: string, value: V): V {
  if (map.size >= LIMIT) map.clear();
  map.set(key, value);
  return value;
}

/** The UTC offset of `timezone` at `ms`, in minutes; NaN for a zone luxon does not know. */
export function offsetMinutes(timezone: string, ms: number): number {
  const hour = Math.floor(ms / HOUR_MS);
  const key = `${timezone}\u0000${hour}`;
  let offset = hourOffsets.get(key);
  if (offset === undefined) {
    const zone = IANAZone.create(timezone);
    const first = zone.offset(hour * HOUR_MS);
    offset = remember(hourOffsets, key, first === zone.offset(hour * HOUR_MS + HOUR_MS - 1) ? first : null);
  }
  return offset ?? IANAZone.create(timezone).offset(ms);
}

/**
 * `ms` as a luxon DateTime showing the wall clock of `timezone` then (an invalid one for
 * an unknown zone). Its zone is the fixed offset of that moment, so it is for reading
 * fields and formatting only: arithmetic on it (plus, startOf) would not follow the zone
 * across a change of offset, except calendar arithmetic whose result is read as a date.
 */
export function inZone(ms: number, timezone: string): DateTime<true> | DateTime<false> {
  const offset = offsetMinutes(timezone, ms);
  if (Number.isNaN(offset)) return DateTime.fromMillis(ms, { zone: timezone });
  return DateTime.fromMillis(ms, { zone: FixedOffsetZone.instance(offset) });
}

/** ISO 8601 with the zone's offset at that instant, as luxon's `toISO({ suppressMilliseconds: true })` writes it in that zone. */
export function isoIn(instant: Date | number, timezone: string): string {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  const offset = offsetMinutes(timezone, ms);
  if (Number.isNaN(offset)) return DateTime.fromMillis(ms, { zone: timezone }).toISO({ suppressMilliseconds: true })!;
  const local = DateTime.fromMillis(ms, { zone: FixedOffsetZone.instance(offset) }).toISO({ suppressMilliseconds: true, includeOffset: false })!;
  const key = `${timezone}\u0000${offset}`;
  let suffix = isoSuffixes.get(key);
  if (suffix === undefined) {
    // luxon writes "Z" for its UTC zone and "+00:00" for a zone that is at +00:00 now; ask it once per zone and offset.
    const real = DateTime.fromMillis(ms, { zone: timezone }).toISO({ suppressMilliseconds: true })!;
    suffix = remember(isoSuffixes, key, real.slice(local.length));
  }
  return local + suffix;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/;

/**
 * The instant of a local date and time (`YYYY-MM-DD`, `HH:MM`) in `timezone`, as luxon's
 * `DateTime.fromISO(\`${date}T${time}\`, { zone })` gives it: the same fixed-point search
 * (luxon's `fixOffset`, starting from the zone's offset now) over the offsets above, so a
 * time in a DST gap moves forward and an ambiguous one resolves as luxon resolves it.
 * `exact`: also whether that instant shows the same wall-clock time (false in a gap).
 * NaN for what luxon would not read (an unknown zone, a date that does not exist).
 */
export function localToInstant(date: string, time: string, timezone: string): { ms: number; exact: boolean } {
  const match = DATE_TIME.exec(`${date}T${time}`);
  const now = offsetMinutes(timezone, Date.now());
  if (!match || Number.isNaN(now)) return viaLuxon(date, time, timezone);
  const [year, month, day, hour, minute] = match.slice(1).map(Number) as [number, number, number, number, number];
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const check = new Date(wall);
  if (year < 100 || hour > 23 || minute > 59 || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return viaLuxon(date, time, timezone);
  let guess = wall - now * 60_000;
  const second = offsetMinutes(timezone, guess);
  let ms: number;
  if (second === now) ms = guess;
  else {
    guess -= (second - now) * 60_000;
    const third = offsetMinutes(timezone, guess);
    ms = second === third ? guess : wall - Math.min(second, third) * 60_000;
  }
  return { ms, exact: ms + offsetMinutes(timezone, ms) * 60_000 === wall };
}

function viaLuxon(date: string, time: string, timezone: string): { ms: number; exact: boolean } {
  const local = DateTime.fromISO(`${date}T${time}`, { zone: timezone });
  return { ms: local.toMillis(), exact: local.isValid && local.toFormat('yyyy-MM-dd HH:mm') === `${date} ${time}` };
}
