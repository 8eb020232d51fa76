import { describe, expect, it } from 'vitest';
import { matchService, type ServiceMatch, type ServiceName } from '../../../src/language/index.js';

const services: ServiceName[] = [
  { id: 'dauerwelle', name: 'Dauerwelle', aliases: ['Dauer Welle', 'perm'] },
  { id: 'herrenschnitt', name: 'Herrenschnitt' },
  { id: 'damen-kurz', name: 'Damenschnitt kurz' },
  { id: 'damen-lang', name: 'Damenschnitt lang' },
  { id: 'waschen', name: 'Waschen und Föhnen', aliases: ['Waschen'] },
  { id: 'wachsen', name: 'Wachsen' },
  { id: 'straehnchen', name: 'Strähnchen' },
];

const match = (id: string): ServiceMatch => ({ kind: 'match', id });
const ambiguous = (...ids: string[]): ServiceMatch => ({ kind: 'ambiguous', ids });
const none: ServiceMatch = { kind: 'none' };

const phrases: Array<[query: string, expected: ServiceMatch]> = [
  ['Dauerwelle', match('dauerwelle')],
  ['dauerwelle', match('dauerwelle')],
  ['Dauer Welle', match('dauerwelle')],
  ['DAUER-WELLE', match('dauerwelle')],
  ['Dauerwele', match('dauerwelle')],
  ['perm', match('dauerwelle')],
  ['Perm', match('dauerwelle')],
  ['Welle', match('dauerwelle')],
  ['Herrenschnitt', match('herrenschnitt')],
  ['herren schnitt', match('herrenschnitt')],
  ['Herrenschnit', match('herrenschnitt')],
  ['Hernschnitt', match('herrenschnitt')],
  ['Herrenscnhitt', match('herrenschnitt')],
  ['Strähnchen', match('straehnchen')],
  ['Straehnchen', match('straehnchen')],
  ['Strahnchen', match('straehnchen')],
  ['Damenschnitt lang', match('damen-lang')],
  ['damen-kurz', match('damen-kurz')],
  ['Föhnen', match('waschen')],
  ['Foehnen', match('waschen')],
  ['Damenschnitt', ambiguous('damen-kurz', 'damen-lang')],
  ['Schnitt', ambiguous('herrenschnitt', 'damen-kurz', 'damen-lang')],
  ['Wachen', ambiguous('waschen', 'wachsen')],
  ['Nagelstudio', none],
  ['term', none],
  ['blau', none],
  ['', none],
];

describe('matchService', () => {
  it.each(phrases)('%o is %j', (query, expected) => {
    expect(matchService(query, services)).toEqual(expected);
  });

  it('prefers an exact alias over a closer-looking name of another service', () => {
    const catalog: ServiceName[] = [
      { id: 'farbe', name: 'Färben', aliases: ['Farbe'] },
      { id: 'farben-mix', name: 'Farbe mix' },
    ];
    expect(matchService('farbe', catalog)).toEqual(match('farbe'));
  });

  it('calls two services that share an alias ambiguous', () => {
    const catalog: ServiceName[] = [
      { id: 'kurz', name: 'Kurzhaarschnitt', aliases: ['Schnitt'] },
      { id: 'lang', name: 'Langhaarschnitt', aliases: ['Schnitt'] },
    ];
    expect(matchService('schnitt', catalog)).toEqual(ambiguous('kurz', 'lang'));
  });

  it('finds nothing in an empty catalog', () => {
    expect(matchService('Dauerwelle', [])).toEqual(none);
  });
});
