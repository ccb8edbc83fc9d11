/**
 * One valid natural-JSON value per source topic, as an integration engineer would write it
 * (optional fields omitted, ISO `occurredAt`). Used by the SDK's tests and as examples; each
 * call returns fresh objects, so a test may mutate its copy.
 */
import type { EventInputs, PublishableTopic } from './types';

const meta = (eventId: string, source: string) => ({ eventId, occurredAt: '2026-11-20T10:00:00Z', source });

export function sampleEvents(): { [T in PublishableTopic]: EventInputs[T] } {
  return {
    'item.upserted': { meta: meta('ev-item-1', 'ERP'), sku: 'SKU-10042', description: 'Hex bolt M8, box of 50', baseUom: 'EA', uomConversions: { EA: 1, CS: 12 }, safetyStock: { 'DC-EAST': 24 } },
    'customer.upserted': { meta: meta('ev-cust-1', 'CRM'), customerId: 'C-000781', name: 'Acme Hardware' },
    'order.created': {
      meta: meta('ev-order-1', 'ECOMMERCE'),
      orderId: 'SO-2026-004711',
      customerId: 'C-000781',
      channel: 'ECOMMERCE',
      lines: [
        { lineNo: 1, sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 3, uom: 'CS', unitPriceMinor: 1299 },
        { lineNo: 2, sku: 'SKU-10043', warehouse: 'DC-EAST', quantity: 5 },
      ],
    },
    'order.changed': { meta: meta('ev-order-2', 'ECOMMERCE'), orderId: 'SO-2026-004711', lines: [{ lineNo: 1, sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 4 }] },
    'order.cancelled': { meta: meta('ev-order-3', 'CRM'), orderId: 'SO-2026-004711', reason: 'customer request' },
    'pick.confirmed': { meta: meta('ev-pick-1', 'WMS'), orderId: 'SO-2026-004711', warehouse: 'DC-EAST', lines: [{ lineNo: 1, sku: 'SKU-10042', quantityPicked: 30, quantityShort: 6 }] },
    'shipment.confirmed': {
      meta: meta('ev-ship-1', 'WMS'),
      orderId: 'SO-2026-004711',
      shipmentId: 'SH-88001',
      warehouse: 'DC-EAST',
      carrier: 'UPS',
      lines: [{ lineNo: 1, sku: 'SKU-10042', quantityShipped: 30 }],
    },
    'stock.adjusted': { meta: meta('ev-adj-1', 'WMS'), sku: 'SKU-10042', warehouse: 'DC-WEST', delta: -2, reason: 'DAMAGE' },
    'stock.counted': { meta: meta('ev-count-1', 'WMS'), sku: 'SKU-10042', warehouse: 'DC-WEST', countedQuantity: 118 },
    'return.received': { meta: meta('ev-ret-1', 'WMS'), returnId: 'RT-501', orderId: 'SO-2026-004711', warehouse: 'DC-EAST', lines: [{ sku: 'SKU-10042', quantity: 2, disposition: 'RESTOCK' }] },
  };
}
