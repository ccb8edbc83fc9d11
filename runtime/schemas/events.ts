/**
 * The source events of SPEC §4 in their normalized natural-JSON shape: `occurredAt` is epoch
 * millis and optional fields are present (null or their SPEC default), never omitted. One
 * definition shared by what reads them (processors/types.ts, for the folds) and what writes them
 * (producers/simulator/events.ts). Enum unions carry the .avsc symbols of schemas/.
 *
 * Not the SDK's `producers/sdk/types.ts`: those are what a publisher may PASS (optional fields,
 * string or Date timestamps); these are what a reader may RELY on.
 */

/** schemas/order.created.avsc `Channel`. */
export type Channel = 'CRM' | 'ECOMMERCE' | 'EDI' | 'MARKETPLACE';

/** schemas/stock.adjusted.avsc `reason`. */
export type AdjustmentReason =
  | 'RECEIPT'
  | 'DAMAGE'
  | 'LOST'
  | 'FOUND'
  | 'CORRECTION'
  | 'TRANSFER_IN'
  | 'TRANSFER_OUT'
  | 'SCRAP';

/** schemas/return.received.avsc `disposition`. */
export type Disposition = 'RESTOCK' | 'SCRAP';

export interface Meta {
  eventId: string;
  /** Epoch millis. */
  occurredAt: number;
  /** A plain string in the schema; the simulator narrows what it writes to its `Source`. */
  source: string;
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
