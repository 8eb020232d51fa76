import { describe, expect, it } from 'vitest';
import { mergeSections } from '../../../bench/sections.js';

const file = [
  '# Benchmarks',
  'old run',
  '## Results against targets',
  'old figures',
  '## Two instances',
  'two instances',
  '## Notes: issue 14',
  'hand-written analysis',
  '## Soak',
  'soak figures',
].join('\n');

describe('BENCHMARKS.md sections', () => {
  it('replaces only what a bench run owns, and keeps the notes, the other runs and the soak in their order', () => {
    const merged = mergeSections(file, '# Benchmarks\nnew run\n## Results against targets\nnew figures', new Set(['bench']));
    expect(merged).toBe(
      ['# Benchmarks', 'new run', '', '## Results against targets', 'new figures', '', '## Two instances', 'two instances', '', '## Notes: issue 14', 'hand-written analysis', '', '## Soak', 'soak figures', ''].join('\n'),
    );
  });

  it('keeps the notes when a multi-instance run replaces its own section', () => {
    const merged = mergeSections(file, '## Two instances\nnew two', new Set(['instances:2']));
    expect(merged).toContain('## Notes: issue 14\nhand-written analysis');
    expect(merged).toContain('## Two instances\nnew two');
    expect(merged).toContain('## Results against targets\nold figures');
  });
});
