/** The shipped topology under a prefix: every Kafka name prefixed, schemas still the catalogue's. */
import { describe, expect, it } from 'vitest';
import { naming } from '../processor/naming';
import { loadCatalogue } from '../schemas/catalogue';
import { DEFAULT_TOPOLOGY_FILE } from './model';
import { prefixTopology } from './prefix';
import { validateTopologyFile } from './validate';

const { topology } = validateTopologyFile(DEFAULT_TOPOLOGY_FILE, { catalogue: loadCatalogue() });

describe('prefixTopology', () => {
  it('prefixes topics, dead letters, subjects, references and groups, not schemas', () => {
    const p = prefixTopology(topology, naming('t1.'));
    const created = p.topics.find((t) => t.name === 't1.order.created');
    expect(created).toMatchObject({ schema: 'order.created', subject: 't1.order.created-value' });
    expect(p.topics.every((t) => t.name.startsWith('t1.'))).toBe(true);
    expect(p.deadLetters.map((t) => [t.name, t.deadLetterOf])).toContainEqual(['t1.order.created.dlq', 't1.order.created']);
    const orders = p.processors.find((x) => x.name === 'orders');
    expect(orders?.inputs).toContain('t1.order.created');
    expect(orders?.tables).toEqual(['t1.item.upserted']);
    expect(orders?.group).toBe('t1.tributary.orders');
    expect(p.sinks.every((s) => s.input.startsWith('t1.'))).toBe(true);
    expect(p.topics).toHaveLength(topology.topics.length);
  });

  it('returns the topology unchanged without a prefix', () => {
    expect(prefixTopology(topology, naming(''))).toBe(topology);
  });
});
