/**
 * Seeded pseudo-random numbers for the simulator: xoshiro128** (Blackman & Vigna) seeded through
 * splitmix32 from a hash of the seed. The same seed gives the same sequence on every run and
 * machine because only 32-bit integer arithmetic decides the draws; it is for reproducible
 * traffic, not for anything secret. `fork(label)` gives an independent stream that depends only on
 * the seed and the label, so a feature drawing from its own fork never shifts the others' draws.
 */

export type Seed = number | string;

const TWO_POW_32 = 4294967296;
const CODE_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function hashSeed(text: string): number {
  // FNV-1a, 32 bits.
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

const BYTE_HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** Eight lowercase hex digits of an unsigned 32-bit value (a table: toString(16) is hot here). */
function hex(n: number): string {
  return (
    (BYTE_HEX[n >>> 24] as string) +
    (BYTE_HEX[(n >>> 16) & 0xff] as string) +
    (BYTE_HEX[(n >>> 8) & 0xff] as string) +
    (BYTE_HEX[n & 0xff] as string)
  );
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export class Random {
  readonly seed: string;
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: Seed) {
    this.seed = String(seed);
    let state = hashSeed(this.seed);
    const splitmix = () => {
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = splitmix();
    this.s1 = splitmix();
    this.s2 = splitmix();
    this.s3 = splitmix();
  }

  /** An independent stream derived from this one's seed and a label (not from its position). */
  fork(label: string): Random {
    return new Random(`${this.seed}/${label}`);
  }

  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / TWO_POW_32;
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    if (max < min) throw new RangeError(`int(${min}, ${max}): max is below min`);
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** One of the entries, with probability proportional to its weight. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, weight] of entries) total += weight;
    let target = this.next() * total;
    for (const [value, weight] of entries) {
      target -= weight;
      if (target < 0) return value;
    }
    const last = entries[entries.length - 1];
    if (!last) throw new RangeError('weighted pick from an empty list');
    return last[0];
  }

  /**
   * Roughly normal: the Irwin–Hall sum of six uniforms, rescaled. Bounded at mean ± 4.25 sd, which
   * suits quantities and delays better than a true normal's unbounded tails.
   */
  gaussian(mean: number, sd: number): number {
    let sum = 0;
    for (let i = 0; i < 6; i++) sum += this.next();
    return mean + ((sum - 3) / Math.SQRT1_2) * sd;
  }

  /** Exponentially distributed with the given mean: gaps between independent arrivals. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Fisher–Yates, in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const held = items[i] as T;
      items[i] = items[j] as T;
      items[j] = held;
    }
    return items;
  }

  /** A version-4-shaped UUID made of this stream's bits: unique in practice, reproducible by seed. */
  uuid(): string {
    const a = hex(this.uint32());
    const b = hex(((this.uint32() & 0xffff0fff) | 0x00004000) >>> 0);
    const c = hex(((this.uint32() & 0x3fffffff) | 0x80000000) >>> 0);
    const d = hex(this.uint32());
    return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
  }

  /** `length` characters of [0-9A-Z]. */
  code(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += CODE_ALPHABET[this.uint32() % 36];
    return out;
  }

  digits(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += String(this.uint32() % 10);
    return out;
  }
}

/**
 * A fixed weighted choice drawn many times (SKU popularity, warehouse shares): cumulative weights
 * and a binary search, so a draw costs O(log n) instead of a pass over the catalogue.
 */
export class WeightedTable<T> {
  private readonly values: T[] = [];
  private readonly cumulative: number[] = [];
  private total = 0;

  constructor(entries: Iterable<readonly [T, number]>) {
    for (const [value, weight] of entries) {
      if (!(weight > 0)) continue;
      this.total += weight;
      this.values.push(value);
      this.cumulative.push(this.total);
    }
    if (this.values.length === 0) throw new RangeError('a weighted table needs at least one positive weight');
  }

  draw(rng: Random): T {
    const target = rng.next() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    return this.values[lo] as T;
  }

  /** Probability of drawing `value` (0 if absent). */
  share(value: T): number {
    const index = this.values.indexOf(value);
    if (index < 0) return 0;
    const before = index === 0 ? 0 : (this.cumulative[index - 1] as number);
    return ((this.cumulative[index] as number) - before) / this.total;
  }
}
