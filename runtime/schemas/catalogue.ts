/**
 * The event catalogue: every topic's Avro schema from `schemas/<topic>.avsc` (SPEC §4, §6, §7),
 * loaded synchronously once per directory and shared by publishers, processors, consumers, the
 * topology and the docs generator.
 *
 * - Shared named types live in `schemas/_<name>.avsc` (`_meta.avsc` = `tributary.Meta`) and are
 *   inlined where first referenced, so `schema` is self-contained: what the registry gets under
 *   `subject` (TopicNameStrategy, `<topic>-value`), docs and `x-tributary` included.
 * - Catalogue metadata is the top-level `x-tributary` attribute `{ topic, key, from, kind }`
 *   (commands add `keyByType`). Avro ignores unknown attributes and registries keep them, so it
 *   travels with the registered schema.
 * - `type` is parsed with `avroOptions()`: timestamps are epoch-ms numbers and a command's
 *   `payload` is the plain record of its `type` (see avro-types.ts).
 * - Schemas are deep-frozen: one cached catalogue is shared by every caller in the process.
 * - A malformed file is a ConfigError naming the file: the catalogue is part of the build.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type avro from 'avsc';
import { ConfigError, UnknownTopicError } from '../errors';
import { fullName, parseAvroSchema } from './avro-types';
import { inlineNamedTypes } from './inline-named-types';

export interface TopicSchema {
  topic: string;          // 'order.created'
  subject: string;        // 'order.created-value' (TopicNameStrategy)
  schema: Record<string, unknown>; // self-contained Avro schema JSON (meta inlined), incl. docs and x-tributary
  type: avro.Type;        // parsed once with avsc (import avro from 'avsc'), logical types handled (see below)
  key: string;            // 'orderId' | 'sku' | 'customerId' | 'sku@warehouse' ...
  from: string[];         // producing systems or processor names
  kind: 'event' | 'derived' | 'command';
  doc: string;            // the record doc
  file: string;           // absolute path of the .avsc
}
export interface Catalogue {
  topics(): TopicSchema[];              // sorted by topic
  get(topic: string): TopicSchema | undefined;
  require(topic: string): TopicSchema;  // throws UnknownTopicError (runtime/errors.ts)
}

/** The attribute that carries catalogue metadata in each schema. */
export const CATALOGUE_ATTRIBUTE = 'x-tributary';

/** What `x-tributary` holds. `keyByType` (commands only): command type → key of that type. */
export interface CatalogueMetadata {
  topic: string;
  key: string;
  from: string[];
  kind: TopicSchema['kind'];
  keyByType?: Record<string, string>;
}

export const DEFAULT_SCHEMAS_DIR = fileURLToPath(new URL('../../schemas', import.meta.url));

const KINDS: readonly string[] = ['event', 'derived', 'command'];
const cache = new Map<string, Catalogue>();

export function loadCatalogue(dir: string = DEFAULT_SCHEMAS_DIR): Catalogue {
  const root = resolve(dir);
  let catalogue = cache.get(root);
  if (!catalogue) {
    catalogue = readCatalogue(root);
    cache.set(root, catalogue);
  }
  return catalogue;
}

/** The catalogue metadata of a loaded topic, e.g. a command topic's `keyByType`. */
export function metadataOf(topic: TopicSchema): CatalogueMetadata {
  return topic.schema[CATALOGUE_ATTRIBUTE] as CatalogueMetadata;
}

function readCatalogue(dir: string): Catalogue {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.avsc')).sort();
  } catch (cause) {
    throw new ConfigError(`schema directory ${dir} cannot be read: check the path`, cause);
  }
  const shared = new Map<string, Record<string, unknown>>();
  for (const file of files.filter((f) => f.startsWith('_'))) {
    const schema = readJson(join(dir, file));
    shared.set(fullName(schema, undefined), schema);
  }
  const topics = files.filter((f) => !f.startsWith('_')).map((f) => readTopic(join(dir, f), shared));
  const byTopic = new Map(topics.map((t) => [t.topic, t]));
  const names = [...byTopic.keys()];

  return {
    topics: () => [...topics],
    get: (topic) => byTopic.get(topic),
    require(topic) {
      const found = byTopic.get(topic);
      if (!found) throw new UnknownTopicError(topic, names);
      return found;
    },
  };
}

function readTopic(file: string, shared: ReadonlyMap<string, Record<string, unknown>>): TopicSchema {
  const where = relative(process.cwd(), file) || file;
  const source = readJson(file);
  const topic = basename(file, '.avsc');
  const meta = source[CATALOGUE_ATTRIBUTE] as Partial<CatalogueMetadata> | undefined;
  const problem = metadataProblem(meta, topic);
  if (problem) throw new ConfigError(`${where}: "${CATALOGUE_ATTRIBUTE}" ${problem}`);
  if (typeof source.doc !== 'string' || source.doc.trim() === '') {
    throw new ConfigError(`${where}: the record has no "doc": describe the event for its users`);
  }
  const schema = deepFreeze(inlineNamedTypes(source, shared) as Record<string, unknown>);
  let type: avro.Type;
  try {
    type = parseAvroSchema(schema);
  } catch (cause) {
    throw new ConfigError(`${where}: not a valid Avro schema: ${(cause as Error).message}`, cause);
  }
  const { key, from, kind } = meta as CatalogueMetadata;
  return { topic, subject: `${topic}-value`, schema, type, key, from: [...from], kind, doc: source.doc, file };
}

function metadataProblem(meta: Partial<CatalogueMetadata> | undefined, topic: string): string | undefined {
  if (typeof meta !== 'object' || meta === null) return 'is missing: add { topic, key, from, kind }';
  if (meta.topic !== topic) return `topic is ${JSON.stringify(meta.topic)}: it must equal the file name, "${topic}"`;
  if (typeof meta.key !== 'string' || meta.key === '') return 'key is missing';
  if (!Array.isArray(meta.from) || meta.from.length === 0 || !meta.from.every((f) => typeof f === 'string')) {
    return 'from must be a non-empty list of producing systems or processors';
  }
  if (!KINDS.includes(meta.kind as string)) return `kind must be one of ${KINDS.join(', ')}`;
  return undefined;
}

function readJson(file: string): Record<string, unknown> {
  const where = relative(process.cwd(), file) || file;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`${where}: not readable JSON: ${(cause as Error).message}`, cause);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof (parsed as { name?: unknown }).name !== 'string') {
    throw new ConfigError(`${where}: expected a named Avro record schema object`);
  }
  return parsed as Record<string, unknown>;
}

/** Catalogue schemas are shared by every caller in the process: nobody may edit them in place. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
