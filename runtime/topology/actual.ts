/**
 * Reads what the cluster and the registry have for the topics and subjects a topology declares
 * (and only those): partition and replica counts and configs through the kafkajs admin client,
 * subject versions, lookup of the desired schema, effective compatibility and, for a schema new
 * to an existing subject, the schema of every live version (so plan.ts decides compatibility at
 * the level the topology declares) and the registry's own verdict at its current level.
 * The result feeds plan.ts.
 */
import kafkajs, { type Admin } from 'kafkajs';
import { allTopics, type Topology } from './model';
import type { ActualState, ActualSubject, ActualTopic } from './plan';
import type { SubjectsClient } from './subjects';
import type { SchemaCatalogue } from './validate';

// kafkajs is CommonJS: its enums are reachable through the default export only.
const { ConfigResourceTypes, ConfigSource } = kafkajs;

export async function readActualState(
  topology: Topology,
  catalogue: SchemaCatalogue,
  { admin, subjects }: { admin: Admin; subjects: SubjectsClient },
): Promise<ActualState> {
  const [cluster, topics] = await Promise.all([admin.describeCluster(), readTopics(admin, allTopics(topology).map((t) => t.name))]);
  const state: ActualState = { brokers: cluster.brokers.length, topics, subjects: new Map() };
  for (const topic of allTopics(topology)) {
    if (topic.subject === null || topic.schema === null) continue;
    const schema = catalogue.get(topic.schema)?.schema;
    if (!schema) continue;
    state.subjects.set(topic.subject, await readSubject(subjects, topic.subject, schema));
  }
  return state;
}

export async function readTopics(admin: Admin, names: string[]): Promise<Map<string, ActualTopic>> {
  const existing = new Set(await admin.listTopics());
  const present = names.filter((n) => existing.has(n));
  const topics = new Map<string, ActualTopic>();
  if (present.length === 0) return topics;

  const metadata = await admin.fetchTopicMetadata({ topics: present });
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  const configs = new Map(described.resources.map((r) => [r.resourceName, r]));
  for (const topic of metadata.topics) {
    // kafkajs throws for a resource answered with an error code, so each one is here.
    const resource = configs.get(topic.name);
    const config: Record<string, string> = {};
    const overrides: Record<string, string> = {};
    for (const entry of resource?.configEntries ?? []) {
      if (entry.configValue === null || entry.configValue === undefined) continue;
      config[entry.configName] = entry.configValue;
      if (entry.configSource === ConfigSource.TOPIC_CONFIG && !entry.isSensitive) overrides[entry.configName] = entry.configValue;
    }
    topics.set(topic.name, {
      name: topic.name,
      partitions: topic.partitions.length,
      replicationFactor: Math.max(0, ...topic.partitions.map((p) => p.replicas.length)),
      config,
      overrides,
    });
  }
  return topics;
}

async function readSubject(subjects: SubjectsClient, subject: string, schema: Record<string, unknown>): Promise<ActualSubject> {
  const [versions, compatibility] = await Promise.all([subjects.versions(subject), subjects.compatibilityLevel(subject)]);
  const actual: ActualSubject = { subject, versions, compatibility };
  if (versions.length === 0) return actual;
  actual.registeredVersion = await subjects.lookup(subject, schema);
  if (actual.registeredVersion !== undefined) return actual;
  const ascending = [...versions].sort((a, b) => a - b);
  const [history, verdict] = await Promise.all([
    Promise.all(ascending.map(async (version) => ({ version, ...(await subjects.schema(subject, version)) }))),
    subjects.checkCompatibility(subject, schema),
  ]);
  actual.history = history;
  actual.registryVerdict = verdict;
  return actual;
}
