/**
 * The `orders.movements` protocol: the internal repartition topic from `orders` (keyed orderId)
 * to `atp` (keyed sku@warehouse). Every record is keyed `sku@warehouse` and carries a `meta`
 * whose eventId is deterministic from its cause, so the runtime dedupes it like any event.
 *
 * RESERVATION carries ABSOLUTE per-order values, never deltas: `reserved` is this order's whole
 * open base quantity at the row now. atp keeps one value per orderId and ignores a record whose
 * `rev` is not greater than the stored one, so re-delivery, replay and reordering across orders
 * cannot double or lose a reservation. `rev` counts every record the order has emitted (all
 * rows), so it increases along the order's partition. `generation` is the orders state epoch:
 * a rebuild refolds the order's events in another interleaving, whose intermediate values and
 * revs are not comparable with the old ones, so atp prefers the newer generation. Its eventId
 * includes the generation for the same reason (the old history's ids must not shadow the new). `touchedAt` is the greatest occurredAt of a
 * valid version of this order with a line at the row (null if none): it makes the row exist and
 * moves its asOf exactly as SPEC §5 says ("a line of any valid order version").
 *
 * STOCK is a movement in event time: shipment lines (−quantityShipped, even for unknown or
 * cancelled orders) and return lines (RESTOCK +quantity; SCRAP delta 0, so the row exists and
 * its asOf moves). `movementId` = the record's meta.eventId (cause eventId + line index).
 */
import type { Meta } from '../types';

export const MOVEMENTS_TOPIC = 'orders.movements';

export interface ReservationRecord {
  kind: 'RESERVATION';
  meta: Meta;
  orderId: string;
  sku: string;
  warehouse: string;
  reserved: number;
  rev: number;
  touchedAt: number | null;
  /** The orders state generation that emitted it ('' in tests without a runtime). */
  generation: string;
}

export interface StockMovementRecord {
  kind: 'STOCK';
  meta: Meta;
  movementId: string;
  sku: string;
  warehouse: string;
  delta: number;
  occurredAt: number;
}

export type MovementRecord = ReservationRecord | StockMovementRecord;
