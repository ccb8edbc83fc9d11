/**
 * The pure side of `tributary schemas`: subject names under a topic prefix, how a local schema
 * stands against the registered latest, check verdicts and the exit error, and the rendering.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { naming } from '../processor/naming';
import { loadCatalogue } from '../schemas/catalogue';
import { prefixTopology } from '../topology/prefix';
import { validateTopologyFile } from '../topology/validate';
import {
  checkResult,
  incompatibleError,
  localState,
  renderCheck,
  renderListTable,
  renderShow,
  resolveSubject,
  subjectForTopic,
  type CheckResult,
  type SubjectRow,
} from './schemas';

const TOPICS = ['order.created', 'stock.adjusted'];

const schema = (extra: Record<string, unknown> = {}, fields: Record<string, unknown>[] = []) => ({
  type: 'record',
  name: 'OrderCreated',
  namespace: 'tributary',
  doc: 'An order was created.',
  fields: [{ name: 'orderId', type: 'string', doc: 'Order number.' }, ...fields],
  ...extra,
});

describe('subject names', () => {
  it('is <topic>-value, with the deployment prefix in front', () => {
    expect(subjectForTopic('order.created', naming(''))).toBe('order.created-value');
    expect(subjectForTopic('order.created', naming('staging.'))).toBe('staging.order.created-value');
  });

  it('are the subjects `topology apply` registers for the shipped topology under the same prefix', () => {
    const catalogue = loadCatalogue();
    const file = fileURLToPath(new URL('../../topology.yaml', import.meta.url));
    const { topology, problems } = validateTopologyFile(file, { catalogue, env: {} });
    expect(problems).toEqual([]);
    const staging = naming('staging.');
    const applied = prefixTopology(topology, staging)
      .topics.filter((t) => t.subject !== null)
      .map((t) => t.subject)
      .sort();
    expect(catalogue.topics().map((t) => subjectForTopic(t.topic, staging)).sort()).toEqual(applied);
  });

  it('show takes a topic or its unprefixed subject under the prefix, anything else as given', () => {
    const staging = naming('staging.');
    expect(resolveSubject('order.created', TOPICS, staging)).toEqual({ subject: 'staging.order.created-value', topic: 'order.created' });
    expect(resolveSubject('order.created-value', TOPICS, staging)).toEqual({ subject: 'staging.order.created-value', topic: 'order.created' });
    expect(resolveSubject('staging.order.created-value', TOPICS, staging)).toEqual({ subject: 'staging.order.created-value', topic: 'order.created' });
    expect(resolveSubject('legacy-orders-value', TOPICS, staging)).toEqual({ subject: 'legacy-orders-value', topic: null });
    expect(resolveSubject('stock.adjusted', TOPICS, naming(''))).toEqual({ subject: 'stock.adjusted-value', topic: 'stock.adjusted' });
  });
});

describe('localState', () => {
  const latest = (value: unknown, version = 3) => ({ version, schema: typeof value === 'string' ? value : JSON.stringify(value) });

  it('unregistered when the subject has no versions', () => {
    expect(localState(schema(), null)).toEqual({ local: 'unregistered', localVersion: null });
  });

  it('latest when the registered text is the same schema, whitespace and key order aside', () => {
    const reordered = `{ "fields": [{ "doc": "Order number.", "type": "string", "name": "orderId" }], "doc": "An order was created.",
      "name": "OrderCreated", "namespace": "tributary", "type": "record" }`;
    expect(localState(schema(), latest(reordered))).toEqual({ local: 'latest', localVersion: 3 });
  });

  it("latest when the registry's lookup names the latest version, whatever its text looks like", () => {
    expect(localState(schema(), latest(schema({ doc: 'normalised elsewhere' })), 3)).toEqual({ local: 'latest', localVersion: 3 });
  });

  it('older when the lookup finds it under an earlier version', () => {
    expect(localState(schema(), latest(schema({}, [{ name: 'note', type: ['null', 'string'], default: null }])), 1)).toEqual({ local: 'older', localVersion: 1 });
  });

  it('equivalent when only docs or custom attributes differ from the latest', () => {
    expect(localState(schema({ doc: 'Reworded.' }), latest(schema()))).toEqual({ local: 'equivalent', localVersion: null });
    expect(localState(schema({ 'x-tributary': { topic: 'order.created' } }), latest(schema()))).toEqual({ local: 'equivalent', localVersion: null });
  });

  it('differs when a field or a type differs, or the registered text is no Avro it can read', () => {
    expect(localState(schema({}, [{ name: 'qty', type: 'int' }]), latest(schema()))).toEqual({ local: 'differs', localVersion: null });
    expect(localState(schema(), latest('syntax = "proto3";'))).toEqual({ local: 'differs', localVersion: null });
  });
});

describe('check verdicts', () => {
  const entry = { topic: 'order.created', subject: 'order.created-value' };

  it('new without versions, else compatible or incompatible with the messages', () => {
    expect(checkResult(entry, [], 'BACKWARD', null)).toEqual({ ...entry, compatibility: 'BACKWARD', versions: [], outcome: 'new', messages: [] });
    expect(checkResult(entry, [2, 1], 'FULL', { ok: true, messages: [] })).toEqual({ ...entry, compatibility: 'FULL', versions: [1, 2], outcome: 'compatible', messages: [] });
    expect(checkResult(entry, [1], 'BACKWARD', { ok: false, messages: ['no default for qty'] })).toMatchObject({ outcome: 'incompatible', messages: ['no default for qty'] });
  });

  it('TRB_SCHEMA_INCOMPATIBLE names every incompatible subject and its level; none when all pass', () => {
    const results: CheckResult[] = [
      checkResult(entry, [1], 'BACKWARD', { ok: false, messages: ['x'] }),
      checkResult({ topic: 'stock.adjusted', subject: 'stock.adjusted-value' }, [1], 'BACKWARD_TRANSITIVE', { ok: false, messages: [] }),
      checkResult({ topic: 'pick.confirmed', subject: 'pick.confirmed-value' }, [], null, null),
    ];
    const error = incompatibleError(results)!;
    expect(error.code).toBe('TRB_SCHEMA_INCOMPATIBLE');
    expect(error.message).toContain('2 of 3 schemas');
    expect(error.message).toContain('order.created-value (BACKWARD), stock.adjusted-value (BACKWARD_TRANSITIVE)');
    expect(incompatibleError([results[2]!, checkResult(entry, [1], 'NONE', { ok: true, messages: [] })])).toBeUndefined();
  });

  it('renders one line per subject, the reasons under an incompatible one, and the counts', () => {
    const text = renderCheck([
      checkResult(entry, [1, 2], 'BACKWARD', { ok: false, messages: ['cannot read version 1: no default for qty'] }),
      checkResult({ topic: 'stock.adjusted', subject: 'stock.adjusted-value' }, [1], 'BACKWARD', { ok: true, messages: [] }),
      checkResult({ topic: 'pick.confirmed', subject: 'pick.confirmed-value' }, [], 'BACKWARD', null),
    ]);
    const lines = text.trimEnd().split('\n').map((l) => l.trim());
    expect(lines[0]).toBe('INCOMPATIBLE  order.created-value (BACKWARD, versions 1, 2)');
    expect(lines[1]).toBe('- cannot read version 1: no default for qty');
    expect(lines[2]).toBe('compatible    stock.adjusted-value (BACKWARD, versions 1)');
    expect(lines[3]).toBe('new           pick.confirmed-value (not registered yet)');
    expect(lines.at(-1)).toBe('1 compatible, 1 incompatible, 1 new');
  });
});

const cells = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.includes('│'))
    .map((line) => line.split('│').map((c) => c.trim()).filter((c) => c !== ''));

describe('rendering', () => {
  it('lists each subject with its registry side and the local standing', () => {
    const row = (over: Partial<SubjectRow>): SubjectRow => ({
      topic: 'order.created',
      subject: 'order.created-value',
      kind: 'event',
      key: 'orderId',
      from: ['CRM', 'EDI'],
      versions: [1, 2],
      latest: { version: 2, id: 41 },
      compatibility: 'BACKWARD',
      local: 'latest',
      localVersion: 2,
      ...over,
    });
    const table = cells(
      renderListTable([
        row({}),
        row({ subject: 'stock.adjusted-value', local: 'older', localVersion: 1 }),
        row({ subject: 'pick.confirmed-value', versions: [], latest: null, local: 'unregistered', localVersion: null }),
      ]),
    );
    expect(table[0]).toEqual(['subject', 'kind', 'key', 'from', 'latest', 'id', 'versions', 'compatibility', 'local schema']);
    expect(table).toContainEqual(['order.created-value', 'event', 'orderId', 'CRM, EDI', 'v2', '41', '2', 'BACKWARD', 'same as latest']);
    expect(table).toContainEqual(['stock.adjusted-value', 'event', 'orderId', 'CRM, EDI', 'v2', '41', '2', 'BACKWARD', 'same as v1 (older)']);
    expect(table).toContainEqual(['pick.confirmed-value', 'event', 'orderId', 'CRM, EDI', '-', '-', '0', 'BACKWARD', 'not registered']);
  });

  it('shows the versions with ids, the chosen schema pretty-printed and its fields', () => {
    const text = renderShow({
      subject: 'order.created-value',
      topic: 'order.created',
      compatibility: 'BACKWARD',
      versions: [
        { version: 1, id: 7 },
        { version: 2, id: 9 },
      ],
      shown: { version: 1, id: 7, schema: JSON.stringify(schema({}, [{ name: 'note', type: ['null', 'string'], default: null, doc: 'Free text.' }])), schemaType: 'AVRO' },
    });
    expect(text.split('\n')[0]).toBe('subject order.created-value (topic order.created), compatibility BACKWARD');
    const table = cells(text);
    expect(table).toContainEqual(['v1', '7']);
    expect(table).toContainEqual(['v2 (latest)', '9']);
    expect(text).toContain('v1 (id 7, AVRO):\n{\n  "type": "record",');
    expect(table).toContainEqual(['orderId', 'string', 'required', 'Order number.']);
    expect(table).toContainEqual(['note', 'string', 'optional (null)', 'Free text.']);
  });

  it('prints no fields table for a schema that is not a record', () => {
    const text = renderShow({ subject: 's-value', topic: null, compatibility: null, versions: [{ version: 1, id: 1 }], shown: { version: 1, id: 1, schema: '"string"', schemaType: 'AVRO' } });
    expect(text).toContain('subject s-value, compatibility -');
    expect(text).not.toContain('fields');
  });
});
