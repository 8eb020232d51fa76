/** Latency samples and their percentiles, as the harness and the benchmark report them. */

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * The nearest-rank percentile: the smallest sample with at least `p` percent of the
 * samples at or below it. No interpolation, so every figure reported was measured.
 */
export function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  if (p <= 0) return sortedAscending[0]!;
  const rank = Math.ceil((p / 100) * sortedAscending.length);
  return sortedAscending[Math.min(rank, sortedAscending.length) - 1]!;
}

const round = (value: number, digits = 2) => (Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : value);

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? Number.NaN),
    mean: round(sorted.length ? total / sorted.length : Number.NaN),
  };
}

/** Samples in milliseconds, grouped by a name (a tool). */
export class LatencyRecorder {
  private readonly samples = new Map<string, number[]>();

  record(name: string, ms: number): void {
    let list = this.samples.get(name);
    if (!list) this.samples.set(name, (list = []));
    list.push(ms);
  }

  names(): string[] {
    return [...this.samples.keys()].sort();
  }

  values(name: string): readonly number[] {
    return this.samples.get(name) ?? [];
  }

  summary(): Record<string, LatencySummary> {
    return Object.fromEntries(this.names().map((name) => [name, summarize(this.values(name))]));
  }
}
