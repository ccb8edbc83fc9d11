import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keepLatest } from './coalesce';

interface Item {
  n: number;
  identity?: string;
}

const identityOf = (item: Item) => item.identity;

describe('keepLatest', () => {
  it('keeps the last output of each identity at its own place and every output without one', () => {
    const items: Item[] = [
      { n: 1, identity: 'a' },
      { n: 2 },
      { n: 3, identity: 'b' },
      { n: 4, identity: 'a' },
      { n: 5 },
      { n: 6, identity: 'b' },
      { n: 7, identity: 'c' },
    ];
    const { kept, dropped } = keepLatest(items, identityOf);
    expect(kept.map((i) => i.n)).toEqual([2, 4, 5, 6, 7]);
    expect(dropped.map((i) => i.n)).toEqual([1, 3]);
  });

  it('keeps everything when nothing has an identity', () => {
    const items: Item[] = [{ n: 1 }, { n: 2 }];
    expect(keepLatest(items, identityOf)).toEqual({ kept: items, dropped: [] });
  });

  it('is a partition of the input whose kept part ends every identity on its last value, in the input order', () => {
    const item = fc.record({ n: fc.nat(), identity: fc.option(fc.constantFrom('a', 'b', 'c', 'd'), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 200, size: 'medium' }), (raw) => {
        const items = raw.map((r, i) => ({ ...r, n: i }));
        const { kept, dropped } = keepLatest(items, identityOf);
        expect([...kept, ...dropped].map((i) => i.n).sort((a, b) => a - b)).toEqual(items.map((i) => i.n));
        // Order kept, and the same "last value per identity" as the whole sequence.
        expect(kept.map((i) => i.n)).toEqual([...kept.map((i) => i.n)].sort((a, b) => a - b));
        const lastOf = (list: Item[]) => new Map(list.filter((i) => i.identity !== undefined).map((i) => [i.identity, i.n]));
        expect(lastOf(kept)).toEqual(lastOf(items));
        expect(kept.filter((i) => i.identity === undefined)).toEqual(items.filter((i) => i.identity === undefined));
        expect(new Set(kept.filter((i) => i.identity !== undefined).map((i) => i.identity)).size).toBe(kept.filter((i) => i.identity !== undefined).length);
      }),
    );
  });
});
