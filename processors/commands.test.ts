/**
 * The commands of SPEC §7 as the processors emit them, worked out by hand from the table: which
 * fact gives which command, when versions and statuses are sent, and that commandIds are stable
 * for the same cause and never shared by two different bodies.
 */
import { describe, expect, it } from 'vitest';
import type { Output } from '../runtime/processor/types';
import { foldAtp, DEFAULT_GRACE_MS, type AtpState } from './atp/fold';
import type { CommandValue } from './commands';
import { foldCustomers, type CustomerState } from './customers/fold';
import { foldOrders, type OrderState } from './orders/fold';
import { adjust, at, cancel, changed, count, created, item, itemTable, meta, pick, ret, ship, type Rec } from './test-builders';
import { toEvent } from './types';

const items = itemTable(item('A', at(0), { conv: { CS: 12 } }));

function orders(records: Rec[], start?: OrderState): { state?: OrderState; commands: CommandValue[]; outputs: Output[] } {
  let state = start;
  const outputs: Output[] = [];
  for (const r of records) {
    const step = foldOrders(state, { topic: r.topic, value: toEvent(r.topic, r.value) }, { items });
    state = step.state;
    outputs.push(...step.outputs);
  }
  return { state, outputs, commands: outputs.filter((o) => o.topic.endsWith('.commands')).map((o) => o.value as CommandValue) };
}
const types = (commands: CommandValue[]) => commands.map((c) => c.type);
const line = (quantity: number, uom: string | null = null) => [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity, uom }];

describe('order commands', () => {
  it('sends the first valid version as CreateSalesOrder and each newer one as UpdateSalesOrder, in base units', () => {
    const { commands } = orders([created('O1', at(1), line(2, 'CS'), 'v1'), changed('O1', at(3), line(5), 'v3'), changed('O1', at(2), line(9), 'v2')]);
    const sales = commands.filter((c) => c.type.endsWith('SalesOrder'));
    expect(sales.map((c) => [c.type, c.payload.version, (c.payload.lines as { quantity: number }[])[0]?.quantity])).toEqual([
      ['CreateSalesOrder', at(1), 24],
      ['UpdateSalesOrder', at(3), 5],
    ]);
    expect(sales[0]?.payload).toMatchObject({ orderId: 'O1', customerId: 'C1', channel: 'CRM', currency: 'USD' });
    expect(sales[0]?.payload.lines).toEqual([{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 24, unitPriceMinor: 100 }]);
  });

  it('a change seen before its creation is the CreateSalesOrder; the older creation then sends nothing', () => {
    const { commands } = orders([changed('O2', at(5), line(3), 'c5'), created('O2', at(1), line(1), 'c1')]);
    expect(types(commands).filter((t) => t.endsWith('SalesOrder'))).toEqual(['CreateSalesOrder']);
  });

  it('an invalid version is a RejectOrder, never a sales order', () => {
    const { commands } = orders([created('O3', at(1), [{ lineNo: 1, sku: 'Z', warehouse: 'W1', quantity: 1 }])]);
    expect(types(commands)).toEqual(['RejectOrder', 'UpdateOrderStatus']);
    expect(commands[0]?.payload).toMatchObject({ orderId: 'O3', errors: [{ path: 'lines[0].sku', code: 'UNKNOWN_SKU' }] });
    expect(commands[1]?.payload).toMatchObject({ status: 'REJECTED' });
  });

  it('cancel, pick with shorts, shipment and return give their commands; a pick without shorts none', () => {
    const { commands } = orders([
      created('O4', at(1), line(10)),
      pick('O4', 'W1', [{ lineNo: 1, sku: 'A', picked: 10, short: 0 }], at(2)),
      pick('O4', 'W1', [{ lineNo: 1, sku: 'A', picked: 6, short: 4 }], at(3)),
      ship('O4', 'W1', [{ lineNo: 1, sku: 'A', qty: 6 }], at(4)),
      ret('O4', 'W1', [{ sku: 'A', qty: 1, disposition: 'RESTOCK' }], at(5)),
      cancel('O4', at(6)),
      cancel('O4', at(7)),
    ]);
    expect(types(commands)).toEqual([
      'CreateSalesOrder', 'UpdateOrderStatus',
      'NotifyBackorder', 'UpdateOrderStatus',
      'PostGoodsIssue', 'NotifyShipment', 'UpdateOrderStatus',
      'CreateCreditMemo',
      'CancelSalesOrder', 'UpdateOrderStatus',
    ]);
    const backorder = commands.find((c) => c.type === 'NotifyBackorder');
    expect(backorder?.payload.lines).toEqual([{ lineNo: 1, sku: 'A', quantityPicked: 6, quantityShort: 4 }]);
    expect(commands.filter((c) => c.type === 'UpdateOrderStatus').map((c) => c.payload.status)).toEqual(['OPEN', 'BACKORDERED', 'PARTIALLY_SHIPPED', 'CANCELLED']);
  });

  it('keys every command by orderId and derives commandIds from the cause: same input, same ids', () => {
    const input = [created('O5', at(1), line(1), 'k1'), ship('O5', 'W1', [{ lineNo: 1, sku: 'A', qty: 1 }], at(2), 'k2')];
    const a = orders(input);
    const b = orders(input);
    expect(a.outputs.filter((o) => o.topic.endsWith('.commands')).every((o) => o.key === 'O5')).toBe(true);
    expect(a.commands.map((c) => c.commandId)).toEqual(b.commands.map((c) => c.commandId));
    expect(new Set(a.commands.map((c) => c.commandId)).size).toBe(a.commands.length);
    expect(a.commands[0]).toMatchObject({ correlationId: 'corr-1', occurredAt: at(1) });
  });

  it('one cause leading to two different statuses in two histories gets two different ids', () => {
    const create = created('O6', at(1), line(1), 'x1');
    const shipAll = ship('O6', 'W1', [{ lineNo: 1, sku: 'A', qty: 1 }], at(2), 'x2');
    const createdFirst = orders([create]).commands.find((c) => c.type === 'UpdateOrderStatus');
    const shippedFirst = orders([shipAll, create]).commands.find((c) => c.type === 'UpdateOrderStatus');
    expect([createdFirst?.payload.status, shippedFirst?.payload.status]).toEqual(['OPEN', 'SHIPPED']);
    expect(createdFirst?.commandId).not.toBe(shippedFirst?.commandId);
  });
});

describe('stock and availability commands (atp)', () => {
  const ctx = { items: itemTable(item('A', at(0), { safetyStock: { W1: 2 } })), graceMs: DEFAULT_GRACE_MS };
  function atp(records: Rec[]): CommandValue[] {
    let state: AtpState | undefined;
    const commands: CommandValue[] = [];
    for (const r of records) {
      const step = foldAtp(state, { topic: r.topic, value: toEvent(r.topic, r.value) }, ctx);
      state = step.state;
      commands.push(...step.outputs.filter((o) => o.topic.endsWith('.commands')).map((o) => o.value as CommandValue));
    }
    return commands;
  }

  it('each adjustment and count goes to the ERP; availability to the CRM when it changes', () => {
    const commands = atp([adjust('A', 'W1', 10, at(1)), count('A', 'W1', 10, at(2)), adjust('A', 'W1', 0, at(2))]);
    expect(commands.map((c) => [c.type, c.payload])).toEqual([
      ['UpdateAvailability', { sku: 'A', warehouse: 'W1', available: 8, atp: 8, asOf: at(1) }],
      ['PostInventoryAdjustment', { sku: 'A', warehouse: 'W1', delta: 10, reason: 'CORRECTION', adjustedAt: at(1) }],
      ['UpdateAvailability', { sku: 'A', warehouse: 'W1', available: 8, atp: 8, asOf: at(2) }],
      ['PostCycleCount', { sku: 'A', warehouse: 'W1', countedQuantity: 10, countedAt: at(2) }],
      ['PostInventoryAdjustment', { sku: 'A', warehouse: 'W1', delta: 0, reason: 'CORRECTION', adjustedAt: at(2) }],
    ]);
  });
});

describe('customer commands', () => {
  const upsert = (t: number, name: string, id: string) => ({ topic: 'customer.upserted', value: toEvent('customer.upserted', { meta: meta(t, id), customerId: 'C9', name, email: null, creditLimitMinor: null, creditHold: false }) });

  it('sends a newer customer version, never an older one after it', () => {
    let state: CustomerState | undefined;
    const sent: string[] = [];
    for (const r of [upsert(at(2), 'Acme', 'u2'), upsert(at(1), 'Old Acme', 'u1'), upsert(at(3), 'Acme Corp', 'u3')]) {
      const step = foldCustomers(state, r);
      state = step.state;
      sent.push(...step.outputs.map((o) => ((o.value as CommandValue).payload.name as string)));
    }
    expect(sent).toEqual(['Acme', 'Acme Corp']);
  });
});
