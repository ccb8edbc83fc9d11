/** Key names and SCAN patterns: hash tags keep one partition in one Cluster slot, names stay glob-safe. */
import { describe, expect, it } from 'vitest';
import { allPartitionsPattern, epochKey, partitionKeys, partitionPattern, seenMember, topicsOf, viewKey } from './keys';

describe('state store keys', () => {
  it('puts every key of one partition under the hash tag {processor:partition}', () => {
    expect(partitionKeys('atp', 3)).toEqual({
      state: 'trb:{atp:3}:state',
      watermark: 'trb:{atp:3}:watermark',
      seen: 'trb:{atp:3}:seen',
      outbox: 'trb:{atp:3}:outbox',
    });
  });

  it('gives the epoch its own per-processor tag', () => {
    expect(epochKey('orders')).toBe('trb:{orders}:epoch');
  });

  it('matches one partition, or all partitions but never another processor sharing a prefix', () => {
    expect(partitionPattern('atp', 12)).toBe('trb:{atp:12}:*');
    expect(allPartitionsPattern('atp')).toBe('trb:{atp:*');
    // A glob of 'trb:{atp:*' cannot match 'trb:{atp-2:0}:state' nor the epoch 'trb:{atp}:epoch'.
    const glob = new RegExp(`^${allPartitionsPattern('atp').replace(/[{}]/g, '\\$&').replace('*', '.*')}$`);
    expect(glob.test('trb:{atp:0}:state')).toBe(true);
    expect(glob.test('trb:{atp-2:0}:state')).toBe(false);
    expect(glob.test('trb:{atp}:epoch')).toBe(false);
  });

  it.each(['', '.atp', 'a:b', 'a{b}', 'a*', 'a b', 'a[1]'])('refuses processor name %j', (name) => {
    expect(() => partitionKeys(name, 0)).toThrow(TypeError);
    expect(() => epochKey(name)).toThrow(TypeError);
  });

  it.each([-1, 1.5, Number.NaN])('refuses partition %s', (partition) => {
    expect(() => partitionKeys('atp', partition)).toThrow(TypeError);
  });

  it('scopes seen ids by topic', () => {
    expect(seenMember('stock.adjusted', 'e-1')).toBe('stock.adjusted|e-1');
    expect(seenMember('stock.counted', 'e-1')).not.toBe(seenMember('stock.adjusted', 'e-1'));
  });

  it('accepts a topic-prefixed store name, and keeps view names glob-safe', () => {
    expect(epochKey('Dev-1.atp')).toBe('trb:{Dev-1.atp}:epoch');
    expect(viewKey('atp', 2, 'sku:A-1')).toBe('trb:{atp:2}:view:sku:A-1');
    expect(() => viewKey('atp', 2, 'sku:*')).toThrow(TypeError);
  });

  it('leaves meta fields out of the topic watermarks', () => {
    expect(topicsOf({ '@epoch': 'e', '@catchup': '{}', 'order.created': '4' })).toEqual({ 'order.created': '4' });
  });
});
