/** The cached partitioner answers exactly as kafkajs' DefaultPartitioner (Java murmur2), cache or not. */
import kafkajs, { type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { cachedDefaultPartitioner } from './cached-partitioner';

const { Partitioners } = kafkajs;
const metadata = (count: number): PartitionMetadata[] =>
  Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));

describe('cachedDefaultPartitioner', () => {
  it('gives every key the DefaultPartitioner partition, first time and from the cache, for several partition counts', () => {
    const reference = Partitioners.DefaultPartitioner();
    const cached = cachedDefaultPartitioner(50)();
    const keys = Array.from({ length: 200 }, (_, i) => (i % 2 ? `SO-${i}` : `SKU-${i}@DC-${i % 7}`));
    for (const count of [6, 1, 12, 6]) {
      for (const round of [1, 2]) {
        for (const key of keys) {
          const args = { topic: 't', partitionMetadata: metadata(count), message: { key, value: null } };
          expect(cached(args), `${key} over ${count} partitions, round ${round}`).toBe(reference(args));
        }
      }
    }
  });

  it('leaves an explicit partition alone', () => {
    const cached = cachedDefaultPartitioner()();
    expect(cached({ topic: 't', partitionMetadata: metadata(6), message: { key: 'k', value: null, partition: 4 } })).toBe(4);
  });
});
