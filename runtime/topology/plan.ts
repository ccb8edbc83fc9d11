/**
 * Desired topology + actual cluster/registry state -> the plan `topology apply` prints and runs.
 * Pure: the actual state is a value (read by actual.ts), so every rule is unit-tested without a
 * broker.
 *
 * What apply does, and what it refuses (a refusal stops the whole apply; nothing is changed):
 * - a missing topic is created; a missing subject gets the catalogue schema registered;
 * - more partitions are added (with a warning: keys move to other partitions);
 * - FEWER partitions: refused. Kafka cannot remove partitions; the way out is a new topic with
 *   the new count and a migration of producers and consumers to it;
 * - a different replication factor: refused. It needs a partition reassignment
 *   (kafka-reassign-partitions.sh), which moves data between brokers and is an operator's call;
 * - delete -> compact: refused. Compaction keeps only the last record per key: the history of
 *   a kept-for-ever topic (facts that views are rebuilt from) would be destroyed for good;
 * - compact -> delete: allowed only with `retention: forever` (nothing is removed, the topic
 *   just stops being compacted); with a finite retention the current value of every key older
 *   than that would be deleted, so it is refused;
 * - a shorter retention (forever -> 7d, 30d -> 7d): refused, since Kafka would delete the older
 *   records at once; if that is really wanted, an operator runs kafka-configs.sh;
 * - other configs are altered to the declared value;
 * - a subject whose effective compatibility level differs gets the declared level;
 * - a schema new to a subject that is incompatible, at the level the topology DECLARES, with the
 *   versions that level requires (the latest, or every live one for a _TRANSITIVE level): refused,
 *   naming the subject and the problems. It is decided here, from the versions' schemas, because
 *   the same apply may change the level (NONE -> BACKWARD, FULL -> BACKWARD) before registering;
 *   a check against the current level alone would pass schemas the registration then refuses
 *   (after topics were already written) and refuse ones the new level accepts. When the level is
 *   unchanged, the registry's own verdict is honoured as well, in case it is stricter;
 * - topics and subjects that exist but are not in the topology are left alone: apply never
 *   deletes anything.
 */
import { TributaryError } from '../errors';
import { parseAvroSchema } from '../registry/avro-schema';
import { compatibilityProblems, type PreviousVersion } from '../registry/compat';
import { FOREVER, allTopics, type Compatibility, type TopicSpec, type Topology } from './model';
import { formatRetention } from './retention';
import type { SchemaCatalogue } from './validate';

export interface ActualTopic {
  name: string;
  partitions: number;
  replicationFactor: number;
  /** Effective config values (defaults included), as Kafka reports them. */
  config: Record<string, string>;
  /** Only the configs set on the topic itself (to keep them in a non-incremental AlterConfigs). */
  overrides: Record<string, string>;
}

export interface ActualSubject {
  subject: string;
  /** Versions registered under the subject; empty when the subject does not exist. */
  versions: number[];
  /** The version holding exactly the desired schema, if any. */
  registeredVersion?: number;
  /** Effective compatibility level of the subject (its own, else the global one). */
  compatibility?: string;
  /** When the desired schema is new to an existing subject: every live version, oldest first. */
  history?: { version: number; schema: string; schemaType: string }[];
  /**
   * When the desired schema is new to an existing subject: the registry's verdict at the
   * subject's current level (only meaningful when the plan keeps that level).
   */
  registryVerdict?: { ok: boolean; messages: string[] };
}

export interface ActualState {
  brokers: number;
  topics: Map<string, ActualTopic>;
  subjects: Map<string, ActualSubject>;
}

export type Change =
  | { kind: 'create-topic'; topic: string; partitions: number; replicationFactor: number; config: Record<string, string> }
  | { kind: 'add-partitions'; topic: string; from: number; to: number; warning: string }
  | {
      kind: 'alter-config';
      topic: string;
      set: Record<string, { from: string | undefined; to: string }>;
      /** Configs already set on the topic: AlterConfigs replaces the whole set, so they go along. */
      keep: Record<string, string>;
    }
  | { kind: 'set-compatibility'; subject: string; from: string | undefined; to: Compatibility }
  | { kind: 'register-schema'; subject: string; topic: string; schemaName: string; schema: Record<string, unknown>; after: number | undefined };

export interface Refusal {
  /** The topic or subject concerned. */
  resource: string;
  reason: string;
}

export interface Plan {
  changes: Change[];
  refusals: Refusal[];
  /** Topics and subjects already as declared. */
  unchanged: string[];
}

/** The plan has refusals: nothing was changed. */
export class DestructiveChangeError extends TributaryError {
  readonly refusals: Refusal[];

  constructor(refusals: Refusal[]) {
    const first = refusals[0];
    const more = refusals.length > 1 ? ` (and ${refusals.length - 1} more refused change${refusals.length > 2 ? 's' : ''})` : '';
    super('TRB_TOPOLOGY_DESTRUCTIVE', `nothing applied: ${first ? `${first.resource} ${first.reason}` : 'refused'}${more}`);
    this.refusals = refusals;
  }
}

export const CHANGE_LABELS: Record<Change['kind'], string> = {
  'create-topic': 'create topic',
  'add-partitions': 'add partitions',
  'alter-config': 'alter config',
  'set-compatibility': 'set compatibility',
  'register-schema': 'register schema',
};

/** The Kafka configs a topic must have: cleanup.policy and retention.ms always explicit. */
export function desiredConfig(topic: TopicSpec): Record<string, string> {
  const config: Record<string, string> = { 'cleanup.policy': topic.compacted ? 'compact' : 'delete' };
  if (!topic.compacted) config['retention.ms'] = String(topic.retentionMs);
  return { ...config, ...topic.config };
}

export function planTopology(topology: Topology, actual: ActualState, catalogue: SchemaCatalogue): Plan {
  const plan: Plan = { changes: [], refusals: [], unchanged: [] };
  for (const topic of allTopics(topology)) {
    planTopic(topic, actual, plan);
    if (topic.subject !== null && topic.schema !== null) planSubject(topic, actual, catalogue, plan);
  }
  return plan;
}

export function isEmpty(plan: Plan): boolean {
  return plan.changes.length === 0 && plan.refusals.length === 0;
}

function planTopic(topic: TopicSpec, actual: ActualState, plan: Plan): void {
  const want = desiredConfig(topic);
  const have = actual.topics.get(topic.name);
  if (!have) {
    if (topic.replicationFactor > actual.brokers) {
      plan.refusals.push({
        resource: topic.name,
        reason: `replication factor ${topic.replicationFactor} needs ${topic.replicationFactor} brokers and the cluster has ${actual.brokers}: lower replicationFactor (TRIBUTARY_REPLICATION_FACTOR)`,
      });
      return;
    }
    plan.changes.push({ kind: 'create-topic', topic: topic.name, partitions: topic.partitions, replicationFactor: topic.replicationFactor, config: want });
    return;
  }
  const before = plan.changes.length + plan.refusals.length;

  if (topic.partitions < have.partitions) {
    plan.refusals.push({
      resource: topic.name,
      reason: `has ${have.partitions} partitions and the topology says ${topic.partitions}: Kafka cannot remove partitions; keep ${have.partitions}, or create a new topic with ${topic.partitions} and migrate producers and consumers to it`,
    });
  } else if (topic.partitions > have.partitions) {
    plan.changes.push({
      kind: 'add-partitions',
      topic: topic.name,
      from: have.partitions,
      to: topic.partitions,
      warning: 'keys hash to new partitions: per-key order breaks across the change; rebuild the state of processors that read it',
    });
  }

  if (topic.replicationFactor !== have.replicationFactor) {
    plan.refusals.push({
      resource: topic.name,
      reason: `has replication factor ${have.replicationFactor} and the topology says ${topic.replicationFactor}: apply does not move replicas; reassign them with kafka-reassign-partitions.sh, or set replicationFactor to ${have.replicationFactor}`,
    });
  }

  const refusal = cleanupRefusal(topic, have);
  if (refusal) plan.refusals.push({ resource: topic.name, reason: refusal });

  const set: Record<string, { from: string | undefined; to: string }> = {};
  for (const [name, value] of Object.entries(want)) {
    if (have.config[name] === value) continue;
    // A compacted topic's retention.ms is not desired at all; cleanupRefusal judged the rest.
    set[name] = { from: have.config[name], to: value };
  }
  if (!refusal && Object.keys(set).length > 0) plan.changes.push({ kind: 'alter-config', topic: topic.name, set, keep: { ...have.overrides } });

  if (plan.changes.length + plan.refusals.length === before) plan.unchanged.push(topic.name);
}

/** Why changing cleanup.policy / retention.ms as declared would lose data, if it would. */
function cleanupRefusal(topic: TopicSpec, have: ActualTopic): string | undefined {
  const policy = (have.config['cleanup.policy'] ?? 'delete').split(',').map((p) => p.trim());
  const compactsNow = policy.includes('compact');
  const deletesNow = policy.includes('delete');
  const retentionNow = Number(have.config['retention.ms'] ?? FOREVER);
  if (topic.compacted) {
    if (!compactsNow) {
      return `is not compacted and the topology says compacted: compaction would keep only the last record per key and destroy the rest of its history; create a new compacted topic and copy into it instead`;
    }
    return undefined;
  }
  if (compactsNow && topic.retentionMs !== FOREVER) {
    return `is compacted and the topology says retention ${formatRetention(topic.retentionMs)}: the current value of every key older than that would be deleted; use retention: forever to stop compacting without losing anything`;
  }
  // A compact-only topic's retention.ms never applied, so only a deleting one can "shrink".
  if (deletesNow && longer(retentionNow, topic.retentionMs)) {
    return `keeps records ${describeRetention(retentionNow)} and the topology says ${describeRetention(topic.retentionMs)}: Kafka would delete the older records at once; keep the retention, or shorten it deliberately with kafka-configs.sh`;
  }
  return undefined;
}

/** True when retention `a` keeps strictly more than retention `b` (FOREVER keeps everything). */
function longer(a: number, b: number): boolean {
  if (a < 0) return b >= 0;
  if (b < 0) return false;
  return a > b;
}

function describeRetention(ms: number): string {
  return ms < 0 ? 'for ever' : `for ${formatRetention(ms)}`;
}

function planSubject(topic: TopicSpec, actual: ActualState, catalogue: SchemaCatalogue, plan: Plan): void {
  const subject = topic.subject!;
  const entry = catalogue.get(topic.schema!);
  if (!entry) {
    // validate.ts reports unknown bindings; a plan is only made for a valid topology.
    plan.refusals.push({ resource: subject, reason: `schema "${topic.schema}" is not in the catalogue` });
    return;
  }
  const have = actual.subjects.get(subject) ?? { subject, versions: [] };
  const before = plan.changes.length + plan.refusals.length;

  if (have.compatibility?.toUpperCase() !== topic.compatibility) {
    plan.changes.push({ kind: 'set-compatibility', subject, from: have.compatibility, to: topic.compatibility });
  }
  if (have.registeredVersion === undefined) {
    const latest = have.versions.length > 0 ? Math.max(...have.versions) : undefined;
    const refusal = latest === undefined ? undefined : schemaRefusal(topic, entry, have);
    if (refusal) plan.refusals.push({ resource: subject, reason: refusal });
    else plan.changes.push({ kind: 'register-schema', subject, topic: topic.name, schemaName: entry.topic, schema: entry.schema, after: latest });
  }
  if (plan.changes.length + plan.refusals.length === before) plan.unchanged.push(subject);
}

const EVOLVE = 'evolve the schema compatibly (add fields with defaults) or use a new topic';

/**
 * Why registering `entry` as a new version of an existing subject would be refused once the
 * subject is at the topology's level, if it would.
 */
function schemaRefusal(topic: TopicSpec, entry: { topic: string; schema: Record<string, unknown> }, have: ActualSubject): string | undefined {
  const level = topic.compatibility;
  const subject = have.subject;
  const history = [...(have.history ?? [])].sort((a, b) => a.version - b.version);
  const missing = have.versions.filter((v) => !history.some((h) => h.version === v));
  if (missing.length > 0) {
    return `the schemas of versions ${missing.join(', ')} of subject ${subject} were not read, so compatibility at ${level} cannot be decided: run apply again`;
  }
  const previous: PreviousVersion[] = [];
  for (const { version, schema, schemaType } of history) {
    if (schemaType.toUpperCase() !== 'AVRO') {
      return `version ${version} of subject ${subject} is a ${schemaType} schema: Tributary topics carry Avro; use a new topic`;
    }
    try {
      previous.push({ version, type: parseAvroSchema(schema).type });
    } catch (error) {
      return `version ${version} of subject ${subject} cannot be read as Avro (${(error as Error).message}), so compatibility at ${level} cannot be decided: use a new topic`;
    }
  }
  const problems = compatibilityProblems(level, parseAvroSchema(JSON.stringify(entry.schema)).type, previous);
  if (problems.length > 0) return `schema "${entry.topic}" is not ${level}-compatible with subject ${subject}: ${problems.join('; ')}; ${EVOLVE}`;

  const levelKept = have.compatibility?.toUpperCase() === level;
  if (levelKept && have.registryVerdict && !have.registryVerdict.ok) {
    const messages = have.registryVerdict.messages.length > 0 ? have.registryVerdict.messages.join('; ') : 'no details given';
    return `schema "${entry.topic}" is not ${level}-compatible with subject ${subject}: the registry says: ${messages}; ${EVOLVE}`;
  }
  return undefined;
}
