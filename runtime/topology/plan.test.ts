/**
 * planTopology is a pure function of (desired, actual): each rule of plan.ts's header against a
 * hand-written actual state, no broker.
 */
import { describe, expect, it } from 'vitest';
import { catalogueOf, fakeCatalogue, fakeSchema } from '../../test/topology/fake-catalogue';
import { parseTopologyOrThrow } from './load';
import { isEmpty, planTopology, type ActualState, type ActualSubject, type ActualTopic, type Plan } from './plan';
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

// A dead letter is its source record plus error headers: Kafka's default limit (orders sets none) + 64 KiB.
const DLQ_MAX_BYTES = String(1_048_588 + 64 * 1024);

/** A cluster and registry exactly as `desired()` declares them. */
function matching(): ActualState {
  return {
    brokers: 1,
    topics: new Map([
      ['orders', topic('orders', 3, { 'cleanup.policy': 'delete', 'retention.ms': '-1' })],
      ['status', topic('status', 3, { 'cleanup.policy': 'compact', 'retention.ms': WEEK, 'segment.ms': '3600000' }, { 'cleanup.policy': 'compact', 'segment.ms': '3600000' })],
      ['orders.dlq', topic('orders.dlq', 3, { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'max.message.bytes': DLQ_MAX_BYTES })],
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
      { kind: 'create-topic', topic: 'orders.dlq', partitions: 3, replicationFactor: 1, config: { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'max.message.bytes': DLQ_MAX_BYTES } },
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
    const older = { ...fakeSchema('orders'), fields: [{ name: 'id', type: 'string' }, { name: 'note', type: 'string', default: '' }] };
    state.subjects.set('orders-value', {
      subject: 'orders-value',
      versions: [1, 2],
      compatibility: 'NONE',
      history: [avro(1, older), avro(2, older)],
      registryVerdict: { ok: true, messages: [] },
    });
    const plan = planTopology(desired(), state, fakeCatalogue);
    expect(plan.refusals).toEqual([]);
    expect(plan.changes).toEqual([
      { kind: 'set-compatibility', subject: 'orders-value', from: 'NONE', to: 'BACKWARD' },
      { kind: 'register-schema', subject: 'orders-value', topic: 'orders', schemaName: 'orders', schema: fakeSchema('orders'), after: 2 },
    ]);
  });
});

/** A registry version as actual.ts reads it. */
function avro(version: number, schema: Record<string, unknown>) {
  return { version, schema: JSON.stringify(schema), schemaType: 'AVRO' };
}

describe('planTopology, schema compatibility at the declared level', () => {
  const record = (...fields: Record<string, unknown>[]) => ({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'string' }, ...fields] });
  // v1 has no qty; v2 added it with a default; the desired schema requires it (no default), so it
  // reads v2's data but not v1's.
  const v1 = record();
  const v2 = record({ name: 'qty', type: 'int', default: 0 });
  const needsQty = record({ name: 'qty', type: 'int' });
  const status = (...symbols: string[]) => record({ name: 'status', type: { type: 'enum', name: 'Status', symbols } });

  const oneTopic = (level: string) => parseTopologyOrThrow(`version: 1\ntopics:\n  orders:\n    partitions: 3\n    compatibility: ${level}\n`, { env: {} });
  const stateWith = (subject: ActualSubject): ActualState => ({
    brokers: 1,
    topics: new Map([['orders', topic('orders', 3, { 'cleanup.policy': 'delete', 'retention.ms': '-1' })]]),
    subjects: new Map([['orders-value', subject]]),
  });
  const subjectChanges = (plan: Plan) => plan.changes.filter((c) => c.kind === 'set-compatibility' || c.kind === 'register-schema');

  it('refuses, at plan time, a schema a _TRANSITIVE level finds incompatible with an older version, though the latest accepts it', () => {
    const catalogue = catalogueOf({ orders: needsQty });
    const subject = (level: string): ActualSubject => ({
      subject: 'orders-value',
      versions: [1, 2],
      compatibility: level,
      history: [avro(1, v1), avro(2, v2)],
      // What a check against versions/latest alone answers.
      registryVerdict: { ok: true, messages: [] },
    });
    const plan = planTopology(oneTopic('BACKWARD_TRANSITIVE'), stateWith(subject('BACKWARD_TRANSITIVE')), catalogue);
    expect(plan.changes).toEqual([]);
    expect(plan.refusals).toEqual([
      {
        resource: 'orders-value',
        reason: expect.stringMatching(/^schema "orders" is not BACKWARD_TRANSITIVE-compatible with subject orders-value: .*version 1\b.*qty/),
      },
    ]);
    expect(plan.refusals[0]!.reason).not.toMatch(/version 2\b/);

    const backward = planTopology(oneTopic('BACKWARD'), stateWith(subject('BACKWARD')), catalogue);
    expect(backward.refusals).toEqual([]);
    expect(subjectChanges(backward)).toEqual([
      { kind: 'register-schema', subject: 'orders-value', topic: 'orders', schemaName: 'orders', schema: needsQty, after: 2 },
    ]);
  });

  it('judges at the level the plan sets: NONE -> BACKWARD refuses what BACKWARD would refuse at registration', () => {
    const plan = planTopology(
      oneTopic('BACKWARD'),
      stateWith({ subject: 'orders-value', versions: [1], compatibility: 'NONE', history: [avro(1, v1)], registryVerdict: { ok: true, messages: [] } }),
      catalogueOf({ orders: needsQty }),
    );
    expect(plan.changes.filter((c) => c.kind === 'register-schema')).toEqual([]);
    expect(plan.refusals).toEqual([{ resource: 'orders-value', reason: expect.stringMatching(/^schema "orders" is not BACKWARD-compatible with subject orders-value: .*version 1\b/) }]);
  });

  it('FULL -> BACKWARD accepts an added enum symbol that FULL refuses, ignoring the verdict at the old level', () => {
    const catalogue = catalogueOf({ orders: status('NEW', 'PAID', 'SHIPPED') });
    const subject: ActualSubject = {
      subject: 'orders-value',
      versions: [1],
      compatibility: 'FULL',
      history: [avro(1, status('NEW', 'PAID'))],
      registryVerdict: { ok: false, messages: ['FULL: version 1 cannot read data written with the new schema'] },
    };
    const plan = planTopology(oneTopic('BACKWARD'), stateWith(subject), catalogue);
    expect(plan.refusals).toEqual([]);
    expect(subjectChanges(plan)).toEqual([
      { kind: 'set-compatibility', subject: 'orders-value', from: 'FULL', to: 'BACKWARD' },
      { kind: 'register-schema', subject: 'orders-value', topic: 'orders', schemaName: 'orders', schema: status('NEW', 'PAID', 'SHIPPED'), after: 1 },
    ]);

    // Kept at FULL, old readers meet an unknown symbol: refused.
    const full = planTopology(oneTopic('FULL'), stateWith(subject), catalogue);
    expect(full.changes).toEqual([]);
    expect(full.refusals).toEqual([{ resource: 'orders-value', reason: expect.stringMatching(/^schema "orders" is not FULL-compatible with subject orders-value: .*version 1 cannot read/) }]);
  });

  it('at an unchanged level, also honours a registry that is stricter, quoting it', () => {
    const plan = planTopology(
      oneTopic('BACKWARD'),
      stateWith({ subject: 'orders-value', versions: [1], compatibility: 'BACKWARD', history: [avro(1, v1)], registryVerdict: { ok: false, messages: ["reader field 'id' has no default"] } }),
      catalogueOf({ orders: v2 }),
    );
    expect(plan.changes).toEqual([]);
    expect(plan.refusals).toEqual([
      {
        resource: 'orders-value',
        reason: expect.stringMatching(/not BACKWARD-compatible with subject orders-value: the registry says: reader field 'id' has no default; evolve the schema/),
      },
    ]);
  });

  it('refuses when it cannot decide: a version whose schema was not read, or is not Avro', () => {
    const catalogue = catalogueOf({ orders: v2 });
    const unread = planTopology(oneTopic('BACKWARD'), stateWith({ subject: 'orders-value', versions: [1, 2], compatibility: 'BACKWARD', history: [avro(2, v1)] }), catalogue);
    expect(unread.refusals).toEqual([{ resource: 'orders-value', reason: expect.stringContaining('the schemas of versions 1 of subject orders-value were not read') }]);
    const protobuf = planTopology(
      oneTopic('BACKWARD'),
      stateWith({ subject: 'orders-value', versions: [1], compatibility: 'BACKWARD', history: [{ version: 1, schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' }] }),
      catalogue,
    );
    expect(protobuf.refusals).toEqual([{ resource: 'orders-value', reason: expect.stringContaining('version 1 of subject orders-value is a PROTOBUF schema') }]);
  });

});

describe('renderPlan', () => {
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
