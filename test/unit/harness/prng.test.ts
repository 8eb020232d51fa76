import { describe, expect, it } from 'vitest';
import { hashString, Prng } from '../../../src/harness/prng.js';

const draws = (prng: Prng, count = 20) => Array.from({ length: count }, () => prng.next());

describe('the seeded PRNG', () => {
  it('gives the same sequence for the same seed', () => {
    expect(draws(new Prng(42))).toEqual(draws(new Prng(42)));
    expect(draws(new Prng('race'))).toEqual(draws(new Prng('race')));
  });

  it('gives different sequences for different seeds', () => {
    expect(draws(new Prng(1))).not.toEqual(draws(new Prng(2)));
  });

  it('stays within its ranges', () => {
    const prng = new Prng(3);
    for (let i = 0; i < 2000; i++) {
      const value = prng.next();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
      const int = prng.int(2, 5);
      expect(int).toBeGreaterThanOrEqual(2);
      expect(int).toBeLessThanOrEqual(5);
      expect(Number.isInteger(int)).toBe(true);
    }
  });

  it('reaches both ends of an integer range and every item of a list', () => {
    const prng = new Prng(4);
    const ints = new Set(Array.from({ length: 500 }, () => prng.int(1, 4)));
    expect([...ints].sort()).toEqual([1, 2, 3, 4]);
    const picks = new Set(Array.from({ length: 500 }, () => prng.pick(['a', 'b', 'c'])));
    expect(picks.size).toBe(3);
  });

  it('forks independent streams that do not depend on how far the parent has drawn', () => {
    const fresh = new Prng(9);
    const used = new Prng(9);
    draws(used, 50);
    expect(draws(fresh.fork('caller:3'))).toEqual(draws(used.fork('caller:3')));
    expect(draws(fresh.fork('caller:3'))).not.toEqual(draws(fresh.fork('caller:4')));
  });

  it('hashes strings stably', () => {
    expect(hashString('callhold')).toBe(hashString('callhold'));
    expect(hashString('callhold')).not.toBe(hashString('callholD'));
  });
});
