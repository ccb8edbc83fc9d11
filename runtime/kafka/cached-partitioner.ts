/**
 * kafkajs' DefaultPartitioner (Java's murmur2 of the key, so `orders.movements` lands where the
 * SDK puts `stock.*` records of the same sku@warehouse: README "Partitioning") with the partition
 * of each string key remembered. Processors produce a few records per input, mostly under keys
 * they produced before (an order's id, a hot row); kafkajs hashes every one again, copying the
 * key into a Buffer first — a measurable share of a processor's CPU.
 *
 * Same answers as the DefaultPartitioner by construction: a cache miss asks it, and an answer is
 * kept per partition count (a topic whose partitions were added is hashed afresh). Messages with
 * an explicit partition, a Buffer key or no key go straight to it. The cache is dropped whole when
 * it reaches `maxKeys`, which bounds memory under an endless stream of new order ids.
 */
import kafkajs, { type ICustomPartitioner } from 'kafkajs';

const { Partitioners } = kafkajs;

export const DEFAULT_MAX_KEYS = 100_000;

export function cachedDefaultPartitioner(maxKeys = DEFAULT_MAX_KEYS): ICustomPartitioner {
  return () => {
    const inner = Partitioners.DefaultPartitioner();
    const byCount = new Map<number, Map<string, number>>();
    let size = 0;
    return (args) => {
      const { message, partitionMetadata } = args;
      const key = message.key;
      if ((message.partition !== null && message.partition !== undefined) || typeof key !== 'string') return inner(args);
      const count = partitionMetadata.length;
      let known = byCount.get(count);
      if (!known) byCount.set(count, (known = new Map()));
      const cached = known.get(key);
      if (cached !== undefined) return cached;
      const partition = inner(args);
      if (size >= maxKeys) {
        byCount.clear();
        byCount.set(count, (known = new Map()));
        size = 0;
      }
      known.set(key, partition);
      size++;
      return partition;
    };
  };
}
