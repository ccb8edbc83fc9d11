/**
 * The seeded PRNG: reproducible by seed, independent forks, helpers within their stated ranges
 * and roughly uniform where they claim to be.
 */
import { describe, expect, it } from 'vitest';
import { Random, WeightedTable } from './random';

const draws = (rng: Random, n: number) => Array.from({ length: n }, () => rng.uint32());

describe('Random', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    expect(draws(new Random(42), 100)).toEqual(draws(new Random(42), 100));
    expect(draws(new Random('42'), 100)).toEqual(draws(new Random(42), 100));
    expect(draws(new Random(43), 100)).not.toEqual(draws(new Random(42), 100));
  });

  it('forks streams that depend on the seed and label only, not on draws already made', () => {
    const a = new Random(7);
    const b = new Random(7);
    draws(b, 1000);
    expect(draws(a.fork('x'), 50)).toEqual(draws(b.fork('x'), 50));
    expect(draws(a.fork('x'), 50)).not.toEqual(draws(a.fork('y'), 50));
  });

  it('draws next() in [0, 1) with a mean near one half', () => {
    const rng = new Random(1);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = rng.next();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
    }
    expect(sum / 100_000).toBeCloseTo(0.5, 2);
  });

  it('draws int(min, max) inclusive at both ends, each value about equally often', () => {
    const rng = new Random(2);
    const counts = new Map<number, number>();
    for (let i = 0; i < 60_000; i++) {
      const v = rng.int(-2, 3);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2, 3]);
    for (const count of counts.values()) expect(Math.abs(count - 10_000)).toBeLessThan(600);
    expect(() => rng.int(3, 2)).toThrow(RangeError);
  });

  it('picks by weight', () => {
    const rng = new Random(3);
    let heavy = 0;
    for (let i = 0; i < 40_000; i++) if (rng.weighted([['light', 1], ['heavy', 3]] as const) === 'heavy') heavy++;
    expect(heavy / 40_000).toBeGreaterThan(0.73);
    expect(heavy / 40_000).toBeLessThan(0.77);
  });

  it('draws a weighted table in proportion to its weights', () => {
    const rng = new Random(4);
    const table = new WeightedTable([['a', 1], ['b', 0], ['c', 4]] as const);
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 50_000; i++) counts[table.draw(rng)]!++;
    expect(counts.b).toBe(0);
    expect((counts.c as number) / 50_000).toBeGreaterThan(0.78);
    expect((counts.c as number) / 50_000).toBeLessThan(0.82);
    expect(table.share('a')).toBeCloseTo(0.2, 10);
  });

  it('makes a roughly normal gaussian: mean, spread and bounded tails', () => {
    const rng = new Random(5);
    const xs = Array.from({ length: 50_000 }, () => rng.gaussian(100, 10));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
    expect(mean).toBeGreaterThan(99.7);
    expect(mean).toBeLessThan(100.3);
    expect(sd).toBeGreaterThan(9.7);
    expect(sd).toBeLessThan(10.3);
    const within1 = xs.filter((x) => Math.abs(x - 100) <= 10).length / xs.length;
    expect(within1).toBeGreaterThan(0.66);
    expect(within1).toBeLessThan(0.71);
    expect(Math.max(...xs.map((x) => Math.abs(x - 100)))).toBeLessThanOrEqual(42.5);
  });

  it('draws exponential gaps with the requested mean', () => {
    const rng = new Random(6);
    let sum = 0;
    for (let i = 0; i < 50_000; i++) sum += rng.exponential(250);
    expect(sum / 50_000).toBeGreaterThan(245);
    expect(sum / 50_000).toBeLessThan(255);
  });

  it('shuffles into a permutation of the same elements', () => {
    const rng = new Random(8);
    const items = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = rng.shuffle([...items]);
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
  });

  it('makes version-4-shaped UUIDs that do not repeat', () => {
    const rng = new Random(9);
    const ids = Array.from({ length: 10_000 }, () => rng.uuid());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('makes codes and digit strings of the requested length and alphabet', () => {
    const rng = new Random(10);
    expect(rng.code(16)).toMatch(/^[0-9A-Z]{16}$/);
    expect(rng.digits(12)).toMatch(/^[0-9]{12}$/);
  });
});
