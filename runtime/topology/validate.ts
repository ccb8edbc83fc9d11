/**
 * Everything `tributary topology validate` checks, each problem with file, line and column:
 * the shape checks of load.ts (syntax, unknown keys, types, ranges, topic names, retention vs
 * compaction) and the cross-references here — processors and sinks naming undeclared topics,
 * schema bindings missing from the catalogue, co-partitioning of a processor's stream inputs
 * (tables are read whole and exempt), names used twice, and declared topics that collide with
 * the derived `<input>.dlq` dead-letter topics. All problems are collected, sorted by position.
 *
 * The catalogue is a parameter (anything with `get`/`topics`), so tests can hand in a small one.
 */
import { TopologyError, type SourceProblem } from '../errors';
import type { Catalogue } from '../schemas/catalogue';
import { readTopology, type LoadOptions } from './load';
import { consumedTopics, DEFAULT_TOPOLOGY_FILE, dlqTopicOf, type Position, type Topology } from './model';
import { didYouMean } from './suggest';

export type SchemaCatalogue = Pick<Catalogue, 'get' | 'topics'>;

export interface ValidateOptions extends LoadOptions {
  catalogue: SchemaCatalogue;
}

/** Names `tributary run` gives a meaning of its own; a processor or sink may not take them. */
const RESERVED_NAMES = ['api', 'all'];
const MAX_TOPIC_NAME = 249;

/** Read, parse and check a topology file; never throws for problems in the file itself. */
export function validateTopologyFile(
  path: string = DEFAULT_TOPOLOGY_FILE,
  options: ValidateOptions,
): { topology: Topology; problems: SourceProblem[] } {
  const { topology, problems } = readTopology(path, options);
  return { topology, problems: sortProblems([...problems, ...checkTopology(topology, options.catalogue)]) };
}

/** The topology, or a TopologyError carrying every problem. */
export function loadValidTopology(path: string = DEFAULT_TOPOLOGY_FILE, options: ValidateOptions): Topology {
  const { topology, problems } = validateTopologyFile(path, options);
  if (problems.length > 0) throw new TopologyError(topology.file, problems);
  return topology;
}

/** Cross-reference checks over a parsed topology. */
export function checkTopology(topology: Topology, catalogue: SchemaCatalogue): SourceProblem[] {
  const problems: SourceProblem[] = [];
  const report = (at: Position, path: string, message: string) => problems.push({ message, path, line: at.line, column: at.column });
  const declared = new Map(topology.topics.map((t) => [t.name, t]));
  const topicNames = [...declared.keys()];
  const schemaNames = catalogue.topics().map((t) => t.topic);

  for (const topic of topology.topics) {
    if (topic.schema !== null && !catalogue.get(topic.schema)) {
      const bound = topic.keys.schema !== undefined;
      const how = bound
        ? `schema "${topic.schema}" is not in the catalogue${didYouMean(topic.schema, schemaNames)}`
        : `topic "${topic.name}" has no schema of the same name in the catalogue`;
      report(
        topic.keys.schema ?? topic.at,
        `topics/${topic.name}/schema`,
        `${how}: bind a catalogue schema with "schema: <topic>", add schemas/${topic.schema}.avsc, or write "schema: none"`,
      );
    }
  }

  const consumed = new Set(consumedTopics(topology));
  for (const topic of topology.topics) {
    const source = topic.name.endsWith('.dlq') ? topic.name.slice(0, -'.dlq'.length) : undefined;
    if (source !== undefined && consumed.has(source)) {
      report(
        topic.at,
        `topics/${topic.name}`,
        `"${topic.name}" is the dead-letter topic of "${source}", which apply derives by itself: remove it from topics`,
      );
    }
  }
  for (const source of consumed) {
    const topic = declared.get(source);
    if (topic && dlqTopicOf(source).length > MAX_TOPIC_NAME) {
      report(topic.at, `topics/${source}`, `"${source}" is too long to have a dead-letter topic "${dlqTopicOf(source)}": Kafka allows ${MAX_TOPIC_NAME} characters`);
    }
  }

  const reference = (owner: string, name: string, at: Position | undefined, path: string) => {
    if (!name || declared.has(name)) return;
    report(at ?? { line: 1, column: 1 }, path, `${owner} uses topic "${name}", which is not declared under topics${didYouMean(name, topicNames)}`);
  };

  for (const processor of topology.processors) {
    const owner = `processor "${processor.name}"`;
    const read = new Map<string, string>();
    const written = new Set<string>();
    for (const list of ['inputs', 'tables', 'outputs'] as const) {
      processor[list].forEach((name, index) => {
        const path = `processors/${processor.name}/${list}[${index}]`;
        const at = processor.refs[`${list}[${index}]`] ?? processor.at;
        reference(owner, name, at, path);
        if (list === 'outputs') {
          if (written.has(name)) report(at, path, `${owner} lists "${name}" twice in outputs`);
          written.add(name);
          return;
        }
        const earlier = read.get(name);
        if (earlier === list) report(at, path, `${owner} lists "${name}" twice in ${list}`);
        else if (earlier) report(at, path, `${owner} reads "${name}" both as a stream input and as a table: choose one`);
        else read.set(name, list);
      });
    }
    checkCoPartitioning(topology, processor.name, report);
  }

  for (const sink of topology.sinks) {
    reference(`sink "${sink.name}"`, sink.input, sink.refs.input, `sinks/${sink.name}/input`);
  }

  const components = [
    ...topology.processors.map((p) => ({ kind: 'processor', name: p.name, group: p.group, at: p.at })),
    ...topology.sinks.map((s) => ({ kind: 'sink', name: s.name, group: s.group, at: s.at })),
  ];
  const byName = new Map<string, string>();
  const byGroup = new Map<string, string>();
  for (const component of components) {
    const path = `${component.kind}s/${component.name}`;
    const label = `${component.kind} "${component.name}"`;
    if (RESERVED_NAMES.includes(component.name)) {
      report(component.at, path, `"${component.name}" is reserved for \`tributary run ${component.name}\`: choose another name`);
    }
    const sameName = byName.get(component.name);
    if (sameName) report(component.at, path, `${label} has the same name as ${sameName}: \`tributary run\` needs unique names`);
    else byName.set(component.name, label);
    const sameGroup = byGroup.get(component.group);
    if (sameGroup) {
      report(component.at, path, `${label} consumes as group "${component.group}" like ${sameGroup}: they would split each other's partitions; give each its own group`);
    } else byGroup.set(component.group, label);
  }
  return problems;
}

/**
 * A processor joins its stream inputs by key per partition, which only works if a key lands on
 * the same partition number in each: same partitioner (producers share the default) and the
 * same partition count. The first input sets the count the others must match.
 */
function checkCoPartitioning(topology: Topology, name: string, report: (at: Position, path: string, message: string) => void): void {
  const processor = topology.processors.find((p) => p.name === name)!;
  const declared = new Map(topology.topics.map((t) => [t.name, t]));
  let first: { name: string; partitions: number } | undefined;
  processor.inputs.forEach((input, index) => {
    const topic = declared.get(input);
    if (!topic) return;
    if (!first) {
      first = { name: input, partitions: topic.partitions };
      return;
    }
    if (topic.partitions !== first.partitions) {
      report(
        processor.refs[`inputs[${index}]`] ?? processor.at,
        `processors/${name}/inputs[${index}]`,
        `inputs of processor "${name}" are not co-partitioned: "${input}" has ${topic.partitions} partitions but "${first.name}" has ${first.partitions}; give them the same partition count, or read "${input}" under tables`,
      );
    }
  });
}

export function sortProblems(problems: SourceProblem[]): SourceProblem[] {
  return [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/** `file:line:col message`, the shape editors and CI annotate from. */
export function formatProblem(file: string, problem: SourceProblem): string {
  const where = problem.line ? `${file}:${problem.line}:${problem.column ?? 1}` : file;
  return `${where} ${problem.message}`;
}
