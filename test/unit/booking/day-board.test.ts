import { describe, expect, it } from 'vitest';
import { dayBoard, phasesOf } from '../../../src/booking/day-board.js';
import { openEveryDayCatalog } from '../../fixtures/catalogs.js';

const at = (iso: string) => new Date(iso);

describe('day board', () => {
  it('draws phases from the claimed stretches: busy where claimed, processing in the gaps and after', () => {
    const span = { start: at('2026-03-06T09:00:00Z'), end: at('2026-03-06T11:00:00Z') };
    const busy = [
      { start: at('2026-03-06T10:00:00Z'), end: at('2026-03-06T10:30:00Z') },
      { start: at('2026-03-06T09:00:00Z'), end: at('2026-03-06T09:30:00Z') },
    ];
    expect(phasesOf(span, busy).map((phase) => [phase.start.toISOString().slice(11, 16), phase.end.toISOString().slice(11, 16), phase.staffBusy])).toEqual([
      ['09:00', '09:30', true],
      ['09:30', '10:00', false],
      ['10:00', '10:30', true],
      ['10:30', '11:00', false],
    ]);
  });

  it('writes a window to midnight as 24:00 and keeps a column for dropped staff who still have something that day', () => {
    const { catalog } = openEveryDayCatalog('board-unit');
    const lateCatalog = { ...catalog, openingHours: { ...catalog.openingHours, fri: [['18:00', '24:00']] as Array<[string, string]> } };
    const block = { id: 'b', tenantId: 'board-unit', staffId: 'gone', start: at('2026-03-06T18:00:00Z'), end: at('2026-03-06T19:00:00Z'), reason: null, source: 'calendar' as const };
    const columns = dayBoard(lateCatalog, '2026-03-06', { appointments: [], claims: [], holds: [], blocks: [block] });
    expect(columns.map((column) => [column.staff.id, column.windows])).toEqual([
      ['fabian', [['18:00', '24:00']]],
      ['gone', []],
    ]);
    expect(columns[1]!.blocks).toEqual([block]);
  });
});
