/** The two languages the broker speaks to callers. */
export type Language = 'de' | 'en';

/**
 * The language of a call from its `session.start` locale: German for any `de*` locale,
 * English otherwise (PROTOCOL §3), so an unknown or missing locale still gets an answer.
 */
export function languageOf(locale: string | undefined): Language {
  return locale?.trim().toLowerCase().startsWith('de') ? 'de' : 'en';
}
