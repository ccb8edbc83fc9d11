/**
 * Natural-JSON event builders (SPEC §4) for the processors' tests, and the driver/context setup
 * they share. Test-only: nothing in production imports this file.
 */
import { ProcessorDriver } from '../runtime/processor/driver';
import { LatestTable } from '../runtime/processor/table';
import { processors } from './index';
import { TABLE_KEYS } from './tables';
import { toEvent, type Item } from './types';

export const T0 = Date.parse('2026-11-20T10:00:00Z');
/** Minute `m` after T0, epoch millis. */
export const at = (m: number): number => T0 + m * 60_000;
export const HOUR = 3_600_000;

let serial = 0;
export const nextId = (prefix: string): string => `${prefix}-${String(++serial).padStart(6, '0')}`;

export const meta = (occurredAt: number, eventId?: string) => ({
  eventId: eventId ?? nextId('e'),
  occurredAt,
  source: 'TEST',
  correlationId: 'corr-1',
  causationId: null,
});

export interface Rec {
  topic: string;
  value: Record<string, unknown> & { meta: { eventId: string; occurredAt: number } };
}

export type LineSpec = { lineNo: number; sku: string; warehouse: string; quantity: number; uom?: string | null };

export const item = (sku: string, t: number, opts: { safetyStock?: Record<string, number>; conv?: Record<string, number>; baseUom?: string; id?: string } = {}): Rec => ({
  topic: 'item.upserted',
  value: { meta: meta(t, opts.id), sku, description: `item ${sku}`, baseUom: opts.baseUom ?? 'EA', uomConversions: opts.conv ?? { CS: 12 }, safetyStock: opts.safetyStock ?? {} },
});
const lines = (ls: LineSpec[]) => ls.map((l) => ({ uom: null, unitPriceMinor: 100, ...l }));
export const created = (orderId: string, t: number, ls: LineSpec[], id?: string): Rec => ({
  topic: 'order.created',
  value: { meta: meta(t, id), orderId, customerId: 'C1', channel: 'CRM', currency: 'USD', requestedShipDate: null, lines: lines(ls) },
});
export const changed = (orderId: string, t: number, ls: LineSpec[], id?: string): Rec => ({
  topic: 'order.changed',
  value: { meta: meta(t, id), orderId, lines: lines(ls) },
});
export const cancel = (orderId: string, t: number, id?: string): Rec => ({ topic: 'order.cancelled', value: { meta: meta(t, id), orderId, reason: null } });
export const adjust = (sku: string, warehouse: string, delta: number, t: number, id?: string): Rec => ({
  topic: 'stock.adjusted',
  value: { meta: meta(t, id), sku, warehouse, delta, reason: 'CORRECTION' },
});
export const count = (sku: string, warehouse: string, countedQuantity: number, t: number, id?: string): Rec => ({
  topic: 'stock.counted',
  value: { meta: meta(t, id), sku, warehouse, countedQuantity },
});
export const ship = (orderId: string, warehouse: string, ls: { lineNo: number; sku: string; qty: number }[], t: number, id?: string): Rec => ({
  topic: 'shipment.confirmed',
  value: {
    meta: meta(t, id),
    orderId,
    shipmentId: nextId('s'),
    warehouse,
    carrier: 'UPS',
    trackingNumber: null,
    lines: ls.map((l) => ({ lineNo: l.lineNo, sku: l.sku, quantityShipped: l.qty })),
  },
});
export const pick = (orderId: string, warehouse: string, ls: { lineNo: number; sku: string; picked: number; short: number }[], t: number, id?: string): Rec => ({
  topic: 'pick.confirmed',
  value: { meta: meta(t, id), orderId, warehouse, lines: ls.map((l) => ({ lineNo: l.lineNo, sku: l.sku, quantityPicked: l.picked, quantityShort: l.short })) },
});
export const ret = (orderId: string, warehouse: string, ls: { sku: string; qty: number; disposition: 'RESTOCK' | 'SCRAP' }[], t: number, id?: string): Rec => ({
  topic: 'return.received',
  value: { meta: meta(t, id), returnId: nextId('r'), orderId, warehouse, lines: ls.map((l) => ({ sku: l.sku, quantity: l.qty, disposition: l.disposition })) },
});

/** An item table holding `items` (later ones win as in production). */
export function itemTable(...items: Rec[]): LatestTable<Item> {
  const table = new LatestTable<Item>((v) => v.sku);
  for (const i of items) table.upsert(toEvent('item.upserted', i.value) as Item);
  return table;
}

/** A driver running the registered orders and atp processors. */
export function pipelineDriver(settings: Record<string, Record<string, unknown>> = {}, jsonState = false): ProcessorDriver {
  return new ProcessorDriver({ processors: [processors.orders, processors.atp], tableKeys: TABLE_KEYS, settings, jsonState });
}
