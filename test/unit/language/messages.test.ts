import { describe, expect, it } from 'vitest';
import { languageOf, messages, sayWhen, type Language, type SpokenSlot } from '../../../src/language/index.js';

const TZ = 'Europe/Berlin';
/** Friday 2025-11-28 10:00 in Berlin (CET). */
const FRIDAY_10 = new Date('2025-11-28T09:00:00Z');
const at = (iso: string): Date => new Date(iso);
const slot = (iso: string, staffName = 'Fabian Spitzer'): SpokenSlot => ({ start: at(iso), staffName });

describe('languageOf', () => {
  it.each([
    ['de-DE', 'de'],
    ['DE_at', 'de'],
    ['de', 'de'],
    ['en-US', 'en'],
    ['fr-FR', 'en'],
    ['', 'en'],
    [undefined, 'en'],
  ] as const)('%o speaks %s', (locale, language) => {
    expect(languageOf(locale)).toBe(language);
  });
});

describe('sayWhen', () => {
  it.each([
    ['de', '2025-11-28T09:00:00Z', TZ, 'Freitag, den 28. November, um 10 Uhr'],
    ['en', '2025-11-28T09:00:00Z', TZ, 'Friday, November 28 at 10 am'],
    ['de', '2025-11-28T09:30:00Z', TZ, 'Freitag, den 28. November, um 10:30 Uhr'],
    ['en', '2025-11-28T09:30:00Z', TZ, 'Friday, November 28 at 10:30 am'],
    ['de', '2025-11-28T13:00:00Z', TZ, 'Freitag, den 28. November, um 14 Uhr'],
    ['en', '2025-11-28T13:00:00Z', TZ, 'Friday, November 28 at 2 pm'],
    ['en', '2025-11-28T13:05:00Z', TZ, 'Friday, November 28 at 2:05 pm'],
    ['en', '2025-11-28T11:00:00Z', TZ, 'Friday, November 28 at noon'],
    ['de', '2025-12-01T08:00:00Z', TZ, 'Montag, den 1. Dezember, um 9 Uhr'],
    // The same 10:00 on the wall clock on both sides of each DST change.
    ['de', '2026-03-28T09:00:00Z', TZ, 'Samstag, den 28. März, um 10 Uhr'],
    ['de', '2026-03-29T08:00:00Z', TZ, 'Sonntag, den 29. März, um 10 Uhr'],
    ['en', '2026-03-29T08:00:00Z', TZ, 'Sunday, March 29 at 10 am'],
    ['de', '2025-10-25T08:00:00Z', TZ, 'Samstag, den 25. Oktober, um 10 Uhr'],
    ['de', '2025-10-26T09:00:00Z', TZ, 'Sonntag, den 26. Oktober, um 10 Uhr'],
    ['de', '2025-10-26T00:30:00Z', TZ, 'Sonntag, den 26. Oktober, um 2:30 Uhr'],
    ['de', '2025-10-26T01:30:00Z', TZ, 'Sonntag, den 26. Oktober, um 2:30 Uhr'],
    ['en', '2025-11-24T03:00:00Z', 'America/New_York', 'Sunday, November 23 at 10 pm'],
  ] as const)('%s %s in %s: %s', (language, iso, timezone, expected) => {
    expect(sayWhen(language, at(iso), timezone)).toBe(expected);
  });

  it('refuses an unknown time zone rather than speak a wrong time', () => {
    expect(() => sayWhen('de', FRIDAY_10, 'Mars/Olympus')).toThrow(RangeError);
  });
});

describe('messages', () => {
  it('offers a held slot and asks to book it', () => {
    const held = slot('2025-11-28T09:00:00Z');
    expect(messages.available('de', 'Dauerwelle', held, TZ)).toBe(
      'Am Freitag, den 28. November, um 10 Uhr ist bei Fabian Spitzer ein Termin für Dauerwelle frei, ich halte ihn kurz für Sie fest, soll ich ihn verbindlich buchen?',
    );
    expect(messages.available('en', 'perm', held, TZ)).toBe(
      "There's a free slot for perm with Fabian Spitzer on Friday, November 28 at 10 am and I'm holding it for you, shall I book it?",
    );
  });

  it('names the part of the day when an ambiguous hour was resolved', () => {
    const held = slot('2025-11-28T13:30:00Z');
    expect(messages.available('de', 'Dauerwelle', held, TZ, true)).toContain(
      'Am Freitag, den 28. November, um 14:30 Uhr nachmittags ist',
    );
    expect(messages.available('en', 'perm', held, TZ, true)).toContain(
      'on Friday, November 28 at 2:30 in the afternoon and',
    );
  });

  it('offers alternatives by time, naming staff when they differ', () => {
    const alternatives = [
      slot('2025-11-28T10:00:00Z', 'Anna Berg'),
      slot('2025-11-28T11:30:00Z'),
      slot('2025-11-29T08:00:00Z'),
      slot('2025-11-29T09:00:00Z'),
    ];
    expect(messages.unavailable('de', 'SLOT_TAKEN', 'Dauerwelle', FRIDAY_10, alternatives, TZ)).toBe(
      'Am Freitag, den 28. November, um 10 Uhr ist für Dauerwelle leider schon alles belegt, frei wäre aber noch um 11 Uhr bei Anna Berg, um 12:30 Uhr bei Fabian Spitzer oder am Samstag, den 29. November, um 9 Uhr bei Fabian Spitzer.',
    );
    expect(messages.unavailable('en', 'SLOT_TAKEN', 'perm', FRIDAY_10, alternatives, TZ)).toBe(
      "Sorry, Friday, November 28 at 10 am is already taken for perm, but there's still a free slot at 11 am with Anna Berg, at 12:30 pm with Fabian Spitzer, or on Saturday, November 29 at 9 am with Fabian Spitzer.",
    );
  });

  it('leaves out the staff name when every alternative is with the same person', () => {
    const alternatives = [slot('2025-12-01T08:00:00Z')];
    expect(messages.unavailable('de', 'OUTSIDE_HOURS', 'Dauerwelle', at('2025-11-30T09:00:00Z'), alternatives, TZ)).toBe(
      'Am Sonntag, den 30. November, um 10 Uhr passt ein Termin für Dauerwelle leider nicht in unsere Öffnungszeiten, frei wäre aber noch am Montag, den 1. Dezember, um 9 Uhr.',
    );
    expect(messages.unavailable('en', 'IN_THE_PAST', 'perm', at('2025-11-21T09:00:00Z'), alternatives, TZ)).toBe(
      "Sorry, Friday, November 21 at 10 am has already passed, but there's still a free slot on Monday, December 1 at 9 am.",
    );
  });

  it('says when nothing is free in the next 14 days', () => {
    expect(messages.unavailable('de', 'SLOT_TAKEN', 'Dauerwelle', null, [], TZ)).toBe(
      'Zu dieser Zeit ist für Dauerwelle leider schon alles belegt, und in den nächsten 14 Tagen ist auch sonst kein Termin frei.',
    );
    expect(messages.unavailable('en', 'OUTSIDE_HOURS', 'perm', null, [], TZ)).toBe(
      "Sorry, perm at that time doesn't fit into our opening hours, and I couldn't find another free slot in the next 14 days.",
    );
  });

  it('confirms bookings and cancellations with the time', () => {
    const booked = slot('2025-11-28T13:00:00Z');
    expect(messages.booked('de', 'Herrenschnitt', booked, TZ)).toBe(
      'Ihr Termin für Herrenschnitt am Freitag, den 28. November, um 14 Uhr bei Fabian Spitzer ist gebucht, wir freuen uns auf Sie.',
    );
    expect(messages.booked('en', "men's cut", booked, TZ)).toBe(
      "You're booked for men's cut with Fabian Spitzer on Friday, November 28 at 2 pm, we look forward to seeing you.",
    );
    expect(messages.cancelled('de', 'Herrenschnitt', booked.start, TZ)).toBe(
      'Ich habe Ihren Termin für Herrenschnitt am Freitag, den 28. November, um 14 Uhr storniert.',
    );
    expect(messages.cancelled('en', "men's cut", booked.start, TZ)).toBe(
      "I've cancelled your men's cut appointment on Friday, November 28 at 2 pm.",
    );
  });

  it('explains a failed booking and offers what is still free', () => {
    expect(messages.bookingFailed('de', 'SLOT_TAKEN', [slot('2025-11-28T10:00:00Z')], TZ)).toBe(
      'Dieser Termin wurde leider gerade vergeben, frei wäre aber noch am Freitag, den 28. November, um 11 Uhr.',
    );
    expect(messages.bookingFailed('en', 'NO_HOLD', [], TZ)).toBe(
      "Sorry, I'm no longer holding a slot for you, which other time would suit you?",
    );
  });

  it('lists services and staff, and asks between candidates', () => {
    expect(messages.unknownService('de', ['Dauerwelle', 'Herrenschnitt', 'Strähnchen'])).toBe(
      'Das bieten wir leider nicht an, bei uns gibt es Dauerwelle, Herrenschnitt und Strähnchen.',
    );
    expect(messages.ambiguousService('de', ['Damenschnitt kurz', 'Damenschnitt lang'])).toBe(
      'Meinen Sie Damenschnitt kurz oder Damenschnitt lang?',
    );
    expect(messages.ambiguousService('en', ['short cut', 'long cut'])).toBe('Did you mean short cut or long cut?');
    expect(messages.unknownStaff('de', ['Fabian Spitzer', 'Anna Berg'])).toBe(
      'Diesen Namen kenne ich in unserem Team leider nicht, Sie können bei Fabian Spitzer oder Anna Berg buchen.',
    );
    expect(messages.servicesList('en', ['perm', "men's cut"])).toBe("We offer perm and men's cut.");
  });

  it('counts a known customer’s upcoming appointments in words people use', () => {
    expect(messages.customerKnown('de', 'Siegfried Reu', 0)).toContain('keinen anstehenden Termin');
    expect(messages.customerKnown('de', 'Siegfried Reu', 1)).toContain('einen anstehenden Termin');
    expect(messages.customerKnown('de', 'Siegfried Reu', 2)).toContain('2 anstehende Termine');
    expect(messages.customerKnown('en', 'Siegfried Reu', 1)).toBe(
      'Good to hear from you, Siegfried Reu, you have one upcoming appointment with us.',
    );
  });

  const everyMessage = (l: Language): string[] => {
    const held = slot('2025-11-28T09:00:00Z');
    return [
      messages.available(l, 'Dauerwelle', held, TZ),
      messages.available(l, 'Dauerwelle', held, TZ, true),
      messages.unavailable(l, 'SLOT_TAKEN', 'Dauerwelle', FRIDAY_10, [held], TZ),
      messages.unavailable(l, 'IN_THE_PAST', 'Dauerwelle', null, [], TZ),
      messages.booked(l, 'Dauerwelle', held, TZ),
      messages.bookingFailed(l, 'SLOT_TAKEN', [], TZ),
      messages.bookingFailed(l, 'NO_HOLD', [held], TZ),
      messages.released(l, true),
      messages.released(l, false),
      messages.cancelled(l, 'Dauerwelle', FRIDAY_10, TZ),
      messages.appointmentNotFound(l),
      messages.unknownService(l, ['Dauerwelle']),
      messages.unknownService(l, []),
      messages.ambiguousService(l, ['A', 'B']),
      messages.unknownStaff(l, ['Fabian Spitzer']),
      messages.unknownStaff(l, []),
      messages.customerKnown(l, 'Siegfried Reu', 3),
      messages.customerUnknown(l),
      messages.servicesList(l, ['Dauerwelle']),
      messages.servicesList(l, []),
      messages.unavailableStorage(l),
    ];
  };

  it.each(['de', 'en'] as const)('speaks every %s message as one sentence', (language) => {
    for (const message of everyMessage(language)) {
      expect(message).toMatch(/^\p{Lu}.*[.?]$/u);
      // A full stop after a number is the German ordinal ("28. November"), not a sentence end.
      expect(message).not.toMatch(/(?<!\d)[.?!] \p{Lu}/u);
    }
  });

  it('speaks German in Sie-form', () => {
    for (const message of everyMessage('de')) expect(message).not.toMatch(/\b(du|dich|dir|dein\w*)\b/i);
  });
});
