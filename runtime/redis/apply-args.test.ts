/** KEYS/ARGV encoding of apply-batch-5.lua and the caller-side checks; list chunking. */
import { describe, expect, it } from 'vitest';
import { chunks, encodeApplyArgs, type PartitionBatch } from './apply-args';

const options = { epoch: 'E', cutoff: 1000, pruneLimit: 50 };

function batch(overrides: Partial<PartitionBatch<unknown>> = {}): PartitionBatch<unknown> {
  return { expectedWatermarks: {}, newWatermarks: {}, puts: new Map(), deletes: [], seen: [], ...overrides };
}

describe('encodeApplyArgs', () => {
  it('lays out counts, then expected, new, puts, deletes and seen in the header order', () => {
    const args = encodeApplyArgs(
      batch({
        expectedWatermarks: { a: '4' },
        newWatermarks: { a: '9', b: '0' },
        puts: new Map([['k1', { n: 1 }]]),
        deletes: ['k2'],
        seen: [{ topic: 'a', eventId: 'e1', at: 1234 }],
      }),
      options,
    );
    expect(args).toEqual({
      viewNames: [],
      args: ['E', '1000', '50', '1', '2', '1', '1', '1', '0', '0', '0', '', 'a', '4', 'a', '9', 'b', '0', 'k1', '{"n":1}', 'k2', '1234', 'a|e1'],
    });
  });

  it('encodes an empty batch as counts only', () => {
    expect(encodeApplyArgs(batch(), options)).toEqual({ viewNames: [], args: ['E', '1000', '50', '0', '0', '0', '0', '0', '0', '0', '0', ''] });
  });

  it('numbers view keys from KEYS[5] in first-use order, with an empty value for a deletion, then meta fields', () => {
    const encoded = encodeApplyArgs(
      batch({
        views: [
          { name: 'sku:A', field: 'W1', value: '{"x":1}' },
          { name: 'status', field: 'o1', value: null },
          { name: 'sku:A', field: 'W2', value: '{"x":2}' },
        ],
        metaSet: { '@catchup': '{"t":"5"}' },
        metaDelete: ['@other'],
        outbox: '[1]',
      }),
      options,
    );
    expect(encoded.viewNames).toEqual(['sku:A', 'status']);
    expect(encoded.args).toEqual([
      'E', '1000', '50', '0', '0', '0', '0', '0', '3', '1', '1', '[1]',
      '5', 'W1', '{"x":1}', '6', 'o1', '', '5', 'W2', '{"x":2}',
      '@catchup', '{"t":"5"}',
      '@other',
    ]);
  });

  it('refuses meta fields that are topics or the epoch, and one both set and deleted', () => {
    expect(() => encodeApplyArgs(batch({ metaSet: { catchup: '1' } }), options)).toThrow(TypeError);
    expect(() => encodeApplyArgs(batch({ metaDelete: ['@epoch'] }), options)).toThrow(TypeError);
    expect(() => encodeApplyArgs(batch({ metaSet: { '@c': '1' }, metaDelete: ['@c'] }), options)).toThrow(TypeError);
  });

  it('refuses a watermark that moves back', () => {
    expect(() => encodeApplyArgs(batch({ expectedWatermarks: { a: '10' }, newWatermarks: { a: '9' } }), options)).toThrow(RangeError);
  });

  it('compares offsets as 64-bit integers, not strings', () => {
    expect(() => encodeApplyArgs(batch({ expectedWatermarks: { a: '9' }, newWatermarks: { a: '10' } }), options)).not.toThrow();
    expect(() =>
      encodeApplyArgs(batch({ expectedWatermarks: { a: '9007199254740993' }, newWatermarks: { a: '9007199254740992' } }), options),
    ).toThrow(RangeError);
  });

  it.each(['-1', '1.5', '01', 'x', ''])('refuses offset %j', (offset) => {
    expect(() => encodeApplyArgs(batch({ newWatermarks: { a: offset } }), options)).toThrow(TypeError);
  });

  it('refuses a key both put and deleted, and an event id recorded twice', () => {
    expect(() => encodeApplyArgs(batch({ puts: new Map([['k', 1]]), deletes: ['k'] }), options)).toThrow(TypeError);
    const twice = [{ topic: 'a', eventId: 'e', at: 1 }, { topic: 'a', eventId: 'e', at: 2 }];
    expect(() => encodeApplyArgs(batch({ seen: twice }), options)).toThrow(TypeError);
  });

  it('accepts the same event id on two topics', () => {
    const seen = [{ topic: 'a', eventId: 'e', at: 1 }, { topic: 'b', eventId: 'e', at: 1 }];
    expect(encodeApplyArgs(batch({ seen }), options).args.slice(-4)).toEqual(['1', 'a|e', '1', 'b|e']);
  });

  it('refuses a state that JSON cannot represent', () => {
    expect(() => encodeApplyArgs(batch({ puts: new Map([['k', undefined]]) }), options)).toThrow(TypeError);
  });
});

describe('chunks', () => {
  it('splits into slices of at most the size, keeping order', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([1, 2], 2)).toEqual([[1, 2]]);
    expect(chunks([], 3)).toEqual([]);
  });

  it.each([0, -1, 1.5])('refuses size %s', (size) => {
    expect(() => chunks([1], size)).toThrow(RangeError);
  });
});
