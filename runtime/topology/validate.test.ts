/**
 * Each validation rule against a fixture in test/fixtures/topology/, with the line and column a
 * user would jump to (counted by hand from the fixture), and a small fake catalogue.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TopologyError, type SourceProblem } from '../errors';
import { parseTopology } from './load';
import { FOREVER } from './model';
import { fakeCatalogue } from '../../test/topology/fake-catalogue';
import { checkTopology, formatProblem, loadValidTopology, validateTopologyFile } from './validate';

const fixture = (name: string) => fileURLToPath(new URL(`../../test/fixtures/topology/${name}`, import.meta.url));

function problems(name: string, env: Record<string, string> = {}): SourceProblem[] {
  return validateTopologyFile(fixture(name), { catalogue: fakeCatalogue, env, file: name }).problems;
}

function at(line: number, column: number, message: string | RegExp) {
  return expect.objectContaining({ line, column, message: typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message) });
}

describe('a valid topology', () => {
  const topology = loadValidTopology(fixture('small.yaml'), { catalogue: fakeCatalogue, env: {}, file: 'small.yaml' });

  it('takes defaults from `defaults:` and interpolates them', () => {
    expect(topology.topics.map((t) => [t.name, t.partitions])).toEqual([
      ['orders', 4],
      ['order.lines', 4],
      ['products', 4],
      ['status', 4],
      ['commands', 4],
    ]);
    const env = { TEST_PARTITIONS: '8' };
    const eight = loadValidTopology(fixture('small.yaml'), { catalogue: fakeCatalogue, env });
    expect(eight.topics.every((t) => t.partitions === 8)).toBe(true);
  });

  it('reads retention, compaction, configs and schema bindings', () => {
    const byName = new Map(topology.topics.map((t) => [t.name, t]));
    expect(byName.get('orders')).toMatchObject({ retentionMs: FOREVER, compacted: false, schema: 'orders', subject: 'orders-value' });
    expect(byName.get('order.lines')).toMatchObject({ retentionMs: 12 * 3_600_000, schema: 'orders', subject: 'order.lines-value' });
    expect(byName.get('products')).toMatchObject({ schema: null, subject: null });
    expect(byName.get('status')).toMatchObject({ compacted: true, config: { 'segment.ms': '3600000' } });
    expect(byName.get('commands')).toMatchObject({ retentionMs: 7 * 86_400_000 });
  });

  it('names consumer groups from groupPrefix unless a group is given', () => {
    expect(topology.processors[0]).toMatchObject({
      name: 'joiner',
      group: 'acme.joiner',
      inputs: ['orders', 'order.lines'],
      tables: ['products'],
      outputs: ['status', 'commands'],
      settings: { graceMs: 1000 },
    });
    expect(topology.sinks[0]).toMatchObject({ name: 'erp', input: 'commands', url: '', rateLimit: 5, group: 'custom.erp', maxRetryMs: 900_000 });
  });

  it('derives one dead-letter topic per input, stream or table, with the source partitions', () => {
    expect(topology.deadLetters.map((t) => [t.name, t.partitions, t.schema, t.retentionMs])).toEqual([
      ['commands.dlq', 4, null, FOREVER],
      ['order.lines.dlq', 4, null, FOREVER],
      ['orders.dlq', 4, null, FOREVER],
      ['products.dlq', 4, null, FOREVER],
    ]);
  });

  it('lets a dead-letter topic take its source\'s largest record plus error headers', () => {
    const limit = (name: string) => topology.deadLetters.find((t) => t.name === name)?.config['max.message.bytes'];
    // commands declares 2 MiB; orders declares nothing, so Kafka's default 1,048,588 applies to it.
    expect(limit('commands.dlq')).toBe(String(2_097_152 + 65_536));
    expect(limit('orders.dlq')).toBe(String(1_048_588 + 65_536));
  });

  it('an interpolated sink url is checked like a written one', () => {
    const ok = loadValidTopology(fixture('small.yaml'), { catalogue: fakeCatalogue, env: { ERP_URL: 'http://erp.local:9000/' } });
    expect(ok.sinks[0]!.url).toBe('http://erp.local:9000');
    expect(problems('small.yaml', { ERP_URL: 'not a url' })).toEqual([at(34, 10, 'url "not a url" is not an http(s) URL')]);
  });
});

describe('problems, each with line and column', () => {
  it('YAML syntax errors', () => {
    expect(problems('syntax-error.yaml')).toEqual([at(5, 3, 'Flow sequence in block collection must be sufficiently indented')]);
  });

  it('duplicate names are YAML duplicate keys', () => {
    expect(problems('duplicate-keys.yaml')).toEqual([at(4, 3, 'Map keys must be unique')]);
  });

  it('unknown keys, with a suggestion', () => {
    const found = problems('unknown-keys.yaml');
    expect(found).toContainEqual(at(4, 5, 'unknown key "partitons" in topics/orders (did you mean "partitions"?)'));
    expect(found).toContainEqual(at(6, 5, 'unknown key "retension" in topics/status (did you mean "retention"?)'));
    expect(found).toContainEqual(at(9, 5, 'unknown key "input" in processors/joiner (did you mean "inputs"?)'));
    expect(found).toContainEqual(at(11, 1, 'unknown key "sinkz" (did you mean "sinks"?)'));
  });

  it('wrong types and out-of-range values', () => {
    const found = problems('wrong-types.yaml');
    expect(found).toContainEqual(at(3, 15, 'partitions must be an integer ≥ 1, got "six"'));
    expect(found).toContainEqual(at(6, 17, 'partitions must be an integer ≥ 1, got 0'));
    expect(found).toContainEqual(at(7, 24, 'replicationFactor must be an integer ≥ 1, got -1'));
    expect(found).toContainEqual(at(8, 16, 'compacted must be true or false, got "yes"'));
    expect(found).toContainEqual(at(10, 16, 'retention must be a duration'));
    expect(found).toContainEqual(at(13, 13, 'inputs must be a list of topic names'));
    expect(found).toContainEqual(at(17, 10, 'url "ftp://example.com" is not an http(s) URL'));
    expect(found).toContainEqual(at(18, 16, 'rateLimit must be a number > 0, got 0'));
  });

  it('topic names Kafka would refuse', () => {
    expect(problems('wrong-types.yaml')).toContainEqual(at(9, 3, 'topic name "bad topic!" is not valid for Kafka'));
  });

  it('an unset variable without a default, at its ${', () => {
    expect(problems('unset-variable.yaml')).toEqual([
      at(3, 15, 'environment variable TOPOLOGY_TEST_UNSET_PARTITIONS is not set'),
      at(6, 23, 'environment variable TOPOLOGY_TEST_UNSET_TEAM is not set'),
    ]);
    const topology = loadValidTopology(fixture('unset-variable.yaml'), {
      catalogue: fakeCatalogue,
      env: { TOPOLOGY_TEST_UNSET_PARTITIONS: '2', TOPOLOGY_TEST_UNSET_TEAM: 'ops' },
    });
    expect(topology.topics[0]).toMatchObject({ partitions: 2, description: 'for ops and ${LITERAL}' });
  });

  it('references to undeclared topics, with a suggestion', () => {
    const found = problems('references.yaml');
    expect(found).toContainEqual(at(15, 23, 'processor "joiner" uses topic "shipments", which is not declared under topics'));
    expect(found).toContainEqual(at(17, 14, 'processor "reader" uses topic "ordrs", which is not declared under topics (did you mean "orders"?)'));
  });

  it('schema bindings missing from the catalogue', () => {
    const found = problems('references.yaml');
    expect(found).toContainEqual(at(10, 13, 'schema "statuses" is not in the catalogue (did you mean "status"?)'));
    expect(found).toContainEqual(at(5, 3, 'topic "order.lines" has no schema of the same name in the catalogue'));
  });

  it('co-partitioning of stream inputs; tables are exempt', () => {
    const found = problems('references.yaml');
    expect(found).toContainEqual(
      at(13, 22, 'inputs of processor "joiner" are not co-partitioned: "order.lines" has 3 partitions but "orders" has 6'),
    );
    // products (1 partition) is a table of the same processor and draws no complaint.
    expect(found.filter((p) => p.message.includes('co-partitioned') && p.message.includes('"products"'))).toEqual([]);
    expect(found.filter((p) => p.message.includes('co-partitioned'))).toHaveLength(1);
  });

  it('the same name for a processor and a sink, and a shared consumer group', () => {
    const found = problems('references.yaml');
    expect(found).toContainEqual(at(19, 3, 'sink "joiner" has the same name as processor "joiner"'));
    expect(found).toContainEqual(at(19, 3, 'consumes as group "tributary.joiner" like processor "joiner"'));
  });

  it('retention with compaction, first-class configs under config:, unknown configs, declared DLQs, lists', () => {
    const found = problems('conflicts.yaml');
    expect(found).toContainEqual(at(4, 3, '"orders.dlq" is the dead-letter topic of "orders", which apply derives by itself'));
    expect(found).toContainEqual(at(7, 16, 'topic "status" is compacted and also has a retention'));
    expect(found).toContainEqual(at(9, 7, 'set cleanup.policy with `compacted: true|false`'));
    expect(found).toContainEqual(at(10, 7, '"segmnt.ms" is not a Kafka topic config (did you mean "segment.ms"?)'));
    expect(found).toContainEqual(at(13, 22, 'processor "joiner" lists "orders" twice in inputs'));
    expect(found).toContainEqual(at(14, 14, 'processor "joiner" reads "orders" both as a stream input and as a table'));
  });

  it('collects every problem, sorted by position', () => {
    const found = problems('wrong-types.yaml');
    expect(found.length).toBeGreaterThanOrEqual(9);
    const positions = found.map((p) => p.line! * 1000 + p.column!);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it('an invalid file throws a TopologyError carrying all problems', () => {
    const attempt = () => loadValidTopology(fixture('references.yaml'), { catalogue: fakeCatalogue, env: {}, file: 'references.yaml' });
    expect(attempt).toThrow(TopologyError);
    try {
      attempt();
    } catch (error) {
      expect((error as TopologyError).problems).toHaveLength(problems('references.yaml').length);
      expect((error as TopologyError).message).toMatch(/^references\.yaml:5:3: /);
    }
  });

  it('a file that cannot be read is a TopologyError naming it', () => {
    expect(() => validateTopologyFile(fixture('missing.yaml'), { catalogue: fakeCatalogue, file: 'missing.yaml' })).toThrow(
      'missing.yaml: cannot be read (no such file)',
    );
  });

  it('formats problems as file:line:col message', () => {
    expect(formatProblem('t.yaml', { line: 3, column: 7, message: 'bad' })).toBe('t.yaml:3:7 bad');
  });
});

describe('edge cases of the file', () => {
  const parse = (text: string, env: Record<string, string> = {}) => parseTopology(text, { file: 'x.yaml', env });

  it('an empty file and a missing version or topics', () => {
    expect(parse('').problems).toEqual([at(1, 1, 'the file is empty')]);
    expect(parse('topics: {}\n').problems).toEqual([at(1, 1, 'missing "version"')]);
    expect(parse('version: 1\n').problems).toEqual([at(1, 1, 'missing "topics"')]);
    expect(parse('version: 2\ntopics: {}\n').problems).toEqual([at(1, 10, 'version 2 is not supported')]);
  });

  it('a quoted interpolation stays a string; a plain one is re-typed', () => {
    const quoted = parse('version: 1\ntopics:\n  a:\n    partitions: "${P:-3}"\n    schema: none\n');
    expect(quoted.problems).toEqual([at(4, 17, 'partitions must be an integer ≥ 1, got "3"')]);
    const plain = parse('version: 1\ntopics:\n  a:\n    partitions: ${P:-3}\n    compacted: ${C:-true}\n    schema: none\n');
    expect(plain.problems).toEqual([]);
    expect(plain.topology.topics[0]).toMatchObject({ partitions: 3, compacted: true });
  });

  it('a topic with no body takes every default', () => {
    const result = parse('version: 1\ndefaults:\n  partitions: 2\ntopics:\n  a:\n');
    expect(result.problems).toEqual([]);
    expect(result.topology.topics[0]).toMatchObject({ name: 'a', partitions: 2, replicationFactor: 1, retentionMs: FOREVER });
  });

  it('a numeric topic name is a name', () => {
    const result = parse('version: 1\ntopics:\n  2024:\n    schema: none\n');
    expect(result.problems).toEqual([]);
    expect(result.topology.topics.map((t) => t.name)).toEqual(['2024']);
  });

  it("a sink's coalesceMs (SPEC §7) is the UpdateAvailability window; coalesce sets any type's", () => {
    const sink = (body: string) => parse(`version: 1\ntopics:\n  c: {schema: none}\nsinks:\n  crm:\n    input: c\n${body}`);
    expect(sink('').topology.sinks[0]?.coalesce).toEqual({ UpdateAvailability: 1000 });
    const shorthand = sink('    coalesceMs: 250\n');
    expect(shorthand.problems).toEqual([]);
    expect(shorthand.topology.sinks[0]?.coalesce).toEqual({ UpdateAvailability: 250 });
    expect(sink('    coalesce: {NotifyShipment: 50}\n    coalesceMs: 0\n').topology.sinks[0]?.coalesce).toEqual({ NotifyShipment: 50, UpdateAvailability: 0 });
    expect(sink('    coalesceMs: -1\n').problems).toHaveLength(1);
  });

  it('reserved component names', () => {
    const result = parse('version: 1\ntopics:\n  a: {schema: none}\nprocessors:\n  api:\n    inputs: [a]\n');
    expect(checkTopology(result.topology, fakeCatalogue)).toEqual([at(5, 3, '"api" is reserved')]);
  });
});
