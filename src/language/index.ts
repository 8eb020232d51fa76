/**
 * How callers speak and how the broker answers: German and English dates, times and
 * service names read into exact values, and the sentences a voice agent reads aloud.
 * Pure functions; time zones go through luxon.
 * @see PROTOCOL.md §4 (`date`, `time`, `service` arguments; `message`)
 */
export { languageOf, type Language } from './language.js';
export { resolveDate, type DateResolution, type Reference } from './resolve-date.js';
export { resolveTime, type TimeResolution } from './resolve-time.js';
export { matchService, type ServiceMatch, type ServiceName } from './match-service.js';
export {
  messages,
  sayWhen,
  type BookingFailure,
  type Messages,
  type SpokenSlot,
  type UnavailableReason,
} from './messages.js';
