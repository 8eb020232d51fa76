import { describe, expect, it } from 'vitest';
import { HarnessCatalog } from '../../../src/harness/catalog.js';
import { builtInScenarios, loadScenario, parseScenario, scenarioNeeds } from '../../../src/harness/scenario.js';

describe('scenarios', () => {
  it('parses every built-in scenario', async () => {
    expect(Object.keys(builtInScenarios).sort()).toEqual(['busy-day', 'dropper', 'happy', 'race', 'silent', 'slow-confirm']);
    for (const name of Object.keys(builtInScenarios)) {
      const scenario = await loadScenario(name);
      expect(scenario.name).toBe(name);
      expect(scenario.roles.length).toBeGreaterThan(0);
    }
  });

  it('names the bad field of a broken scenario', () => {
    expect(() => parseScenario({ name: 'x', roles: [{ name: 'r', steps: [{ do: 'dance' }] }] })).toThrow(/roles\.0\.steps\.0/);
    expect(() => parseScenario({ name: 'x', roles: [{ name: 'r', steps: [{ do: 'think', s: -1 }] }] })).toThrow(/scenario: roles\.0\.steps\.0\.s/);
  });

  it('built-in scenarios name no service or staff of any salon, and their callers book', async () => {
    for (const name of Object.keys(builtInScenarios)) {
      expect(scenarioNeeds(await loadScenario(name)), name).toEqual({ services: [], staff: [], books: true });
    }
  });

  it('collects the services and staff a scenario names, with the service each staff member is asked for', () => {
    const scenario = parseScenario({
      name: 'x',
      roles: [
        { name: 'a', steps: [{ do: 'check', slot: { service: 'Dauerwelle', staff: 'Fabian', time: '10:00' } }] },
        {
          name: 'b',
          steps: [
            { do: 'until_booked', steps: [{ do: 'check', slot: { service: ['Färben', 'random'], staff: 'any' } }] },
            { do: 'check', slot: { service: 'longest_phased', staff: 'Lena' } },
          ],
        },
      ],
    });
    expect(scenarioNeeds(scenario)).toEqual({
      services: ['Dauerwelle', 'Färben'],
      staff: [
        { staff: 'Fabian', service: 'Dauerwelle' },
        { staff: 'Lena', service: null },
      ],
      books: false,
    });
  });

  it('refuses an unknown name that is not a .json path', async () => {
    await expect(loadScenario('rush-hour')).rejects.toThrow(/unknown scenario "rush-hour"/);
  });
});

describe('the harness catalog', () => {
  const catalog = HarnessCatalog.demo();

  it('picks an open Friday at least a week ahead, never 24–26 December', () => {
    expect(catalog.defaultDate(new Date('2026-11-26T12:00:00Z'))).toBe('2026-12-04');
    expect(catalog.defaultDate(new Date('2026-12-15T12:00:00Z'))).toBe('2027-01-01');
    expect(catalog.defaultDate(new Date('2027-12-16T12:00:00Z'))).toBe('2027-12-31');
  });

  it('offers only starts where the whole service fits the opening hours', () => {
    const dauerwelle = catalog.service('Dauerwelle')!;
    const starts = catalog.startTimes('2026-12-04', dauerwelle);
    expect(starts[0]).toBe('09:00');
    expect(starts.at(-1)).toBe('16:15');
    expect(catalog.startTimes('2026-12-02', dauerwelle)).toEqual([]);
  });
});
