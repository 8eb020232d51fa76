import { describe, expect, it } from 'vitest';
import { LatencyRecorder, percentile, summarize } from '../../../src/harness/stats.js';

describe('percentiles', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('uses the nearest rank: every reported figure is a measured sample', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 95)).toBe(95);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([10, 20], 99)).toBe(20);
    expect(percentile([5, 6], 0)).toBe(5);
  });

  it('is NaN for no samples', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(summarize([]).count).toBe(0);
    expect(summarize([]).p99).toBeNaN();
  });

  it('summarizes unsorted samples', () => {
    const shuffled = [...hundred].reverse();
    expect(summarize(shuffled)).toEqual({ count: 100, p50: 50, p95: 95, p99: 99, max: 100, mean: 50.5 });
  });

  it('rounds to hundredths of a millisecond', () => {
    expect(summarize([1.23456, 2.34567]).max).toBe(2.35);
  });
});

describe('LatencyRecorder', () => {
  it('groups samples by tool', () => {
    const recorder = new LatencyRecorder();
    recorder.record('check_availability', 3);
    recorder.record('book_appointment', 5);
    recorder.record('check_availability', 1);
    expect(recorder.names()).toEqual(['book_appointment', 'check_availability']);
    expect(recorder.summary().check_availability).toMatchObject({ count: 2, p50: 1, max: 3 });
  });
});
