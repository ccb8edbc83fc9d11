/**
 * A small stand-in for runtime/schemas/catalogue.ts in broker-free topology tests: the topics
 * `orders`, `status` and `commands`, each with a tiny record schema (or, with `catalogueOf`, the
 * schemas a test gives). Only `get` and `topics` are used by the topology code.
 */
import type { SchemaCatalogue } from '../../runtime/topology/validate';

type Entry = ReturnType<SchemaCatalogue['topics']>[number];

export const FAKE_SCHEMA_NAMES = ['orders', 'status', 'commands'];

export function fakeSchema(topic: string): Record<string, unknown> {
  return { type: 'record', name: topic.replace(/\W/g, '_'), doc: `${topic} for tests`, fields: [{ name: 'id', type: 'string', doc: 'id' }] };
}

export const fakeCatalogue: SchemaCatalogue = {
  topics: () => FAKE_SCHEMA_NAMES.map((topic) => entry(topic)),
  get: (topic) => (FAKE_SCHEMA_NAMES.includes(topic) ? entry(topic) : undefined),
};

/** A catalogue holding exactly these topic -> schema pairs. */
export function catalogueOf(schemas: Record<string, Record<string, unknown>>): SchemaCatalogue {
  return {
    topics: () => Object.keys(schemas).map((topic) => entry(topic, schemas[topic])),
    get: (topic) => (topic in schemas ? entry(topic, schemas[topic]) : undefined),
  };
}

function entry(topic: string, schema: Record<string, unknown> = fakeSchema(topic)): Entry {
  return { topic, subject: `${topic}-value`, schema, key: 'id', from: ['test'], kind: 'event', doc: topic, file: `${topic}.avsc` } as unknown as Entry;
}
