/**
 * The `atp` processor declaration (./fold.ts). Safety stock reaches rows through the global item
 * table: when an item.upserted becomes current, the runtime re-folds, with `refresh`, every
 * sku@warehouse row of that sku it owns (`affects`: the key starts with `<sku>@`; codes cannot
 * contain `@`), so each warehouse's row re-emits atp.changed if its safety stock changed.
 * Setting `graceMs` (topology.yaml) defaults to 24 h (SPEC §5). View: `view:sku:<sku>` hashes,
 * warehouse → the AtpRow last sent.
 */
import type { TableView } from '../../runtime/processor/table';
import { defineProcessor } from '../../runtime/processor/types';
import { CRM_COMMANDS, type CommandValue } from '../commands';
import type { Item } from '../types';
import { ATP_INPUTS, ATP_OUTPUTS, atpKeyOf, DEFAULT_GRACE_MS, foldAtp, refreshAtp, type AtpContext, type AtpState } from './fold';

export default defineProcessor<AtpState, AtpContext>({
  name: 'atp',
  inputs: ATP_INPUTS,
  tables: ['item.upserted'],
  outputs: ATP_OUTPUTS,
  upstream: ['orders'],
  keyOf: atpKeyOf,
  fold: foldAtp,
  createContext: (tables, settings) => {
    const items = tables.get('item.upserted');
    if (!items) throw new Error('atp: the global table item.upserted was not provided');
    const graceMs = settings.graceMs ?? DEFAULT_GRACE_MS;
    if (typeof graceMs !== 'number' || !Number.isFinite(graceMs) || graceMs < 0) {
      throw new Error(`atp: settings.graceMs must be a non-negative number of milliseconds, got ${JSON.stringify(graceMs)}`);
    }
    return { items: items as TableView<Item>, graceMs };
  },
  onTableUpdate: {
    affects: (table, value, key) => table === 'item.upserted' && key.startsWith(`${(value as Item).sku}@`),
    refresh: refreshAtp,
  },
  // The row last sent on atp.changed is the row the API serves, per sku (GET /atp/{sku} reads
  // one hash per partition) and warehouse.
  view: (_key, state) => (state?.lastSent ? [{ name: `sku:${state.sku}`, field: state.warehouse, value: state.lastSent }] : []),
  // A row's atp.changed is a compacted topic's value, and its UpdateAvailability commands are
  // coalesced anyway (SPEC §7, the last value always sent): within one batch the last of each counts.
  latestOnly: (output) => {
    if (output.topic === 'atp.changed') return `row:${output.key}`;
    if (output.topic === CRM_COMMANDS && (output.value as CommandValue).type === 'UpdateAvailability') return `availability:${output.key}`;
    return undefined;
  },
});
