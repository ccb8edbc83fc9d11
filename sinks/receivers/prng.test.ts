/** The seeded PRNG: reproducible, in [0, 1), and spread evenly enough to stand for failure rates. */
import { describe, expect, it } from 'vitest';
import { seededRandom } from './prng';

const take = (random: () => number, n: number) => Array.from({ length: n }, random);

describe('seededRandom', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    expect(take(seededRandom(42), 100)).toEqual(take(seededRandom(42), 100));
    expect(take(seededRandom(42), 100)).not.toEqual(take(seededRandom(43), 100));
  });

  it('stays in [0, 1) with each tenth of the range near a tenth of 10 000 draws', () => {
    const buckets = new Array<number>(10).fill(0);
    for (const value of take(seededRandom(7), 10_000)) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
      buckets[Math.floor(value * 10)]! += 1;
    }
    // Binomial(10 000, 0.1): sd 30, so ±150 is 5 sd.
    for (const count of buckets) expect(Math.abs(count - 1000)).toBeLessThan(150);
  });
});
