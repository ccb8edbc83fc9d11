/**
 * The source events the simulator emits (SPEC §4): the topics, the value of each (shapes from
 * runtime/schemas/events.ts) and the record key each topic uses. Optional fields the simulator
 * leaves unset are written as `null`, never omitted, so every value carries the same fields in
 * the same order; `occurredAt` is epoch millis.
 */

import type * as shapes from '../../runtime/schemas/events';

export const SOURCE_TOPICS = [
  'item.upserted',
  'customer.upserted',
  'order.created',
  'order.changed',
  'order.cancelled',
  'pick.confirmed',
  'shipment.confirmed',
  'stock.adjusted',
  'stock.counted',
  'return.received',
] as const;

export type SourceTopic = (typeof SOURCE_TOPICS)[number];

/** The source systems the simulator writes into `meta.source` (the schema types it as a string). */
export type Source = 'CRM' | 'ECOMMERCE' | 'EDI' | 'ERP' | 'WMS';

export type * from '../../runtime/schemas/events';

export interface EventValues {
  'item.upserted': shapes.ItemUpserted;
  'customer.upserted': shapes.CustomerUpserted;
  'order.created': shapes.OrderCreated;
  'order.changed': shapes.OrderChanged;
  'order.cancelled': shapes.OrderCancelled;
  'pick.confirmed': shapes.PickConfirmed;
  'shipment.confirmed': shapes.ShipmentConfirmed;
  'stock.adjusted': shapes.StockAdjusted;
  'stock.counted': shapes.StockCounted;
  'return.received': shapes.ReturnReceived;
}

export type EventValue = EventValues[SourceTopic];

/** One record to publish: topic, key per SPEC §4, natural-JSON value. */
export type SimEvent = { [T in SourceTopic]: { topic: T; key: string; value: EventValues[T] } }[SourceTopic];

export function stockKey(sku: string, warehouse: string): string {
  return `${sku}@${warehouse}`;
}

/** The record key SPEC §4 gives each topic, read off the value. */
export function keyOf(event: Pick<SimEvent, 'topic' | 'value'>): string {
  const topic: SourceTopic = event.topic;
  const value = event.value as unknown as Record<string, unknown>;
  switch (topic) {
    case 'item.upserted':
      return value.sku as string;
    case 'customer.upserted':
      return value.customerId as string;
    case 'stock.adjusted':
    case 'stock.counted':
      return stockKey(value.sku as string, value.warehouse as string);
    default:
      return value.orderId as string;
  }
}
