import { normalizeText } from './normalize.js';

const GERMAN_UNITS = [
  'null', 'eins', 'zwei', 'drei', 'vier', 'fünf', 'sechs', 'sieben', 'acht', 'neun', 'zehn',
  'elf', 'zwölf', 'dreizehn', 'vierzehn', 'fünfzehn', 'sechzehn', 'siebzehn', 'achtzehn',
  'neunzehn',
];
const GERMAN_TENS = ['zwanzig', 'dreißig', 'vierzig', 'fünfzig'];
const ENGLISH_UNITS = [
  'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten',
  'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen',
  'nineteen',
];
const ENGLISH_TENS = ['twenty', 'thirty', 'forty', 'fifty'];
const GERMAN_ONE = ['ein', 'eine', 'einer', 'einem', 'einen'];

/** Every number word from 0 to 59: enough for hours, minutes and "in drei Wochen". */
function numberWords(): ReadonlyMap<string, number> {
  const entries: Array<[string, number]> = [
    ...GERMAN_UNITS.map((word, value): [string, number] => [word, value]),
    ...ENGLISH_UNITS.map((word, value): [string, number] => [word, value]),
    ...GERMAN_ONE.map((word): [string, number] => [word, 1]),
    ['zwo', 2],
  ];
  for (const [index, tens] of GERMAN_TENS.entries()) {
    const value = 20 + 10 * index;
    entries.push([tens, value]);
    for (let unit = 1; unit <= 9; unit++) {
      entries.push([`${unit === 1 ? 'ein' : GERMAN_UNITS[unit]}und${tens}`, value + unit]);
    }
  }
  for (const [index, tens] of ENGLISH_TENS.entries()) {
    const value = 20 + 10 * index;
    entries.push([tens, value]);
    for (let unit = 1; unit <= 9; unit++) entries.push([`${tens} ${ENGLISH_UNITS[unit]}`, value + unit]);
  }
  return new Map(entries.map(([word, value]) => [normalizeText(word), value]));
}

const NUMBER_WORDS = numberWords();

/**
 * Replaces spelled-out numbers with digits ("zehn uhr dreissig" → "10 uhr 30",
 * "two forty five" → "2 45"), so the grammars only ever see digits.
 */
export function wordsToNumbers(words: readonly string[]): string[] {
  const result: string[] = [];
  for (let index = 0; index < words.length; index++) {
    const word = words[index] ?? '';
    const pair = NUMBER_WORDS.get(`${word} ${words[index + 1] ?? ''}`);
    if (pair !== undefined) {
      result.push(String(pair));
      index++;
    } else {
      result.push(String(NUMBER_WORDS.get(word) ?? word));
    }
  }
  return result;
}
