/**
 * The order-keyed commands of SPEC §7, built from what the orders fold sees (./fold.ts decides
 * when): sales-order versions, cancels, goods issues, credit memos for the ERP; status changes,
 * rejections, backorders and shipments for the CRM. Pure builders: no state is kept here.
 */
import { crmCommand, erpCommand, type Cause } from '../commands';
import type { Output } from '../../runtime/processor/types';
import type { OrderCancelled, OrderChanged, OrderCreated, PickConfirmed, ReturnReceived, ShipmentConfirmed } from '../types';
import type { FieldProblem, OrderStatusValue, VersionLine } from './fold';

export interface OrderHeader {
  customerId: string | null;
  channel: string | null;
  currency: string | null;
}

/** CreateSalesOrder for the first valid version sent, UpdateSalesOrder for each newer one. */
export function salesOrderCommand(first: boolean, cause: Cause, version: OrderCreated | OrderChanged, lines: readonly VersionLine[], header: OrderHeader | null): Output {
  const priceOf = new Map(version.lines.map((l) => [l.lineNo, l.unitPriceMinor ?? null]));
  return erpCommand(first ? 'CreateSalesOrder' : 'UpdateSalesOrder', version.orderId, cause, {
    orderId: version.orderId,
    customerId: header?.customerId ?? null,
    channel: header?.channel ?? null,
    currency: header?.currency ?? null,
    version: cause.meta.occurredAt,
    lines: lines.map((l) => ({ lineNo: l.lineNo, sku: l.sku, warehouse: l.warehouse, quantity: l.ordered, unitPriceMinor: priceOf.get(l.lineNo) ?? null })),
  });
}

export function cancelCommand(cause: Cause, cancel: OrderCancelled): Output {
  return erpCommand('CancelSalesOrder', cancel.orderId, cause, { orderId: cancel.orderId, reason: cancel.reason ?? null, cancelledAt: cause.meta.occurredAt });
}

/** PostGoodsIssue for the ERP and NotifyShipment for the CRM: the same facts, two systems. */
export function shipmentCommands(cause: Cause, shipment: ShipmentConfirmed): Output[] {
  const payload = {
    orderId: shipment.orderId,
    shipmentId: shipment.shipmentId,
    warehouse: shipment.warehouse,
    carrier: shipment.carrier,
    trackingNumber: shipment.trackingNumber ?? null,
    shippedAt: cause.meta.occurredAt,
    lines: shipment.lines.map((l) => ({ lineNo: l.lineNo, sku: l.sku, quantityShipped: l.quantityShipped })),
  };
  return [erpCommand('PostGoodsIssue', shipment.orderId, cause, payload), crmCommand('NotifyShipment', shipment.orderId, cause, payload)];
}

export function creditMemoCommand(cause: Cause, ret: ReturnReceived): Output {
  return erpCommand('CreateCreditMemo', ret.orderId, cause, {
    returnId: ret.returnId,
    orderId: ret.orderId,
    warehouse: ret.warehouse,
    receivedAt: cause.meta.occurredAt,
    lines: ret.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, disposition: l.disposition })),
  });
}

/** NotifyBackorder when a pick reports any short quantity; only the short lines. */
export function backorderCommand(cause: Cause, pick: PickConfirmed): Output | undefined {
  const short = pick.lines.filter((l) => l.quantityShort > 0);
  if (short.length === 0) return undefined;
  return crmCommand('NotifyBackorder', pick.orderId, cause, {
    orderId: pick.orderId,
    warehouse: pick.warehouse,
    pickedAt: cause.meta.occurredAt,
    lines: short.map((l) => ({ lineNo: l.lineNo, sku: l.sku, quantityPicked: l.quantityPicked, quantityShort: l.quantityShort })),
  });
}

export function rejectCommand(cause: Cause, orderId: string, errors: readonly FieldProblem[]): Output {
  return crmCommand('RejectOrder', orderId, cause, { orderId, rejectedEventId: cause.meta.eventId, errors, rejectedAt: cause.meta.occurredAt });
}

/** UpdateOrderStatus (the status one cause leads to depends on what was folded before: the id names the payload). */
export function statusCommand(cause: Cause, status: OrderStatusValue): Output {
  return crmCommand('UpdateOrderStatus', status.orderId, cause, { ...status });
}
