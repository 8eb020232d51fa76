import { Info, type DateTime } from 'luxon';
import type { Language } from './language.js';
import { inZone } from '../time-zones.js';

/** An offered or held slot as the caller hears it. */
export interface SpokenSlot {
  start: Date;
  staffName: string;
}

/** Why a requested slot cannot be held (PROTOCOL §4 `check_availability`). */
export type UnavailableReason = 'SLOT_TAKEN' | 'OUTSIDE_HOURS' | 'IN_THE_PAST';
/** Why `book_appointment` could not book (PROTOCOL §4). */
export type BookingFailure = 'SLOT_TAKEN' | 'NO_HOLD';

/**
 * Weekday, date and time the way people say them: "Freitag, den 28. November, um 10 Uhr",
 * "um 10:30 Uhr", "um 14 Uhr" / "Friday, November 28 at 10 am", "at 2:30 pm".
 * `start` is an instant, shown in the IANA zone `timezone`.
 */
export function sayWhen(language: Language, start: Date, timezone: string): string {
  return when(language, local(start, timezone), false);
}

/**
 * The sentences `result.message` carries (PROTOCOL §3): each is one sentence a voice agent
 * can read aloud as is, in German (Sie-form, as a salon receptionist speaks) or English.
 */
export interface Messages {
  /**
   * The slot is free and held. With `chosenTimeNote` the time also names its part of the
   * day, because the caller's hour was ambiguous and the broker chose one reading.
   */
  available(l: Language, service: string, slot: SpokenSlot, tz: string, chosenTimeNote?: boolean): string;
  /** Why the slot cannot be had, then up to three alternatives or that none came up in the next 14 days. */
  unavailable(
    l: Language,
    reason: UnavailableReason,
    service: string,
    requestedStart: Date | null,
    alternatives: readonly SpokenSlot[],
    tz: string,
  ): string;
  booked(l: Language, service: string, slot: SpokenSlot, tz: string): string;
  /** Booking failed; offers the alternatives or asks for another time. */
  bookingFailed(l: Language, code: BookingFailure, alternatives: readonly SpokenSlot[], tz: string): string;
  released(l: Language, released: boolean): string;
  cancelled(l: Language, service: string, start: Date, tz: string): string;
  appointmentNotFound(l: Language): string;
  /** Lists what the salon offers. */
  unknownService(l: Language, offered: readonly string[]): string;
  /** Names the candidates and asks which one. */
  ambiguousService(l: Language, candidates: readonly string[]): string;
  unknownStaff(l: Language, staff: readonly string[]): string;
  customerKnown(l: Language, name: string, upcomingCount: number): string;
  customerUnknown(l: Language): string;
  servicesList(l: Language, names: readonly string[]): string;
  /** Storage is down: apologise and ask to try again in a moment. */
  unavailableStorage(l: Language): string;
  /** A tool was asked for in a call that is over already (an HTTP runtime's late request). */
  callEnded(l: Language): string;
  /** A tool argument could not be read (`argument` is its name, when known): ask again. */
  notUnderstood(l: Language, argument?: string): string;
  /** The runtime asked for a tool the broker does not have. */
  cannotDoThat(l: Language): string;
}

/** The German and English wording of every spoken result; see {@link Messages}. */
export const messages: Messages = {
  available(l, service, slot, tz, chosenTimeNote = false) {
    const at = when(l, local(slot.start, tz), chosenTimeNote);
    return l === 'de'
      ? `Am ${at} ist bei ${slot.staffName} ein Termin für ${service} frei, ich halte ihn kurz für Sie fest, soll ich ihn verbindlich buchen?`
      : `There's a free slot for ${service} with ${slot.staffName} on ${at} and I'm holding it for you, shall I book it?`;
  },

  unavailable(l, reason, service, requestedStart, alternatives, tz) {
    const at = requestedStart && sayWhen(l, requestedStart, tz);
    const problem = unavailableProblem(l, reason, service, at);
    const offer = offerAlternatives(l, alternatives, tz, requestedStart);
    if (offer) return `${problem}${offer}`;
    return l === 'de'
      ? `${problem}, und in den nächsten 14 Tagen ist auch sonst kein Termin frei.`
      : `${problem}, and I couldn't find another free slot in the next 14 days.`;
  },

  booked(l, service, slot, tz) {
    const at = sayWhen(l, slot.start, tz);
    return l === 'de'
      ? `Ihr Termin für ${service} am ${at} bei ${slot.staffName} ist gebucht, wir freuen uns auf Sie.`
      : `You're booked for ${service} with ${slot.staffName} on ${at}, we look forward to seeing you.`;
  },

  bookingFailed(l, code, alternatives, tz) {
    const problem = BOOKING_FAILURES[l][code];
    const offer = offerAlternatives(l, alternatives, tz, null);
    if (offer) return `${problem}${offer}`;
    return l === 'de'
      ? `${problem}, welcher andere Termin würde Ihnen passen?`
      : `${problem}, which other time would suit you?`;
  },

  released(l, released) {
    if (l === 'de') {
      return released
        ? 'Ich habe den reservierten Termin wieder freigegeben.'
        : 'Für Sie war gerade kein Termin reserviert.';
    }
    return released ? "I've released the slot I was holding for you." : "I wasn't holding a slot for you.";
  },

  cancelled(l, service, start, tz) {
    const at = sayWhen(l, start, tz);
    return l === 'de'
      ? `Ich habe Ihren Termin für ${service} am ${at} storniert.`
      : `I've cancelled your ${service} appointment on ${at}.`;
  },

  appointmentNotFound(l) {
    return l === 'de'
      ? 'Unter Ihrer Telefonnummer habe ich leider keinen passenden Termin gefunden.'
      : "Sorry, I couldn't find a matching appointment under your phone number.";
  },

  unknownService(l, offered) {
    const problem = l === 'de' ? 'Das bieten wir leider nicht an' : "Sorry, we don't offer that";
    if (offered.length === 0) return `${problem}.`;
    const list = joinList(l, offered, 'conjunction');
    return l === 'de' ? `${problem}, bei uns gibt es ${list}.` : `${problem}, we have ${list}.`;
  },

  ambiguousService(l, candidates) {
    const list = joinList(l, candidates, 'disjunction');
    return l === 'de' ? `Meinen Sie ${list}?` : `Did you mean ${list}?`;
  },

  unknownStaff(l, staff) {
    const problem =
      l === 'de' ? 'Diesen Namen kenne ich in unserem Team leider nicht' : "Sorry, I don't know that name on our team";
    if (staff.length === 0) return `${problem}.`;
    const list = joinList(l, staff, 'disjunction');
    return l === 'de' ? `${problem}, Sie können bei ${list} buchen.` : `${problem}, you can book with ${list}.`;
  },

  customerKnown(l, name, upcomingCount) {
    if (l === 'de') {
      const upcoming =
        ['keinen anstehenden Termin', 'einen anstehenden Termin'][upcomingCount] ??
        `${upcomingCount} anstehende Termine`;
      return `Schön, von Ihnen zu hören, ${name}, Sie haben bei uns ${upcoming}.`;
    }
    const upcoming =
      ['no upcoming appointments', 'one upcoming appointment'][upcomingCount] ??
      `${upcomingCount} upcoming appointments`;
    return `Good to hear from you, ${name}, you have ${upcoming} with us.`;
  },

  customerUnknown(l) {
    return l === 'de'
      ? 'Unter dieser Nummer habe ich Sie noch nicht bei uns gefunden, auf welchen Namen darf ich den Termin eintragen?'
      : "I don't have you on file under this number yet, what name shall I put the appointment under?";
  },

  servicesList(l, names) {
    if (names.length === 0) {
      return l === 'de'
        ? 'Im Moment können wir leider keine Leistungen anbieten.'
        : 'Sorry, we have no services to offer at the moment.';
    }
    const list = joinList(l, names, 'conjunction');
    return l === 'de' ? `Wir bieten ${list} an.` : `We offer ${list}.`;
  },

  callEnded(l) {
    return l === 'de' ? 'Dieses Gespräch ist bereits beendet.' : 'This call has already ended.';
  },
  unavailableStorage(l) {
    return l === 'de'
      ? 'Entschuldigung, unser Buchungssystem ist gerade nicht erreichbar, bitte versuchen Sie es gleich noch einmal.'
      : 'Sorry, our booking system is not reachable right now, please try again in a moment.';
  },

  notUnderstood(l, argument) {
    const what = (argument && ARGUMENTS_SPOKEN[l][argument]) ?? (l === 'de' ? 'das' : 'that');
    return l === 'de'
      ? `Entschuldigung, ${what} habe ich nicht richtig verstanden, können Sie es bitte noch einmal sagen?`
      : `Sorry, I didn't quite catch ${what}, could you say it again?`;
  },

  cannotDoThat(l) {
    return l === 'de' ? 'Entschuldigung, das kann ich hier leider nicht für Sie erledigen.' : "Sorry, that's something I can't do for you here.";
  },
};

/** Tool arguments as a receptionist would name them when asking again. */
const ARGUMENTS_SPOKEN: Readonly<Record<Language, Readonly<Record<string, string>>>> = {
  de: {
    service: 'die gewünschte Leistung',
    date: 'das Datum',
    time: 'die Uhrzeit',
    staff: 'bei wem Sie den Termin möchten',
    customer_name: 'Ihren Namen',
    phone: 'die Telefonnummer',
    appointment_id: 'welchen Termin Sie meinen',
  },
  en: {
    service: 'which service you would like',
    date: 'the date',
    time: 'the time',
    staff: 'who you would like to see',
    customer_name: 'your name',
    phone: 'the phone number',
    appointment_id: 'which appointment you mean',
  },
};

const BOOKING_FAILURES: Readonly<Record<Language, Record<BookingFailure, string>>> = {
  de: {
    SLOT_TAKEN: 'Dieser Termin wurde leider gerade vergeben',
    NO_HOLD: 'Ich halte leider gerade keinen Termin mehr für Sie',
  },
  en: {
    SLOT_TAKEN: 'Sorry, that slot has just been taken',
    NO_HOLD: "Sorry, I'm no longer holding a slot for you",
  },
};

/** The first half of the `unavailable` sentence; `at` is null when no start was asked for. */
function unavailableProblem(l: Language, reason: UnavailableReason, service: string, at: string | null): string {
  if (l === 'de') {
    const when = at ? `Am ${at}` : 'Zu dieser Zeit';
    switch (reason) {
      case 'SLOT_TAKEN':
        return `${when} ist für ${service} leider schon alles belegt`;
      case 'OUTSIDE_HOURS':
        return `${when} passt ein Termin für ${service} leider nicht in unsere Öffnungszeiten`;
      case 'IN_THE_PAST':
        return `${at ? `Der Termin am ${at}` : 'Dieser Zeitpunkt'} liegt leider schon in der Vergangenheit`;
    }
  }
  switch (reason) {
    case 'SLOT_TAKEN':
      return `Sorry, ${at ?? 'that time'} is already taken for ${service}`;
    case 'OUTSIDE_HOURS':
      return `Sorry, ${service} ${at ? `on ${at}` : 'at that time'} doesn't fit into our opening hours`;
    case 'IN_THE_PAST':
      return `Sorry, ${at ?? 'that time'} has already passed`;
  }
}

/**
 * ", frei wäre aber noch um 11 Uhr oder am Samstag, …" for up to three alternatives, or
 * undefined when there are none. A slot on the day just mentioned is named by its time
 * alone; staff are named only when the alternatives are with different people.
 */
function offerAlternatives(
  l: Language,
  alternatives: readonly SpokenSlot[],
  tz: string,
  requestedStart: Date | null,
): string | undefined {
  const shown = alternatives.slice(0, 3);
  if (shown.length === 0) return undefined;
  const withStaff = new Set(shown.map((slot) => slot.staffName)).size > 1;
  const phrases = shown.map((slot, index) => {
    const previous = index === 0 ? requestedStart : (shown[index - 1]?.start ?? null);
    const start = local(slot.start, tz);
    const sameDay = previous !== null && local(previous, tz).toISODate() === start.toISODate();
    const at = sameDay ? clock(l, start, false) : `${l === 'de' ? 'am' : 'on'} ${when(l, start, false)}`;
    return withStaff ? `${at} ${l === 'de' ? 'bei' : 'with'} ${slot.staffName}` : at;
  });
  const list = joinList(l, phrases, 'disjunction');
  return l === 'de' ? `, frei wäre aber noch ${list}.` : `, but there's still a free slot ${list}.`;
}

function local(instant: Date, timezone: string): DateTime<true> {
  const time = inZone(instant.getTime(), timezone);
  if (!time.isValid) throw new RangeError(`cannot show ${instant.toISOString()} in time zone '${timezone}'`);
  return time;
}

/** "Freitag, den 28. November, um 10 Uhr" / "Friday, November 28 at 10 am". */
function when(l: Language, time: DateTime<true>, explicitPeriod: boolean): string {
  const { weekday, month } = namesOf(l);
  return l === 'de'
    ? `${weekday[time.weekday - 1]}, den ${time.day}. ${month[time.month - 1]}, ${clock(l, time, explicitPeriod)}`
    : `${weekday[time.weekday - 1]}, ${month[time.month - 1]} ${time.day} ${clock(l, time, explicitPeriod)}`;
}

/** Weekday and month names (luxon's `cccc` and `LLLL`), asked of Intl once per language rather than per sentence. */
const names = new Map<Language, { weekday: string[]; month: string[] }>();
function namesOf(l: Language) {
  let known = names.get(l);
  if (!known) names.set(l, (known = { weekday: Info.weekdays('long', { locale: l }), month: Info.months('long', { locale: l }) }));
  return known;
}

/**
 * "um 10 Uhr", "um 14:30 Uhr" / "at 10 am", "at 2:30 pm". With `explicitPeriod` the part of
 * the day is said too ("um 14:30 Uhr nachmittags", "at 2:30 in the afternoon"), so a
 * caller who said "halb drei" hears which half-three we chose.
 */
function clock(l: Language, time: DateTime<true>, explicitPeriod: boolean): string {
  const { hour, minute } = time;
  if (l === 'de') {
    const spoken = `um ${hour}${minute === 0 ? '' : `:${twoDigits(minute)}`} Uhr`;
    return explicitPeriod ? `${spoken} ${germanPeriod(hour)}` : spoken;
  }
  if (minute === 0 && (hour === 0 || hour === 12)) return hour === 0 ? 'at midnight' : 'at noon';
  const dial = `${hour % 12 || 12}${minute === 0 ? '' : `:${twoDigits(minute)}`}`;
  return `at ${dial} ${explicitPeriod ? englishPeriod(hour) : hour < 12 ? 'am' : 'pm'}`;
}

const twoDigits = (value: number) => String(value).padStart(2, '0');

function germanPeriod(hour: number): string {
  if (hour < 5 || hour >= 22) return 'nachts';
  if (hour < 10) return 'morgens';
  if (hour < 12) return 'vormittags';
  if (hour < 14) return 'mittags';
  return hour < 18 ? 'nachmittags' : 'abends';
}

function englishPeriod(hour: number): string {
  if (hour < 5 || hour >= 22) return 'at night';
  if (hour < 12) return 'in the morning';
  return hour < 18 ? 'in the afternoon' : 'in the evening';
}

/** Intl.ListFormat per language and type, made once: building one costs more than the sentence it joins. */
const listFormats = new Map<string, Intl.ListFormat>();
function joinList(l: Language, items: readonly string[], type: 'conjunction' | 'disjunction'): string {
  const key = `${l} ${type}`;
  let format = listFormats.get(key);
  if (!format) listFormats.set(key, (format = new Intl.ListFormat(l, { type })));
  return format.format(items);
}
