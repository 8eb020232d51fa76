import { editDistance } from './edit-distance.js';
import { compactKey } from './normalize.js';

/** A service as the salon's catalog names it. */
export interface ServiceName {
  id: string;
  name: string;
  aliases?: string[];
}

/** One service, several equally good ones (ask the caller which), or none. */
export type ServiceMatch =
  | { kind: 'match'; id: string }
  | { kind: 'ambiguous'; ids: string[] }
  | { kind: 'none' };

/** Shorter queries are too vague to stand for part of a name ("haar" still counts). */
const MIN_PARTIAL_LENGTH = 4;
/** Edits allowed per letter: one slip in five letters, none in a four-letter word. */
const MAX_EDITS_PER_LETTER = 0.2;

interface Keyed {
  id: string;
  keys: string[];
}

/**
 * Finds the service a caller means by its id, name or an alias, forgiving case, spaces,
 * hyphens, umlauts written as ae/oe/ue/ss and small speech-to-text typos. Tiers, first
 * hit wins: exact match after normalizing; the query as part of a name ("Schnitt" for
 * "Herrenschnitt"); the fewest edits per letter within {@link MAX_EDITS_PER_LETTER}.
 * Several services on the winning tier (or tied on edits) are ambiguous.
 */
export function matchService(query: string, services: readonly ServiceName[]): ServiceMatch {
  const wanted = compactKey(query);
  if (wanted === '') return { kind: 'none' };
  const keyed = services.map((service) => ({
    id: service.id,
    keys: [service.id, service.name, ...(service.aliases ?? [])].map(compactKey).filter(Boolean),
  }));
  return (
    decide(keyed.filter((service) => service.keys.includes(wanted))) ??
    decide(partOfName(keyed, wanted)) ??
    decide(closest(keyed, wanted)) ?? { kind: 'none' }
  );
}

function partOfName(keyed: readonly Keyed[], wanted: string): Keyed[] {
  if (wanted.length < MIN_PARTIAL_LENGTH) return [];
  return keyed.filter((service) => service.keys.some((key) => key.includes(wanted)));
}

function decide(found: readonly Keyed[]): ServiceMatch | undefined {
  const ids = [...new Set(found.map((service) => service.id))];
  const [first] = ids;
  if (first === undefined) return undefined;
  return ids.length === 1 ? { kind: 'match', id: first } : { kind: 'ambiguous', ids };
}

/** The services whose best key needs the fewest edits per letter, if few enough. */
function closest(keyed: readonly Keyed[], wanted: string): Keyed[] {
  const editsPerLetter = (key: string) => editDistance(key, wanted) / Math.max(key.length, wanted.length);
  const scored = keyed.map((service) => ({ service, score: Math.min(...service.keys.map(editsPerLetter)) }));
  const best = Math.min(...scored.map(({ score }) => score));
  if (best > MAX_EDITS_PER_LETTER) return [];
  return scored.filter(({ score }) => score === best).map(({ service }) => service);
}
