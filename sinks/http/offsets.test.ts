import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PartitionOffsets } from './offsets';

describe('PartitionOffsets', () => {
  it('commits up to the lowest unfinished offset, then one past the last', () => {
    const o = new PartitionOffsets();
    expect(o.commitPoint()).toBeUndefined();
    for (const n of [10n, 11n, 12n, 15n]) o.add(n);
    expect(o.commitPoint()).toBe(10n);
    o.finish(11n);
    o.finish(15n);
    expect(o.commitPoint()).toBe(10n);
    o.finish(10n);
    expect(o.commitPoint()).toBe(12n);
    o.finish(12n);
    expect(o.commitPoint()).toBe(16n); // gaps (compaction, transaction markers) are passed
    expect(o.pending).toBe(0);
  });

  it('ignores a record read again', () => {
    const o = new PartitionOffsets();
    expect(o.add(5n)).toBe(true);
    expect(o.add(5n)).toBe(false);
    expect(o.add(4n)).toBe(false);
    expect(o.pending).toBe(1);
  });

  it('property: the commit point never passes an unfinished record', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 300, size: 'medium' }), fc.array(fc.nat(), { maxLength: 300, size: 'medium' }), (gaps, picks) => {
        const o = new PartitionOffsets();
        let at = 0n;
        const open = new Set<bigint>();
        for (const gap of gaps) {
          at += BigInt(gap);
          o.add(at);
          open.add(at);
        }
        for (const pick of picks) {
          const list = [...open];
          if (list.length === 0) break;
          const done = list[pick % list.length] as bigint;
          open.delete(done);
          o.finish(done);
          const point = o.commitPoint() as bigint;
          for (const unfinished of open) expect(point).toBeLessThanOrEqual(unfinished);
          expect(o.pending).toBe(open.size);
        }
        if (open.size === 0) expect(o.commitPoint()).toBe(at + 1n);
      }),
    );
  });
});
