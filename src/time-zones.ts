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
