/** Topic prefixes: one deployment per prefix, logical names kept for the catalogue. */
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../errors';
import { naming } from './naming';

describe('naming', () => {
  it('prefixes topics, groups and stores, and maps Kafka topics back', () => {
    const n = naming('staging.');
    expect(n.topic('order.created')).toBe('staging.order.created');
    expect(n.group('tributary.orders')).toBe('staging.tributary.orders');
    expect(n.store('atp')).toBe('staging.atp');
    expect(n.logical('staging.order.created')).toBe('order.created');
    expect(n.logical('order.created')).toBeUndefined();
  });

  it('is the identity without a prefix', () => {
    const n = naming();
    expect([n.topic('a.b'), n.group('g'), n.store('atp'), n.logical('a.b')]).toEqual(['a.b', 'g', 'atp', 'a.b']);
  });

  it.each(['a b', 'a{b}', 'x:y', 'p*'])('refuses prefix %j with a configuration error', (prefix) => {
    expect(() => naming(prefix)).toThrow(TributaryError);
  });
});
