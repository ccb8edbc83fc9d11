/**
 * The topology as deployed under a topic prefix (runtime/processor/naming.ts): every Kafka topic,
 * its dead-letter topic, subject and consumer group carry the prefix; the catalogue schema bound
 * to a topic (`schema`) and processor names do not. An empty prefix returns the topology as is.
 */
import type { Naming } from '../processor/naming';
import { subjectOf, type Topology } from './model';

export function prefixTopology(topology: Topology, naming: Naming): Topology {
  if (naming.prefix === '') return topology;
  const t = naming.topic;
  const topic = <T extends { name: string; subject: string | null; deadLetterOf?: string }>(spec: T): T => ({
    ...spec,
    name: t(spec.name),
    subject: spec.subject === null ? null : subjectOf(t(spec.name)),
    ...(spec.deadLetterOf === undefined ? {} : { deadLetterOf: t(spec.deadLetterOf) }),
  });
  return {
    ...topology,
    groupPrefix: naming.group(topology.groupPrefix),
    topics: topology.topics.map(topic),
    deadLetters: topology.deadLetters.map(topic),
    processors: topology.processors.map((p) => ({ ...p, inputs: p.inputs.map(t), tables: p.tables.map(t), outputs: p.outputs.map(t), group: naming.group(p.group) })),
    sinks: topology.sinks.map((s) => ({ ...s, input: t(s.input), group: naming.group(s.group) })),
  };
}
