/**
 * The shipped topology.yaml against the real catalogue: it validates, declares exactly the
 * catalogue's topics with their own schemas, and the processors and sinks SPEC §5-§9 names.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FOREVER } from '../../runtime/topology/model';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import { validateTopologyFile } from '../../runtime/topology/validate';
import { processors } from '../../processors';

const file = fileURLToPath(new URL('../../topology.yaml', import.meta.url));
const catalogue = loadCatalogue();
const { topology, problems } = validateTopologyFile(file, { catalogue, env: {} });

describe('topology.yaml', () => {
  it('validates against the catalogue', () => {
    expect(problems).toEqual([]);
  });

  it('declares every catalogue topic, bound to its own schema as <topic>-value', () => {
    expect(topology.topics.map((t) => t.name).sort()).toEqual(catalogue.topics().map((t) => t.topic).sort());
    for (const t of topology.topics) expect([t.schema, t.subject]).toEqual([t.name, `${t.name}-value`]);
  });

  it('keeps facts for ever and compacts the derived views', () => {
    const byName = new Map(topology.topics.map((t) => [t.name, t]));
    const events = catalogue.topics().filter((t) => t.kind === 'event');
    expect(events.length).toBe(10);
    for (const e of events) expect(byName.get(e.topic)).toMatchObject({ compacted: false, retentionMs: FOREVER });
    expect(topology.topics.filter((t) => t.compacted).map((t) => t.name).sort()).toEqual(['atp.changed', 'order.status']);
  });

  it('declares the orders, atp and customers processors and the erp and crm sinks with tributary.<name> groups', () => {
    expect(topology.processors.map((p) => [p.name, p.group])).toEqual([
      ['orders', 'tributary.orders'],
      ['atp', 'tributary.atp'],
      ['customers', 'tributary.customers'],
    ]);
    expect(topology.processors[0]).toMatchObject({
      inputs: ['order.created', 'order.changed', 'order.cancelled', 'pick.confirmed', 'shipment.confirmed', 'return.received'],
      tables: ['item.upserted'],
      outputs: ['order.status', 'order.rejected', 'orders.movements', 'erp.commands', 'crm.commands'],
    });
    expect(topology.processors[1]).toMatchObject({
      inputs: ['stock.adjusted', 'stock.counted', 'orders.movements'],
      tables: ['item.upserted'],
      outputs: ['atp.changed', 'erp.commands', 'crm.commands'],
    });
    expect(topology.processors[2]).toMatchObject({ inputs: ['customer.upserted'], tables: [], outputs: ['erp.commands'] });
    expect(topology.sinks.map((s) => [s.name, s.input, s.group, s.maxRetryMs])).toEqual([
      ['erp', 'erp.commands', 'tributary.erp', 900_000],
      ['crm', 'crm.commands', 'tributary.crm', 900_000],
    ]);
    // SPEC §7: UpdateAvailability coalesced per sku@warehouse, default coalesceMs 1000.
    expect(topology.sinks.find((s) => s.name === 'crm')?.coalesce).toEqual({ UpdateAvailability: 1000 });
  });

  // STYLE.md: topology.yaml and the processor registry are checked against each other, not trusted.
  it('declares each registered processor with exactly the topics its code reads and writes', () => {
    expect(topology.processors.map((p) => p.name).sort()).toEqual(Object.keys(processors).sort());
    for (const declared of topology.processors) {
      const code = processors[declared.name as keyof typeof processors];
      expect([...declared.inputs].sort(), `${declared.name} inputs`).toEqual([...code.inputs].sort());
      expect([...declared.tables].sort(), `${declared.name} tables`).toEqual([...code.tables].sort());
      expect([...declared.outputs].sort(), `${declared.name} outputs`).toEqual([...code.outputs].sort());
    }
  });

  it('takes partitions, replication and sink URLs from the environment', () => {
    const env = { TRIBUTARY_PARTITIONS: '12', TRIBUTARY_REPLICATION_FACTOR: '3', ERP_URL: 'http://erp.test' };
    const overridden = validateTopologyFile(file, { catalogue, env });
    expect(overridden.problems).toEqual([]);
    expect(overridden.topology.topics.every((t) => t.partitions === 12 && t.replicationFactor === 3)).toBe(true);
    expect(overridden.topology.sinks.map((s) => s.url)).toEqual(['http://erp.test', '']);
  });
});
