/**
 * BENCHMARKS.md is written by more than one command, so each replaces only the sections it
 * measured and keeps the others as they stand in the file:
 *
 * - `npm run bench` owns the title block and every `## ` section that is not listed below
 *   (Machine and command, Results against targets, 0–5, Where a target is missed…);
 * - `npm run bench -- --instances N` owns `## Two instances` (N = 2) or `## N instances`;
 * - `npm run soak`'s operator owns `## Soak` (written by hand from the soak's output);
 * - whoever investigates owns `## Notes…` sections (written by hand: one-off measurements
 *   and profiles that explain the figures, each saying when and on which commit).
 *
 * The file is always put back in that order: the single-instance sections, then the
 * multi-instance ones by instance count, then the notes, then Soak.
 */

export type SectionOwner = 'bench' | 'notes' | 'soak' | `instances:${number}`;

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** The heading of the section a run with `count` broker instances writes. */
export function instancesHeading(count: number): string {
  const word = NUMBER_WORDS[count];
  return `## ${word ? word[0]!.toUpperCase() + word.slice(1) : count} instances`;
}

export function ownerOf(heading: string): SectionOwner {
  if (/^## Soak\b/.test(heading)) return 'soak';
  if (/^## Notes\b/.test(heading)) return 'notes';
  const instances = /^## (\w+) instances\b/.exec(heading);
  if (instances) {
    const word = instances[1]!.toLowerCase();
    const count = NUMBER_WORDS.includes(word) ? NUMBER_WORDS.indexOf(word) : Number(word);
    if (Number.isInteger(count) && count > 1) return `instances:${count}`;
  }
  return 'bench';
}

interface Section {
  /** The `## ` line, or '' for the block before the first one. */
  heading: string;
  text: string;
}

/** The file as its title block and its `## ` sections, in order (headings inside code fences are text). */
export function splitSections(markdown: string): Section[] {
  const sections: Section[] = [];
  let current: { heading: string; lines: string[] } = { heading: '', lines: [] };
  let fenced = false;
  const flush = () => {
    const text = current.lines.join('\n').trim();
    if (text) sections.push({ heading: current.heading, text });
  };
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (!fenced && line.startsWith('## ')) {
      flush();
      current = { heading: line.trim(), lines: [] };
    }
    current.lines.push(line);
  }
  flush();
  return sections;
}

function rank(owner: SectionOwner): number {
  if (owner === 'bench') return 0;
  if (owner === 'soak') return Number.MAX_SAFE_INTEGER;
  if (owner === 'notes') return Number.MAX_SAFE_INTEGER - 1;
  return Number(owner.slice('instances:'.length));
}

/**
 * `current` with every section owned by one of `owners` replaced by `fresh`'s sections
 * (`fresh` holds exactly what the run rendered). A file without a title gets one.
 */
export function mergeSections(current: string, fresh: string, owners: ReadonlySet<SectionOwner>): string {
  const kept = splitSections(current).filter((section) => !owners.has(ownerOf(section.heading)));
  const sections = [...kept, ...splitSections(fresh)];
  // A stable sort: sections of one owner keep their order, and all of them come from one source.
  sections.sort((a, b) => rank(ownerOf(a.heading)) - rank(ownerOf(b.heading)));
  if (!sections.some((section) => section.heading === '')) sections.unshift({ heading: '', text: '# Benchmarks' });
  return `${sections.map((section) => section.text).join('\n\n')}\n`;
}
