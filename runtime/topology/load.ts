/**
 * topology.yaml -> Topology. Parses with `yaml` keeping positions (LineCounter), expands
 * `${VAR}` / `${VAR:-default}` in values (see interpolate.ts), checks the file's shape — YAML
 * syntax, unknown keys (with a "did you mean"), types and ranges, names Kafka accepts — and
 * fills in defaults. It never stops at the first problem: every problem comes back with file,
 * line and column, next to a best-effort Topology so that validate.ts can check references and
 * co-partitioning of the parts that did parse. Throws nothing for a bad file; only `readTopology`
 * throws, and only when the file cannot be read at all.
 *
 * An interpolated plain scalar is re-typed after expansion (`${TRIBUTARY_PARTITIONS:-6}` is the
 * number 6); a quoted one stays a string.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { TopologyError, type SourceProblem } from '../errors';
import { interpolate } from './interpolate';
import {
  COMPATIBILITY_LEVELS,
  DEFAULT_GROUP_PREFIX,
  DEFAULT_TOPOLOGY_FILE,
  dlqTopicOf,
  FOREVER,
  consumedTopics,
  subjectOf,
  SUPPORTED_VERSION,
  type Compatibility,
  type Position,
  type ProcessorSpec,
  type ScalarSetting,
  type SinkSpec,
  type TopicSpec,
  type Topology,
} from './model';
import { parseRetention } from './retention';
import { didYouMean } from './suggest';

export interface LoadOptions {
  /** The name used in problems; defaults to the path given to readTopology. */
  file?: string;
  /** Variables for `${...}`; defaults to process.env. */
  env?: Record<string, string | undefined>;
}

export interface LoadResult {
  topology: Topology;
  problems: SourceProblem[];
}

/** Built-in defaults, used where neither a topic nor `defaults:` says otherwise. */
export const BUILT_IN_DEFAULTS = {
  partitions: 6,
  replicationFactor: 1,
  retentionMs: FOREVER,
  compatibility: 'BACKWARD' as Compatibility,
  dlqRetentionMs: FOREVER,
  sink: { rateLimit: 20, maxRetryMs: 900_000, timeoutMs: 10_000, concurrency: 4, coalesce: { UpdateAvailability: 1000 } as Record<string, number> },
};

export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
export const COMPONENT_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Kafka 3.9 topic-level configs that may go under a topic's `config:`. `cleanup.policy` and
 * `retention.ms` are not among them: `compacted` and `retention` own those.
 */
export const TOPIC_CONFIGS: readonly string[] = [
  'compression.type',
  'delete.retention.ms',
  'file.delete.delay.ms',
  'flush.messages',
  'flush.ms',
  'index.interval.bytes',
  'local.retention.bytes',
  'local.retention.ms',
  'max.compaction.lag.ms',
  'max.message.bytes',
  'message.downconversion.enable',
  'message.timestamp.after.max.ms',
  'message.timestamp.before.max.ms',
  'message.timestamp.difference.max.ms',
  'message.timestamp.type',
  'min.cleanable.dirty.ratio',
  'min.compaction.lag.ms',
  'min.insync.replicas',
  'preallocate',
  'remote.storage.enable',
  'retention.bytes',
  'segment.bytes',
  'segment.index.bytes',
  'segment.jitter.ms',
  'segment.ms',
  'unclean.leader.election.enable',
];

const TOP_KEYS = ['version', 'groupPrefix', 'defaults', 'topics', 'processors', 'sinks'] as const;
const DEFAULT_KEYS = ['partitions', 'replicationFactor', 'retention', 'compatibility', 'dlq'] as const;
const DLQ_KEYS = ['retention'] as const;
const TOPIC_KEYS = [
  'description',
  'partitions',
  'replicationFactor',
  'retention',
  'compacted',
  'config',
  'schema',
  'compatibility',
] as const;
const PROCESSOR_KEYS = ['description', 'inputs', 'tables', 'outputs', 'group', 'settings'] as const;
const SINK_KEYS = ['description', 'input', 'url', 'rateLimit', 'maxRetryMs', 'timeoutMs', 'concurrency', 'group', 'coalesce', 'coalesceMs'] as const;
const RETENTION_HINT = 'a duration such as 7d, 12h, 30m, or -1/forever';

/** Read and parse a topology file. Throws TopologyError only if the file cannot be read. */
export function readTopology(path: string = DEFAULT_TOPOLOGY_FILE, options: LoadOptions = {}): LoadResult {
  const file = options.file ?? (relative(process.cwd(), path) || path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message;
    throw new TopologyError(file, [{ message: `cannot be read (${reason}): pass the topology file with --file` }]);
  }
  return parseTopology(text, { ...options, file });
}

export function parseTopology(text: string, options: LoadOptions = {}): LoadResult {
  const file = options.file ?? DEFAULT_TOPOLOGY_FILE;
  const reader = new Reader(text, options.env ?? process.env);
  const topology: Topology = { file, version: SUPPORTED_VERSION, groupPrefix: DEFAULT_GROUP_PREFIX, topics: [], deadLetters: [], processors: [], sinks: [] };
  const problems = reader.problems;
  const doc = reader.doc;

  for (const error of doc.errors) {
    const where = error.linePos?.[0];
    problems.push({
      message: firstLine(error.message),
      line: where?.line ?? 1,
      column: where?.col ?? 1,
    });
  }
  // Past a real syntax error the tree is guesswork; duplicate keys still leave a sound tree.
  if (doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) return { topology, problems };
  if (doc.contents === null) {
    problems.push({ message: 'the file is empty: it needs at least `version` and `topics`', line: 1, column: 1 });
    return { topology, problems };
  }

  const top = reader.mapping(doc.contents, '', TOP_KEYS, { line: 1, column: 1 });
  if (!top) return { topology, problems };

  const version = top.get('version');
  if (!version) reader.report(reader.at(doc.contents), 'version', `missing "version": add \`version: ${SUPPORTED_VERSION}\``);
  else {
    const value = reader.value(version.node);
    if (value !== SUPPORTED_VERSION) {
      reader.report(version.at, 'version', `version ${JSON.stringify(value)} is not supported: this Tributary reads version ${SUPPORTED_VERSION}`);
    }
  }

  const prefix = top.get('groupPrefix');
  if (prefix) {
    const value = reader.string(prefix, 'groupPrefix', { allowEmpty: true });
    if (value !== undefined && /\s/.test(value)) reader.report(prefix.at, 'groupPrefix', 'groupPrefix must not contain spaces');
    else if (value !== undefined) topology.groupPrefix = value;
  }

  const defaults = readDefaults(reader, top.get('defaults'));

  const topics = top.get('topics');
  if (!topics) reader.report(reader.at(doc.contents), 'topics', 'missing "topics": declare the topics the processors and sinks use');
  else {
    for (const entry of reader.named(topics, 'topics') ?? []) {
      topology.topics.push(readTopic(reader, entry, defaults));
    }
  }

  const processors = top.get('processors');
  for (const entry of (processors && reader.named(processors, 'processors')) || []) {
    topology.processors.push(readProcessor(reader, entry, topology.groupPrefix));
  }
  const sinks = top.get('sinks');
  for (const entry of (sinks && reader.named(sinks, 'sinks')) || []) {
    topology.sinks.push(readSink(reader, entry, topology.groupPrefix));
  }

  topology.deadLetters = deriveDeadLetters(topology, defaults.dlqRetentionMs);
  return { topology, problems };
}

/** Parse or throw a TopologyError carrying every problem. */
export function parseTopologyOrThrow(text: string, options: LoadOptions = {}): Topology {
  const { topology, problems } = parseTopology(text, options);
  if (problems.length > 0) throw new TopologyError(topology.file, problems);
  return topology;
}

interface Defaults {
  partitions: number;
  replicationFactor: number;
  retentionMs: number;
  compatibility: Compatibility;
  dlqRetentionMs: number;
}

function readDefaults(reader: Reader, entry: Entry | undefined): Defaults {
  const defaults: Defaults = { ...BUILT_IN_DEFAULTS };
  if (!entry) return defaults;
  const map = reader.mapping(entry.node, 'defaults', DEFAULT_KEYS, entry.at);
  if (!map) return defaults;
  defaults.partitions = reader.integer(map.get('partitions'), 'defaults/partitions', 1) ?? defaults.partitions;
  defaults.replicationFactor = reader.integer(map.get('replicationFactor'), 'defaults/replicationFactor', 1) ?? defaults.replicationFactor;
  defaults.retentionMs = reader.retention(map.get('retention'), 'defaults/retention') ?? defaults.retentionMs;
  defaults.compatibility = reader.compatibility(map.get('compatibility'), 'defaults/compatibility') ?? defaults.compatibility;
  const dlq = map.get('dlq');
  const dlqMap = dlq && reader.mapping(dlq.node, 'defaults/dlq', DLQ_KEYS, dlq.at);
  if (dlqMap) defaults.dlqRetentionMs = reader.retention(dlqMap.get('retention'), 'defaults/dlq/retention') ?? defaults.dlqRetentionMs;
  return defaults;
}

function readTopic(reader: Reader, entry: Entry, defaults: Defaults): TopicSpec {
  const name = entry.key;
  const path = `topics/${name}`;
  const topic: TopicSpec = {
    name,
    partitions: defaults.partitions,
    replicationFactor: defaults.replicationFactor,
    retentionMs: defaults.retentionMs,
    compacted: false,
    config: {},
    schema: name,
    subject: subjectOf(name),
    compatibility: defaults.compatibility,
    description: '',
    derived: false,
    at: entry.keyAt,
    keys: {},
  };
  if (!TOPIC_NAME.test(name) || name === '.' || name === '..') {
    reader.report(entry.keyAt, path, `topic name "${name}" is not valid for Kafka: use 1-249 of [a-zA-Z0-9._-] (not "." or "..")`);
  }
  // `order.created:` with nothing after it takes every default.
  if (isNull(entry.node)) return topic;
  const map = reader.mapping(entry.node, path, TOPIC_KEYS, entry.at);
  if (!map) return topic;
  for (const [key, value] of map) topic.keys[key] = value.at;

  topic.description = reader.string(map.get('description'), `${path}/description`, { allowEmpty: true }) ?? '';
  topic.partitions = reader.integer(map.get('partitions'), `${path}/partitions`, 1) ?? topic.partitions;
  topic.replicationFactor = reader.integer(map.get('replicationFactor'), `${path}/replicationFactor`, 1) ?? topic.replicationFactor;
  topic.compacted = reader.boolean(map.get('compacted'), `${path}/compacted`) ?? false;
  const retention = map.get('retention');
  const retentionMs = reader.retention(retention, `${path}/retention`);
  if (retention && topic.compacted) {
    reader.report(
      retention.at,
      `${path}/retention`,
      `topic "${name}" is compacted and also has a retention: a compacted topic keeps the latest record per key for ever; remove "retention" or "compacted"`,
    );
  } else if (retentionMs !== undefined) topic.retentionMs = retentionMs;
  topic.compatibility = reader.compatibility(map.get('compatibility'), `${path}/compatibility`) ?? topic.compatibility;

  const config = map.get('config');
  if (config) topic.config = readTopicConfig(reader, config, `${path}/config`);

  const schema = map.get('schema');
  if (schema) {
    const value = reader.value(schema.node);
    if (value === null || value === 'none') {
      topic.schema = null;
      topic.subject = null;
    } else if (typeof value === 'string' && value !== '') topic.schema = value;
    else if (value !== undefined) {
      reader.report(schema.at, `${path}/schema`, `schema must be a catalogue topic name or "none", got ${describe(value)}`);
    }
  }
  return topic;
}

function readTopicConfig(reader: Reader, entry: Entry, path: string): Record<string, string> {
  const config: Record<string, string> = {};
  const map = reader.mapping(entry.node, path, undefined, entry.at);
  if (!map) return config;
  for (const [key, item] of map) {
    if (key === 'cleanup.policy') {
      reader.report(item.keyAt, `${path}/${key}`, 'set cleanup.policy with `compacted: true|false` on the topic, not under config');
      continue;
    }
    if (key === 'retention.ms') {
      reader.report(item.keyAt, `${path}/${key}`, 'set retention.ms with `retention:` on the topic (e.g. 7d or forever), not under config');
      continue;
    }
    if (!TOPIC_CONFIGS.includes(key)) {
      reader.report(item.keyAt, `${path}/${key}`, `"${key}" is not a Kafka topic config${didYouMean(key, TOPIC_CONFIGS)}`);
      continue;
    }
    const value = reader.scalar(item, `${path}/${key}`);
    if (value !== undefined) config[key] = String(value);
  }
  return config;
}

function readProcessor(reader: Reader, entry: Entry, groupPrefix: string): ProcessorSpec {
  const name = entry.key;
  const path = `processors/${name}`;
  const processor: ProcessorSpec = {
    name,
    inputs: [],
    tables: [],
    outputs: [],
    group: `${groupPrefix}${name}`,
    description: '',
    settings: {},
    at: entry.keyAt,
    refs: {},
  };
  checkComponentName(reader, entry, path, 'processor');
  const map = reader.mapping(entry.node, path, PROCESSOR_KEYS, entry.at);
  if (!map) return processor;
  processor.description = reader.string(map.get('description'), `${path}/description`, { allowEmpty: true }) ?? '';
  processor.group = reader.string(map.get('group'), `${path}/group`) ?? processor.group;
  for (const list of ['inputs', 'tables', 'outputs'] as const) {
    const items = reader.topicList(map.get(list), `${path}/${list}`);
    for (const [index, item] of items.entries()) {
      processor[list].push(item.name);
      processor.refs[`${list}[${index}]`] = item.at;
    }
  }
  if (!map.get('inputs')) {
    reader.report(entry.at, `${path}/inputs`, `processor "${name}" has no "inputs": list the topics whose records drive it`);
  }
  const settings = map.get('settings');
  const settingsMap = settings && reader.mapping(settings.node, `${path}/settings`, undefined, settings.at);
  for (const [key, item] of settingsMap ?? []) {
    const value = reader.scalar(item, `${path}/settings/${key}`);
    if (value !== undefined) processor.settings[key] = value;
  }
  return processor;
}

function readSink(reader: Reader, entry: Entry, groupPrefix: string): SinkSpec {
  const name = entry.key;
  const path = `sinks/${name}`;
  const sink: SinkSpec = {
    name,
    input: '',
    url: '',
    ...BUILT_IN_DEFAULTS.sink,
    coalesce: { ...BUILT_IN_DEFAULTS.sink.coalesce },
    group: `${groupPrefix}${name}`,
    description: '',
    at: entry.keyAt,
    refs: {},
  };
  checkComponentName(reader, entry, path, 'sink');
  const map = reader.mapping(entry.node, path, SINK_KEYS, entry.at);
  if (!map) return sink;
  sink.description = reader.string(map.get('description'), `${path}/description`, { allowEmpty: true }) ?? '';
  sink.group = reader.string(map.get('group'), `${path}/group`) ?? sink.group;
  const input = map.get('input');
  if (!input) reader.report(entry.at, `${path}/input`, `sink "${name}" has no "input": name the command topic it delivers`);
  else {
    const value = reader.string(input, `${path}/input`);
    if (value !== undefined) {
      sink.input = value;
      sink.refs.input = input.at;
    }
  }
  const url = map.get('url');
  const urlValue = reader.string(url, `${path}/url`, { allowEmpty: true });
  if (url && urlValue) {
    if (!/^https?:\/\/[^\s]+$/.test(urlValue) || !URL.canParse(urlValue)) {
      reader.report(url.at, `${path}/url`, `url "${urlValue}" is not an http(s) URL`);
    } else sink.url = urlValue.replace(/\/+$/, '');
  }
  sink.rateLimit = reader.number(map.get('rateLimit'), `${path}/rateLimit`, { min: 0, exclusive: true }) ?? sink.rateLimit;
  sink.maxRetryMs = reader.integer(map.get('maxRetryMs'), `${path}/maxRetryMs`, 0) ?? sink.maxRetryMs;
  sink.timeoutMs = reader.integer(map.get('timeoutMs'), `${path}/timeoutMs`, 1) ?? sink.timeoutMs;
  sink.concurrency = reader.integer(map.get('concurrency'), `${path}/concurrency`, 1) ?? sink.concurrency;
  const coalesce = map.get('coalesce');
  const coalesceMap = coalesce && reader.mapping(coalesce.node, `${path}/coalesce`, undefined, coalesce.at);
  if (coalesceMap) {
    sink.coalesce = {};
    for (const [type, item] of coalesceMap) {
      const ms = reader.integer(item, `${path}/coalesce/${type}`, 0);
      if (ms !== undefined) sink.coalesce[type] = ms;
    }
  }
  // SPEC §7's name: the UpdateAvailability window (`coalesce:` sets any type's).
  const coalesceMs = reader.integer(map.get('coalesceMs'), `${path}/coalesceMs`, 0);
  if (coalesceMs !== undefined) sink.coalesce = { ...sink.coalesce, UpdateAvailability: coalesceMs };
  return sink;
}

function checkComponentName(reader: Reader, entry: Entry, path: string, kind: string): void {
  if (!COMPONENT_NAME.test(entry.key)) {
    reader.report(entry.keyAt, path, `${kind} name "${entry.key}" must be lower-case letters, digits and "-", starting with a letter`);
  }
}

/** Kafka's default max.message.bytes (the broker's message.max.bytes when a topic sets none). */
const KAFKA_MAX_MESSAGE_BYTES = 1_048_588;
/** Room for the error headers a dead letter adds (runtime/dlq.ts bounds them to a few KiB). */
const DLQ_HEADER_ROOM = 64 * 1024;

/**
 * A dead letter carries its source record whole plus error headers, so its topic takes records a
 * little larger than the source's: with the same limit, a record near it could never be
 * dead-lettered, and its partition's outputs would wait behind it for ever.
 */
function dlqMaxMessageBytes(source: TopicSpec): number {
  const declared = Number(source.config['max.message.bytes']);
  return (Number.isFinite(declared) && declared > 0 ? declared : KAFKA_MAX_MESSAGE_BYTES) + DLQ_HEADER_ROOM;
}

/** One `<t>.dlq` per distinct declared topic that a processor or sink reads, sorted. */
function deriveDeadLetters(topology: Topology, retentionMs: number): TopicSpec[] {
  const declared = new Map(topology.topics.map((t) => [t.name, t]));
  const letters: TopicSpec[] = [];
  for (const source of consumedTopics(topology)) {
    const topic = declared.get(source);
    if (!topic) continue;
    letters.push({
      name: dlqTopicOf(source),
      partitions: topic.partitions,
      replicationFactor: topic.replicationFactor,
      retentionMs,
      compacted: false,
      config: { 'max.message.bytes': String(dlqMaxMessageBytes(topic)) },
      schema: null,
      subject: null,
      compatibility: topic.compatibility,
      description: `dead letters of ${source}: original key, value bytes and headers plus error headers`,
      derived: true,
      deadLetterOf: source,
      at: topic.at,
      keys: {},
    });
  }
  return letters;
}

// ---------------------------------------------------------------------------------------------

interface Entry {
  key: string;
  keyAt: Position;
  node: Node | null;
  /** Position of the value, or of the key when the value is empty. */
  at: Position;
}

type Scalar = string | number | boolean;

/** Walks the YAML tree, turning nodes into values and problems with positions. */
class Reader {
  readonly problems: SourceProblem[] = [];
  readonly doc: Document.Parsed;
  private readonly lines = new LineCounter();

  constructor(
    private readonly text: string,
    private readonly env: Record<string, string | undefined>,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: true });
  }

  report(at: Position, path: string, message: string): void {
    this.problems.push({ message, path: path || undefined, line: at.line, column: at.column });
  }

  at(node: Node | null | undefined, fallback: Position = { line: 1, column: 1 }): Position {
    const offset = node?.range?.[0];
    if (offset === undefined) return fallback;
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /** A mapping's entries by key; unknown keys are reported (unless `keys` is undefined). */
  mapping(node: Node | null, path: string, keys: readonly string[] | undefined, at: Position): Map<string, Entry> | undefined {
    const resolved = this.resolve(node);
    if (!isMap(resolved)) {
      this.report(this.at(resolved, at), path, `${path || 'the file'} must be a mapping of keys to values, got ${this.kind(resolved)}`);
      return undefined;
    }
    const entries = new Map<string, Entry>();
    for (const pair of resolved.items) {
      const keyNode = pair.key as Node | null;
      // A topic may be called `123`: YAML reads that key as a number, the file meant a name.
      const raw = isScalar(keyNode) ? keyNode.value : undefined;
      const key = typeof raw === 'number' && isScalar(keyNode) ? (keyNode.source ?? String(raw)) : raw;
      const keyAt = this.at(keyNode, at);
      if (typeof key !== 'string' || key === '') {
        this.report(keyAt, path, `keys in ${path || 'the file'} must be names, got ${describe(key)}`);
        continue;
      }
      if (keys && !keys.includes(key)) {
        const where = path ? ` in ${path}` : '';
        this.report(keyAt, path ? `${path}/${key}` : key, `unknown key "${key}"${where}${didYouMean(key, keys)}; allowed: ${keys.join(', ')}`);
        continue;
      }
      const valueNode = pair.value as Node | null;
      // With duplicate keys YAML has already complained; keep the first.
      if (!entries.has(key)) entries.set(key, { key, keyAt, node: valueNode, at: isNull(valueNode) ? keyAt : this.at(valueNode, keyAt) });
    }
    return entries;
  }

  /** A mapping of names to specs (topics, processors, sinks), in file order. */
  named(entry: Entry, path: string): Entry[] | undefined {
    if (isNull(entry.node)) return [];
    const map = this.mapping(entry.node, path, undefined, entry.at);
    return map ? [...map.values()] : undefined;
  }

  /** The scalar value of a node after interpolation; undefined (with a problem) if it has none. */
  value(node: Node | null): unknown {
    const resolved = this.resolve(node);
    if (resolved === null) return null;
    if (!isScalar(resolved)) return resolved;
    const raw = resolved.value;
    if (typeof raw !== 'string' || !raw.includes('${')) return raw;
    const result = interpolate(raw, this.env);
    for (const problem of result.problems) this.report(this.offsetAt(resolved, raw, problem.offset), '', problem.message);
    if (result.problems.length > 0) return undefined;
    return result.substituted && resolved.type === 'PLAIN' ? retype(result.value) : result.value;
  }

  scalar(entry: Entry, path: string): Scalar | undefined {
    const value = this.value(entry.node);
    if (value === undefined) return undefined;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
    this.report(entry.at, path, `${path} must be a single value, got ${describe(value)}`);
    return undefined;
  }

  string(entry: Entry | undefined, path: string, { allowEmpty = false } = {}): string | undefined {
    if (!entry) return undefined;
    const value = this.value(entry.node);
    if (value === undefined) return undefined;
    if (typeof value === 'string' && (allowEmpty || value !== '')) return value;
    if (value === null && allowEmpty) return '';
    this.report(entry.at, path, `${path} must be ${allowEmpty ? 'a string' : 'a non-empty string'}, got ${describe(value)}`);
    return undefined;
  }

  integer(entry: Entry | undefined, path: string, min: number): number | undefined {
    if (!entry) return undefined;
    const value = this.value(entry.node);
    if (value === undefined) return undefined;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min) return value;
    this.report(entry.at, path, `${lastSegment(path)} must be an integer ≥ ${min}, got ${describe(value)}`);
    return undefined;
  }

  number(entry: Entry | undefined, path: string, { min, exclusive }: { min: number; exclusive: boolean }): number | undefined {
    if (!entry) return undefined;
    const value = this.value(entry.node);
    if (value === undefined) return undefined;
    if (typeof value === 'number' && Number.isFinite(value) && (exclusive ? value > min : value >= min)) return value;
    this.report(entry.at, path, `${lastSegment(path)} must be a number ${exclusive ? '>' : '≥'} ${min}, got ${describe(value)}`);
    return undefined;
  }

  boolean(entry: Entry | undefined, path: string): boolean | undefined {
    if (!entry) return undefined;
    const value = this.value(entry.node);
    if (value === undefined) return undefined;
    if (typeof value === 'boolean') return value;
    this.report(entry.at, path, `${lastSegment(path)} must be true or false, got ${describe(value)}`);
    return undefined;
  }

  retention(entry: Entry | undefined, path: string): number | undefined {
    if (!entry) return undefined;
    const value = this.value(entry.node);
    if (value === undefined) return undefined;
    const ms = parseRetention(value);
    if (ms === undefined) this.report(entry.at, path, `retention must be ${RETENTION_HINT}, got ${describe(value)}`);
    return ms;
  }

  compatibility(entry: Entry | undefined, path: string): Compatibility | undefined {
    if (!entry) return undefined;
    const value = this.value(entry.node);
    if (value === undefined) return undefined;
    const upper = typeof value === 'string' ? value.toUpperCase() : value;
    if (COMPATIBILITY_LEVELS.includes(upper as Compatibility)) return upper as Compatibility;
    this.report(
      entry.at,
      path,
      `compatibility must be one of ${COMPATIBILITY_LEVELS.join(', ')}, got ${describe(value)}${didYouMean(String(value), COMPATIBILITY_LEVELS)}`,
    );
    return undefined;
  }

  /** A list of topic names with the position of each. */
  topicList(entry: Entry | undefined, path: string): { name: string; at: Position }[] {
    if (!entry) return [];
    const node = this.resolve(entry.node);
    if (node === null) return [];
    if (!isSeq(node)) {
      this.report(entry.at, path, `${lastSegment(path)} must be a list of topic names, got ${this.kind(node)}`);
      return [];
    }
    const items: { name: string; at: Position }[] = [];
    for (const [index, item] of node.items.entries()) {
      const at = this.at(item as Node, entry.at);
      const value = this.value(item as Node);
      if (value === undefined) continue;
      if (typeof value !== 'string' || value === '') {
        this.report(at, `${path}[${index}]`, `${lastSegment(path)} must list topic names, got ${describe(value)}`);
        continue;
      }
      items.push({ name: value, at });
    }
    return items;
  }

  private resolve(node: Node | null): Node | null {
    if (node && isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    if (isScalar(node) && node.value === null) return null;
    return node;
  }

  private kind(node: Node | null): string {
    if (node === null) return 'nothing';
    if (isMap(node)) return 'a mapping';
    if (isSeq(node)) return 'a list';
    if (isScalar(node)) return describe(node.value);
    return 'something else';
  }

  /** Position of the n-th `${` of a scalar's value inside its source text. */
  private offsetAt(node: Node, value: string, offset: number): Position {
    const start = node.range?.[0] ?? 0;
    const source = this.text.slice(start, node.range?.[1] ?? start);
    const nth = countOccurrences(value.slice(0, offset), '${');
    let index = -1;
    for (let i = 0; i <= nth; i++) {
      index = source.indexOf('${', index + 1);
      if (index < 0) break;
    }
    const { line, col } = this.lines.linePos(start + Math.max(index, 0));
    return { line, column: col };
  }
}

function isNull(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

/** YAML core-schema typing for an expanded plain scalar: numbers and booleans, else a string. */
function retype(value: string): Scalar {
  const trimmed = value.trim();
  if (/^[-+]?\d+$/.test(trimmed)) return Number(trimmed);
  if (/^[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed)) return Number(trimmed);
  if (/^(true|True|TRUE)$/.test(trimmed)) return true;
  if (/^(false|False|FALSE)$/.test(trimmed)) return false;
  return value;
}

function countOccurrences(text: string, needle: string): number {
  let count = 0;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) count++;
  return count;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isSeq(value)) return 'a list';
  if (isMap(value)) return 'a mapping';
  return typeof value;
}

function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}
