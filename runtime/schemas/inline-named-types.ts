/**
 * Makes a schema self-contained: the first reference (in Avro definition order) to a shared named
 * type such as `tributary.Meta` (from `schemas/_*.avsc`) is replaced by a copy of its definition;
 * later references stay names, as Avro requires. The registry then gets one full schema per subject,
 * without schema references, which every registry flavour and client understands.
 */
import { fullName, namespaceOf } from './avro-types';

type Json = Record<string, unknown>;

export function inlineNamedTypes(schema: unknown, shared: ReadonlyMap<string, Json>): unknown {
  return walk(schema, undefined, shared, new Set());
}

function walk(node: unknown, namespace: string | undefined, shared: ReadonlyMap<string, Json>, defined: Set<string>): unknown {
  if (typeof node === 'string') {
    const name = node.includes('.') || !namespace ? node : `${namespace}.${node}`;
    const definition = shared.get(name);
    if (!definition || defined.has(name)) return node;
    return walk(structuredClone(definition), namespace, shared, defined);
  }
  if (Array.isArray(node)) return node.map((branch) => walk(branch, namespace, shared, defined));
  if (typeof node !== 'object' || node === null) return node;

  const schema = node as Json;
  switch (schema.type) {
    case 'record':
    case 'error': {
      defined.add(fullName(schema, namespace));
      const inner = namespaceOf(schema, namespace);
      const fields = (schema.fields as Json[]).map((field) => ({ ...field, type: walk(field.type, inner, shared, defined) }));
      return { ...schema, fields };
    }
    case 'enum':
    case 'fixed':
      defined.add(fullName(schema, namespace));
      return { ...schema };
    case 'array':
      return { ...schema, items: walk(schema.items, namespace, shared, defined) };
    case 'map':
      return { ...schema, values: walk(schema.values, namespace, shared, defined) };
    default:
      // A primitive with attributes, e.g. { "type": "long", "logicalType": "timestamp-millis" }.
      return { ...schema };
  }
}
