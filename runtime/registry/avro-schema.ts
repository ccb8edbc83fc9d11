/**
 * Avro schema text in, a parsed avsc Type and its canonical text out.
 *
 * The canonical text is what the registry stores, returns and compares: "the same schema" means
 * the same canonical text. It follows the shape Avro Java's `Schema.toString()` gives (which
 * Confluent compares): whitespace and key order do not matter, `"a.b.Foo"` equals
 * `name: "Foo", namespace: "a.b"`, `{"type":"int"}` equals `"int"`; but `doc`, defaults, aliases,
 * `order`, `logicalType` and custom properties are part of the schema, so changing a doc makes a
 * new version, as in Confluent. One deliberate difference: custom properties are written sorted,
 * so their order in the input never makes a new schema.
 */
import avro from 'avsc';

export class InvalidSchemaError extends Error {}

export interface ParsedSchema {
  type: avro.Type;
  canonical: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const NAMED = new Set(['record', 'error', 'enum', 'fixed']);
const RESERVED = new Set(['type', 'name', 'namespace', 'doc', 'fields', 'symbols', 'default', 'size', 'items', 'values', 'aliases']);
const FIELD_RESERVED = new Set(['name', 'type', 'doc', 'default', 'order', 'aliases']);

export function parseAvroSchema(text: unknown): ParsedSchema {
  if (typeof text !== 'string' || text.trim() === '') throw new InvalidSchemaError('Empty schema');
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch (error) {
    throw new InvalidSchemaError(`Invalid schema ${text}: not JSON (${(error as Error).message})`);
  }
  let type: avro.Type;
  try {
    // Java Avro refuses unnamed records; avsc only does so when asked.
    type = avro.Type.forSchema(json as avro.Schema, { noAnonymousTypes: true, wrapUnions: 'auto' });
  } catch (error) {
    throw new InvalidSchemaError(`Invalid schema ${text}: ${(error as Error).message}`);
  }
  return { type, canonical: JSON.stringify(canonicalJson(json, '')) };
}

function namespaceOf(fullName: string): string {
  const dot = fullName.lastIndexOf('.');
  return dot < 0 ? '' : fullName.slice(0, dot);
}

function shortName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('.') + 1);
}

function qualify(name: string, namespace: string): string {
  return name.includes('.') || !namespace ? name : `${namespace}.${name}`;
}

/** A reference is written short when it lives in the enclosing namespace, full otherwise. */
function reference(name: string, namespace: string): string {
  const full = qualify(name, namespace);
  return namespaceOf(full) === namespace ? shortName(full) : full;
}

function props(node: JsonObject, reserved: Set<string>): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(node).filter((k) => !reserved.has(k)).sort()) out[key] = node[key] as Json;
  return out;
}

function canonicalJson(node: Json, namespace: string): Json {
  if (typeof node === 'string') return PRIMITIVES.has(node) ? node : reference(node, namespace);
  if (Array.isArray(node)) return node.map((branch) => canonicalJson(branch, namespace));
  if (node === null || typeof node !== 'object') return node;

  const type = node.type;
  if (typeof type !== 'string') return canonicalJson(type ?? null, namespace);
  if (PRIMITIVES.has(type)) {
    const extra = props(node, RESERVED);
    return Object.keys(extra).length === 0 ? type : { type, ...extra };
  }
  if (type === 'array') return { type, items: canonicalJson(node.items ?? null, namespace), ...props(node, RESERVED) };
  if (type === 'map') return { type, values: canonicalJson(node.values ?? null, namespace), ...props(node, RESERVED) };
  if (!NAMED.has(type)) return reference(type, namespace);

  const rawName = String(node.name);
  const declared = typeof node.namespace === 'string' ? node.namespace : namespace;
  const full = rawName.includes('.') ? rawName : qualify(rawName, declared);
  const own = namespaceOf(full);
  const out: JsonObject = { type, name: shortName(full) };
  if (own !== namespace) out.namespace = own;
  if (node.doc !== undefined) out.doc = node.doc;
  if (type === 'record' || type === 'error') {
    const fields = Array.isArray(node.fields) ? node.fields : [];
    out.fields = fields.map((field) => canonicalField(field as JsonObject, own));
  } else if (type === 'enum') {
    out.symbols = node.symbols ?? [];
    if (node.default !== undefined) out.default = node.default;
  } else {
    out.size = node.size ?? null;
  }
  Object.assign(out, props(node, RESERVED));
  if (Array.isArray(node.aliases) && node.aliases.length > 0) out.aliases = node.aliases;
  return out;
}

function canonicalField(field: JsonObject, namespace: string): JsonObject {
  const out: JsonObject = { name: field.name ?? null, type: canonicalJson(field.type ?? null, namespace) };
  if (field.doc !== undefined) out.doc = field.doc;
  if (field.default !== undefined) out.default = field.default;
  if (field.order !== undefined && field.order !== 'ascending') out.order = field.order;
  Object.assign(out, props(field, FIELD_RESERVED));
  if (Array.isArray(field.aliases) && field.aliases.length > 0) out.aliases = field.aliases;
  return out;
}
