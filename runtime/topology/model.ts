/**
 * The typed topology: what `topology.yaml` declares once loaded, interpolated and given its
 * defaults. Every declared element keeps the position it came from so that later checks (and
 * the plan) can point a user at a line and column. Dead-letter topics are derived, never
 * declared: every processor/sink input `<t>` (stream or table) gets `<t>.dlq` (SPEC §8).
 */

/** A 1-based place in the topology file. */
export interface Position {
  line: number;
  column: number;
}

export const DEFAULT_TOPOLOGY_FILE = 'topology.yaml';
export const DEFAULT_GROUP_PREFIX = 'tributary.';
export const DLQ_SUFFIX = '.dlq';
export const SUPPORTED_VERSION = 1;
/** Kafka's retention.ms for "keep forever". */
export const FOREVER = -1;

// The levels are the registry's: one list, so the topology cannot accept a level the registry refuses.
import type { CompatibilityLevel } from '../registry/compat';

export { COMPATIBILITY_LEVELS } from '../registry/compat';
export type Compatibility = CompatibilityLevel;

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  /** retention.ms for a delete-policy topic; FOREVER (-1) keeps everything. Ignored when compacted. */
  retentionMs: number;
  compacted: boolean;
  /** Other Kafka topic configs, as strings, exactly as Kafka will be told. */
  config: Record<string, string>;
  /** The catalogue topic whose schema this topic carries, or null (no registered schema). */
  schema: string | null;
  /** Registry subject, `<name>-value` (TopicNameStrategy); null when `schema` is null. */
  subject: string | null;
  compatibility: Compatibility;
  description: string;
  /** True for the derived `<input>.dlq` topics; `deadLetterOf` names their source. */
  derived: boolean;
  deadLetterOf?: string;
  at: Position;
  /** Positions of individual keys (`partitions`, `schema`, ...) where the file gave them. */
  keys: Record<string, Position>;
}

export type ScalarSetting = string | number | boolean;

export interface ProcessorSpec {
  name: string;
  /** Co-partitioned stream inputs: a record's key decides its partition on every one of them. */
  inputs: string[];
  /** Topics read whole into a table on every instance: exempt from co-partitioning. */
  tables: string[];
  outputs: string[];
  group: string;
  description: string;
  /** Free-form processor parameters (grace period, coalescing window, ...). */
  settings: Record<string, ScalarSetting>;
  at: Position;
  /** Positions of each referenced topic, by list: `inputs[0]` -> position. */
  refs: Record<string, Position>;
}

export interface SinkSpec {
  name: string;
  input: string;
  /** Receiver base URL; empty means "not configured": the sink is not started (SPEC §7). */
  url: string;
  /** Requests per second, held under any backlog. */
  rateLimit: number;
  maxRetryMs: number;
  timeoutMs: number;
  concurrency: number;
  /** Command type → ms: at most one request per key per window, the last value always sent (SPEC §7 UpdateAvailability). */
  coalesce: Record<string, number>;
  group: string;
  description: string;
  at: Position;
  refs: Record<string, Position>;
}

export interface Topology {
  file: string;
  version: number;
  groupPrefix: string;
  /** Declared topics, in file order. */
  topics: TopicSpec[];
  /** Derived dead-letter topics, one per distinct processor/sink input, sorted by name. */
  deadLetters: TopicSpec[];
  processors: ProcessorSpec[];
  sinks: SinkSpec[];
}

export function dlqTopicOf(topic: string): string {
  return `${topic}${DLQ_SUFFIX}`;
}

export function subjectOf(topic: string): string {
  return `${topic}-value`;
}

/** Every topic `apply` manages: declared ones, then derived dead-letter topics. */
export function allTopics(topology: Topology): TopicSpec[] {
  return [...topology.topics, ...topology.deadLetters];
}

/** Every topic a processor or sink reads (streams and tables), which is what gets a DLQ. */
export function consumedTopics(topology: Pick<Topology, 'processors' | 'sinks'>): string[] {
  const consumed = new Set<string>();
  for (const p of topology.processors) for (const t of [...p.inputs, ...p.tables]) consumed.add(t);
  for (const s of topology.sinks) consumed.add(s.input);
  return [...consumed].sort();
}
