/**
 * A global table: the latest record per key by event time (`meta.occurredAt`, ties broken by the
 * greater `meta.eventId`, as for order versions and counts), fed by a compacted-style topic such
 * as item.upserted. Arrival order does not matter: an older record never replaces a newer one.
 * The runtime bootstraps it from the topic to its end offsets before folding any input (like a
 * Kafka Streams GlobalKTable); the test driver feeds it directly.
 */
import type { Meta } from '../../processors/types';

export interface TableView<V> {
  get(key: string): V | undefined;
}

export class LatestTable<V extends { meta: Meta }> implements TableView<V> {
  private readonly rows = new Map<string, V>();

  constructor(private readonly keyOf: (value: V) => string) {}

  get(key: string): V | undefined {
    return this.rows.get(key);
  }

  get size(): number {
    return this.rows.size;
  }

  /** Stores `value` if it is later than the key's current record; true if it became current. */
  upsert(value: V): boolean {
    const key = this.keyOf(value);
    const known = this.rows.get(key);
    if (known && !isLaterMeta(value.meta, known.meta)) return false;
    this.rows.set(key, value);
    return true;
  }
}

/** Greater occurredAt, ties broken by the greater eventId (string order). */
export function isLaterMeta(a: Meta, b: Meta): boolean {
  if (a.occurredAt !== b.occurredAt) return a.occurredAt > b.occurredAt;
  return a.eventId > b.eventId;
}
