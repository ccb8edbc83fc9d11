/**
 * A small seeded PRNG (mulberry32) so a receiver's injected failures reproduce from a seed:
 * the same seed and the same sequence of requests give the same answers. Not for cryptography.
 */
export type Random = () => number;

/** Returns a function yielding floats in [0, 1), fully determined by `seed` (any 32-bit integer). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for plans that give none: failures still come from the PRNG, just not a reproducible one. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296);
}
