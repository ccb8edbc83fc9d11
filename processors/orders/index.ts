/**
 * The `orders` processor declaration: order versions, validation against the item master,
 * order.status, order.rejected and the orders.movements repartition to atp (./fold.ts).
 */
import type { TableView } from '../../runtime/processor/table';
import { defineProcessor } from '../../runtime/processor/types';
import type { Item } from '../types';
import { foldOrders, ORDERS_INPUTS, ORDERS_OUTPUTS, type OrderState, type OrdersContext } from './fold';
import { MOVEMENTS_TOPIC, type MovementRecord } from './movements';

export default defineProcessor<OrderState, OrdersContext>({
  name: 'orders',
  inputs: ORDERS_INPUTS,
  tables: ['item.upserted'],
  outputs: ORDERS_OUTPUTS,
  // The repartition to atp: no CloudEvents headers on its records (runtime/processor/types.ts).
  internalOutputs: [MOVEMENTS_TOPIC],
  keyOf: (_topic, value) => (value as { orderId: string }).orderId,
  fold: foldOrders,
  createContext: (tables) => ({ items: requireTable<Item>(tables, 'item.upserted') }),
  // GET /orders/{orderId} serves the order.status record last sent.
  view: (key, state) => (state?.lastStatus ? [{ name: 'status', field: key, value: state.lastStatus }] : []),
  // order.status is compacted by orderId; a RESERVATION holds the order's whole reservation at the
  // row (./movements.ts: reserved absolute, rev and touchedAt only grow), so within one batch the
  // last per order and row says everything the earlier ones did. Commands and STOCK movements all go.
  latestOnly: (output) => {
    if (output.topic === 'order.status') return `status:${output.key}`;
    const movement = output.value as MovementRecord;
    if (output.topic === MOVEMENTS_TOPIC && movement.kind === 'RESERVATION') return `reservation:${output.key}:${movement.orderId}`;
    return undefined;
  },
});

function requireTable<V>(tables: ReadonlyMap<string, TableView<unknown>>, topic: string): TableView<V> {
  const table = tables.get(topic);
  if (!table) throw new Error(`orders: the global table ${topic} was not provided`);
  return table as TableView<V>;
}
