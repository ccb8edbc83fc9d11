/**
 * planTopology is a pure function of (desired, actual): each rule of plan.ts's header against a
 * hand-written actual state, no broker.
 */
import { describe, expect, it } from 'vitest';
import { fakeCatalogue, fakeSchema } from '../../test/topology/fake-catalogue';
import { parseTopologyOrThrow } from './load';
import { isEmpty, planTopology, type ActualState, type ActualTopic } from './plan';
import { renderPlanJson, renderPlanTable } from './render-plan';

const desired = (partitions = 3, extra = '') =>
  parseTopologyOrThrow(
    `version: 1
defaults:
  partitions: ${partitions}
topics:
  orders: {${extra}}
  status:
    compacted: true
    config:
      segment.ms: 3600000
processors:
  p:
    inputs: [orders]
    outputs: [status]
`,
    { env: {} },
  );

const WEEK = '604800000';

function topic(name: string, partitions: number, config: Record<string, string>, overrides = config): ActualTopic {
  return { name, partitions, replicationFactor: 1, config: { 'segment.ms': WEEK, ...config }, overrides };
}

/** A cluster and registry exactly as `desired()` declares them. */
function matching(): ActualState {
  return {
    brokers: 1,
    topics: new Map([
      ['orders', topic('orders', 3, { 'cleanup.policy': 'delete', 'retention.ms': '-1' })],
      ['status', topic('status', 3, { 'cleanup.policy': 'compact', 'retention.ms': WEEK, 'segment.ms': '3600000' }, { 'cleanup.policy': 'compact', 'segment.ms': '3600000' })],
      ['orders.dlq', topic('orders.dlq', 3, { 'cleanup.policy': 'delete', 'retention.ms': '-1' })],
    ]),
    subjects: new Map([
      ['orders-value', { subject: 'orders-value', versions: [1], registeredVersion: 1, compatibility: 'BACKWARD' }],
      ['status-value', { subject: 'status-value', versions: [1], registeredVersion: 1, compatibility: 'BACKWARD' }],
    ]),
  };
}

function withTopic(state: ActualState, name: string, change: (t: ActualTopic) => void): ActualState {
  const t = structuredClone(state.topics.get(name)!);
  change(t);
  state.topics.set(name, t);
  return state;
}

describe('planTopology', () => {
  it('creates every topic, dead letters included, and registers every subject on an empty cluster', () => {
    const plan = planTopology(desired(), { brokers: 1, topics: new Map(), subjects: new Map() }, fakeCatalogue);
    expect(plan.refusals).toEqual([]);
    expect(plan.changes).toEqual([
      { kind: 'create-topic', topic: 'orders', partitions: 3, replicationFactor: 1, config: { 'cleanup.policy': 'delete', 'retention.ms': '-1' } },
      { kind: 'set-compatibility', subject: 'orders-value', from: undefined, to: 'BACKWARD' },
      { kind: 'register-schema', subject: 'orders-value', topic: 'orders', schemaName: 'orders', schema: fakeSchema('orders'), after: undefined },
      { kind: 'create-topic', topic: 'status', partitions: 3, replicationFactor: 1, config: { 'cleanup.policy': 'compact', 'segment.ms': '3600000' } },
      { kind: 'set-compatibility', subject: 'status-value', from: undefined, to: 'BACKWARD' },
      { kind: 'register-schema', subject: 'status-value', topic: 'status', schemaName: 'status', schema: fakeSchema('status'), after: undefined },
      { kind: 'create-topic', topic: 'orders.dlq', partitions: 3, replicationFactor: 1, config: { 'cleanup.policy': 'delete', 'retention.ms': '-1' } },
    ]);
  });

  it('has nothing to change when the cluster matches, and ignores topics it does not declare', () => {
    const state = matching();
    state.topics.set('someone.elses', topic('someone.elses', 1, { 'cleanup.policy': 'compact' }));
    const plan = planTopology(desired(), state, fakeCatalogue);
    expect(isEmpty(plan)).toBe(true);
    expect(plan.unchanged.sort()).toEqual(['orders', 'orders-value', 'orders.dlq', 'status', 'status-value']);
    expect(renderPlanTable(plan)).toMatch(/^nothing to change/);
  });

  it('adds partitions, with a warning that keys move', () => {
    const plan = planTopology(desired(5), matching(), fakeCatalogue);
    expect(plan.refusals).toEqual([]);
    expect(plan.changes).toEqual([
      expect.objectContaining({ kind: 'add-partitions', topic: 'orders', from: 3, to: 5, warning: expect.stringContaining('keys hash to new partitions') }),
      expect.objectContaining({ kind: 'add-partitions', topic: 'status', from: 3, to: 5 }),
      expect.objectContaining({ kind: 'add-partitions', topic: 'orders.dlq', from: 3, to: 5 }),
    ]);
  });

  it('refuses fewer partitions: Kafka cannot remove them', () => {
    const plan = planTopology(desired(2), matching(), fakeCatalogue);
    expect(plan.changes).toEqual([]);
    expect(plan.refusals.map((r) => r.resource)).toEqual(['orders', 'status', 'orders.dlq']);
    expect(plan.refusals[0]!.reason).toContain('has 3 partitions and the topology says 2: Kafka cannot remove partitions');
    expect(plan.refusals[0]!.reason).toContain('create a new topic with 2 and migrate');
  });

  it('refuses a replication factor change', () => {
    const state = withTopic(matching(), 'orders', (t) => (t.replicationFactor = 3));
    const plan = planTopology(desired(), state, fakeCatalogue);
    expect(plan.refusals).toEqual([{ resource: 'orders', reason: expect.stringContaining('has replication factor 3 and the topology says 1') }]);
  });

  it('refuses to create a topic with more replicas than brokers', () => {
    const plan = planTopology(desired(), { brokers: 1, topics: new Map(), subjects: new Map() }, fakeCatalogue);
    expect(plan.refusals).toEqual([]);
    const three = parseTopologyOrThrow('version: 1\ntopics:\n  orders:\n    replicationFactor: 3\n', { env: {} });
    const refused = planTopology(three, { brokers: 1, topics: new Map(), subjects: new Map() }, fakeCatalogue);
    expect(refused.refusals).toEqual([{ resource: 'orders', reason: expect.stringContaining('needs 3 brokers and the cluster has 1') }]);
  });

  it('refuses delete -> compact: compaction would destroy history', () => {
    const state = withTopic(matching(), 'status', (t) => {
      t.config['cleanup.policy'] = 'delete';
      t.config['retention.ms'] = '-1';
    });
    const plan = planTopology(desired(), state, fakeCatalogue);
    expect(plan.refusals).toEqual([{ resource: 'status', reason: expect.stringContaining('is not compacted and the topology says compacted') }]);
  });

  it('allows compact -> delete when kept for ever, refuses it with a finite retention', () => {
    const compacted = () =>
      withTopic(matching(), 'orders', (t) => {
        t.config['cleanup.policy'] = 'compact';
        t.config['retention.ms'] = WEEK;
        t.overrides = { 'cleanup.policy': 'compact', 'max.message.bytes': '2000000' };
      });
    const forever = planTopology(desired(), compacted(), fakeCatalogue);
    expect(forever.refusals).toEqual([]);
    expect(forever.changes).toEqual([
      {
        kind: 'alter-config',
        topic: 'orders',
        set: { 'cleanup.policy': { from: 'compact', to: 'delete' }, 'retention.ms': { from: WEEK, to: '-1' } },
        keep: { 'cleanup.policy': 'compact', 'max.message.bytes': '2000000' },
      },
    ]);
    const finite = planTopology(desired(3, 'retention: 30d'), compacted(), fakeCatalogue);
    expect(finite.refusals).toEqual([{ resource: 'orders', reason: expect.stringContaining('is compacted and the topology says retention 30d') }]);
    expect(finite.changes).toEqual([]);
  });

  it('refuses a shorter retention and applies a longer one', () => {
    const shorter = planTopology(desired(3, 'retention: 7d'), matching(), fakeCatalogue);
    expect(shorter.refusals).toEqual([
      { resource: 'orders', reason: expect.stringContaining('keeps records for ever and the topology says for 1w: Kafka would delete the older records') },
    ]);
    const weekly = withTopic(matching(), 'orders', (t) => (t.config['retention.ms'] = WEEK));
    const longer = planTopology(desired(3, 'retention: 30d'), weekly, fakeCatalogue);
    expect(longer.refusals).toEqual([]);
    expect(longer.changes).toEqual([expect.objectContaining({ kind: 'alter-config', topic: 'orders', set: { 'retention.ms': { from: WEEK, to: '2592000000' } } })]);
  });

  it('alters other configs to the declared value, keeping the topic\'s other overrides', () => {
    const state = withTopic(matching(), 'status', (t) => (t.config['segment.ms'] = WEEK));
    const plan = planTopology(desired(), state, fakeCatalogue);
    expect(plan.changes).toEqual([
      {
        kind: 'alter-config',
        topic: 'status',
        set: { 'segment.ms': { from: WEEK, to: '3600000' } },
        keep: { 'cleanup.policy': 'compact', 'segment.ms': '3600000' },
      },
    ]);
  });

  it('registers a compatible new schema version and sets a differing compatibility level', () => {
    const state = matching();
    state.subjects.set('orders-value', { subject: 'orders-value', versions: [1, 2], compatibility: 'NONE', compatible: { ok: true, messages: [] } });
    const plan = planTopology(desired(), state, fakeCatalogue);
    expect(plan.changes).toEqual([
      { kind: 'set-compatibility', subject: 'orders-value', from: 'NONE', to: 'BACKWARD' },
      { kind: 'register-schema', subject: 'orders-value', topic: 'orders', schemaName: 'orders', schema: fakeSchema('orders'), after: 2 },
    ]);
  });

  it('refuses a schema the registry finds incompatible, naming the subject and quoting the registry', () => {
    const state = matching();
    state.subjects.set('orders-value', {
      subject: 'orders-value',
      versions: [1],
      compatibility: 'BACKWARD',
      compatible: { ok: false, messages: ["reader field 'id' has no default"] },
    });
    const plan = planTopology(desired(), state, fakeCatalogue);
    expect(plan.changes).toEqual([]);
    expect(plan.refusals).toEqual([
      {
        resource: 'orders-value',
        reason: expect.stringMatching(/not BACKWARD-compatible with version 1 of subject orders-value: the registry says: reader field 'id' has no default/),
      },
    ]);
  });

  it('renders refusals and changes as a table and as JSON without schema bodies', () => {
    const state = matching();
    state.subjects.delete('status-value');
    const table = renderPlanTable(planTopology(desired(2), state, fakeCatalogue));
    expect(table).toContain('REFUSED');
    expect(table).toContain('register schema');
    expect(table).toMatch(/3 refused, 1 set compatibility, 1 register schema, 1 unchanged/);
    const json = JSON.parse(renderPlanJson(planTopology(desired(), state, fakeCatalogue)));
    expect(json.changes.find((c: { kind: string }) => c.kind === 'register-schema')).toEqual({
      action: 'register schema',
      kind: 'register-schema',
      subject: 'status-value',
      topic: 'status',
      schemaName: 'status',
    });
  });
});
