/**
 * The global tables processors read (topology.yaml `tables:`), by topic, with the key each
 * record is stored under. The runtime bootstraps each to its end offsets before folding inputs.
 */
import type { Item } from './types';

export const TABLE_KEYS: Readonly<Record<string, (value: unknown) => string>> = {
  'item.upserted': (value) => (value as Item).sku,
};
