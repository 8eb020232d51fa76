/**
 * Damerau-Levenshtein distance in its optimal-string-alignment form: insertions,
 * deletions, substitutions and swaps of two neighbouring letters each cost 1. Those are
 * the slips speech-to-text makes ("Dauerwele", "Herrenschnitt" heard as "Hernschnitt").
 */
export function editDistance(a: string, b: string): number {
  const width = b.length + 1;
  const table = new Array<number>((a.length + 1) * width).fill(0);
  const at = (i: number, j: number): number => table[i * width + j] ?? 0;
  for (let i = 0; i <= a.length; i++) {
    for (let j = 0; j <= b.length; j++) {
      table[i * width + j] = i === 0 || j === 0 ? i + j : cellCost(a, b, i, j, at);
    }
  }
  return at(a.length, b.length);
}

function cellCost(a: string, b: string, i: number, j: number, at: (i: number, j: number) => number): number {
  const substitution = at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1);
  const best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, substitution);
  const swapped = i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1];
  return swapped ? Math.min(best, at(i - 2, j - 2) + 1) : best;
}
