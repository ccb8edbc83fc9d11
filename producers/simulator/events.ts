/**
 * The natural-JSON shapes of the source events the simulator emits (SPEC §4) and the record key
 * each topic uses. Optional fields the simulator leaves unset are written as `null`, never
 * omitted, so every value carries the same fields in the same order; `occurredAt` is epoch millis.
 */

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

export type Source = 'CRM' | 'ECOMMERCE' | 'EDI' | 'ERP' | 'WMS';
export type Channel = 'CRM' | 'ECOMMERCE' | 'EDI' | 'MARKETPLACE';
export type AdjustmentReason =
  | 'RECEIPT'
  | 'DAMAGE'
  | 'LOST'
  | 'FOUND'
  | 'CORRECTION'
  | 'TRANSFER_IN'
  | 'TRANSFER_OUT'
  | 'SCRAP';
export type Disposition = 'RESTOCK' | 'SCRAP';

export interface Meta {
  eventId: string;
  occurredAt: number;
  source: Source;
  correlationId: string | null;
  causationId: string | null;
}

export interface ItemUpserted {
  meta: Meta;
  sku: string;
  description: string;
  baseUom: string;
  uomConversions: Record<string, number>;
  safetyStock: Record<string, number>;
}

export interface CustomerUpserted {
  meta: Meta;
  customerId: string;
  name: string;
  email: string | null;
  creditLimitMinor: number | null;
  creditHold: boolean;
}

export interface OrderLine {
  lineNo: number;
  sku: string;
  warehouse: string;
  quantity: number;
  uom: string | null;
  unitPriceMinor: number | null;
}

export interface OrderCreated {
  meta: Meta;
  orderId: string;
  customerId: string;
  channel: Channel;
  currency: string;
  requestedShipDate: string | null;
  lines: OrderLine[];
}

export interface OrderChanged {
  meta: Meta;
  orderId: string;
  lines: OrderLine[];
}

export interface OrderCancelled {
  meta: Meta;
  orderId: string;
  reason: string | null;
}

export interface PickConfirmed {
  meta: Meta;
  orderId: string;
  warehouse: string;
  lines: { lineNo: number; sku: string; quantityPicked: number; quantityShort: number }[];
}

export interface ShipmentConfirmed {
  meta: Meta;
  orderId: string;
  shipmentId: string;
  warehouse: string;
  carrier: string;
  trackingNumber: string | null;
  lines: { lineNo: number; sku: string; quantityShipped: number }[];
}

export interface StockAdjusted {
  meta: Meta;
  sku: string;
  warehouse: string;
  delta: number;
  reason: AdjustmentReason;
}

export interface StockCounted {
  meta: Meta;
  sku: string;
  warehouse: string;
  countedQuantity: number;
}

export interface ReturnReceived {
  meta: Meta;
  returnId: string;
  orderId: string;
  warehouse: string;
  lines: { sku: string; quantity: number; disposition: Disposition }[];
}

export interface EventValues {
  'item.upserted': ItemUpserted;
  'customer.upserted': CustomerUpserted;
  'order.created': OrderCreated;
  'order.changed': OrderChanged;
  'order.cancelled': OrderCancelled;
  'pick.confirmed': PickConfirmed;
  'shipment.confirmed': ShipmentConfirmed;
  'stock.adjusted': StockAdjusted;
  'stock.counted': StockCounted;
  'return.received': ReturnReceived;
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
