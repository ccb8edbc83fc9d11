import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeProgress, fits, isRedriven, markSent, parseProgress, type Progress } from './dlq-progress';

const none: Progress = { next: 0n, sent: [] };

describe('redrive progress', () => {
  it('nothing committed: nothing re-driven', () => {
    for (const offset of [undefined, null, '-1', '']) expect(parseProgress(offset, null)).toEqual(none);
    expect(isRedriven(none, 0n)).toBe(false);
  });

  it('offsets sent one by one become ranges; next moves over the ones that join it', () => {
    let p = markSent(none, [3n, 4n, 7n]);
    expect(p).toEqual({ next: 0n, sent: [[3n, 4n], [7n, 7n]] });
    expect([0n, 3n, 4n, 5n, 7n].map((o) => isRedriven(p, o))).toEqual([false, true, true, false, true]);
    p = markSent(p, [0n, 1n, 2n]);
    expect(p).toEqual({ next: 5n, sent: [[7n, 7n]] });
    p = markSent(p, [6n, 5n]);
    expect(p).toEqual({ next: 8n, sent: [] });
  });

  it('round-trips through the committed offset and metadata', () => {
    const p = markSent({ next: 10n, sent: [] }, [12n, 13n, 14n, 20n]);
    const stored = encodeProgress(p);
    expect(stored).toEqual({ offset: '10', metadata: 'tributary.redrive/1 12-14,20' });
    expect(parseProgress(stored.offset, stored.metadata)).toEqual(p);
    expect(encodeProgress({ next: 4n, sent: [] })).toEqual({ offset: '4', metadata: null });
  });

  it('metadata it cannot read counts as no ranges (at worst a repeat, which processors drop)', () => {
    expect(parseProgress('9', 'something else')).toEqual({ next: 9n, sent: [] });
    expect(parseProgress('9', 'tributary.redrive/1 12-x')).toEqual({ next: 9n, sent: [] });
    expect(parseProgress('9', 'tributary.redrive/1 14-12')).toEqual({ next: 9n, sent: [] });
  });

  it('says when scattered ranges no longer fit the commit metadata', () => {
    const scattered = markSent(none, Array.from({ length: 2_000 }, (_, i) => BigInt(i * 2 + 1)));
    expect(fits(scattered)).toBe(false);
    expect(fits(markSent(none, Array.from({ length: 2_000 }, (_, i) => BigInt(i + 1))))).toBe(true);
  });

  it('property: a record is re-driven iff it was marked or lies below the starting next', () => {
    fc.assert(
      fc.property(fc.nat(20), fc.array(fc.array(fc.nat(60), { maxLength: 10 }), { maxLength: 6 }), (start, batches) => {
        let p: Progress = { next: BigInt(start), sent: [] };
        const marked = new Set<number>();
        for (const batch of batches) {
          p = markSent(p, batch.map(BigInt));
          batch.forEach((o) => marked.add(o));
          // Stored and read back at every step, as each chunk is committed.
          const stored = encodeProgress(p);
          p = parseProgress(stored.offset, stored.metadata);
        }
        for (let offset = 0; offset < 70; offset++) {
          expect(isRedriven(p, BigInt(offset))).toBe(offset < start || marked.has(offset));
        }
        // Ranges stay sorted, disjoint, not touching each other or next.
        let floor = p.next;
        for (const [from, to] of p.sent) {
          expect(from > floor).toBe(true);
          expect(to >= from).toBe(true);
          floor = to + 1n;
        }
      }),
    );
  });
});
