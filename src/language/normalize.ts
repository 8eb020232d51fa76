const SPELLED_OUT: Readonly<Record<string, string>> = { ä: 'ae', ö: 'oe', ü: 'ue', ß: 'ss' };

/**
 * Lower case with umlauts spelled out and other accents dropped, because transcripts
 * and models write "übermorgen", "uebermorgen" and "Pédicure" interchangeably.
 * Keeps `.`, `:` and hyphens between digits, which carry meaning in dates and times.
 */
export function normalizeText(text: string): string {
  // The same names and phrases come again and again (every service name on every tool call): remember short ones.
  if (text.length > MEMO_MAX_LENGTH) return normalizeAfresh(text);
  let normalized = rememberedTexts.get(text);
  if (normalized === undefined) {
    if (rememberedTexts.size >= MEMO_LIMIT) rememberedTexts.clear();
    rememberedTexts.set(text, (normalized = normalizeAfresh(text)));
  }
  return normalized;
}

const MEMO_MAX_LENGTH = 256;
const MEMO_LIMIT = 10_000;
const rememberedTexts = new Map<string, string>();

function normalizeAfresh(text: string): string {
  return text
    .normalize('NFC')
    .toLowerCase()
    .replace(/[äöüß]/g, (letter) => SPELLED_OUT[letter] ?? letter)
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[’´`]/g, "'")
    .replace(/(?<!\d)-|-(?!\d)|[,;!?()"/]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The words of a phrase; a full stop after a word ("Nov.", "morgen.") is dropped, one
 * after a number ("28.") is kept because it marks a German ordinal.
 */
export function wordsOf(text: string): string[] {
  return normalizeText(text)
    .split(' ')
    .filter((word) => word !== '')
    .map((word) => word.replace(/^([a-z']+)\.$/, '$1'));
}

/** Letters and digits only, so "Dauer-Welle", "dauer welle" and "Dauerwelle" compare equal. */
export function compactKey(text: string): string {
  return normalizeText(text).replace(/[^a-z0-9]/g, '');
}
