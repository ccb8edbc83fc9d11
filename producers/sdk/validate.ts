/**
 * What a publisher checks before a value leaves the process (SPEC §4): the topic's Avro schema
 * (avsc `isValid` with an `errorHook` collecting each failing path) plus the catalogue rules a
 * schema cannot say: codes match [A-Za-z0-9._-]{1,64}, `lines` are not empty, a cycle count is
 * not negative, and no field is sent that the schema does not declare (it would be dropped
 * silently, so a misspelt optional field is an error, not a loss).
 *
 * Returns every problem as `{ path, code, message }`, paths in natural notation
 * (`lines[2].quantity`, `safetyStock["DC EAST"]`); an empty list means the value may be sent.
 * Codes: REQUIRED, TYPE, NOT_INTEGER, ENUM, PATTERN, EMPTY, MIN, UNKNOWN_FIELD. Business rules
 * that need the item master (known SKU, quantity > 0, unique line numbers) are not checked here:
 * the orders processor answers those with order.rejected.
 */
import type avro from 'avsc';
import type { FieldProblem } from '../../runtime/errors';
import type { TopicSchema } from '../../runtime/schemas/catalogue';

export const CODE_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Fields holding codes, wherever they appear (top level or in lines); `meta.eventId` too. */
export const CODE_FIELDS: ReadonlySet<string> = new Set(['sku', 'warehouse', 'orderId', 'customerId', 'shipmentId', 'returnId', 'eventId']);
/** Maps whose keys are warehouse codes. */
const WAREHOUSE_KEYED_MAPS: ReadonlySet<string> = new Set(['safetyStock']);
const NON_EMPTY_ARRAYS: ReadonlySet<string> = new Set(['lines']);
const NON_NEGATIVE: ReadonlySet<string> = new Set(['countedQuantity']);

type Json = Record<string, unknown>;
type Segment = string | number;

export function validateEvent(topic: TopicSchema, given: unknown): FieldProblem[] {
  if (!isObject(given)) return [{ path: '(value)', code: 'TYPE', message: `expected a JSON object, got ${show(given)}` }];
  const value = withDefaultsForNulls(topic.type, given) as Json;
  const problems: FieldProblem[] = [];
  topic.type.isValid(value, {
    errorHook: (path: string[], found: unknown, type: avro.Type) => problems.push(schemaProblem(path, found, type)),
  });
  catalogueRules(recordOf(topic.type), value, [], problems);
  return problems;
}

/** A path from segments: `lines[2].quantity`, `uomConversions.CS`, `safetyStock["DC EAST"]`. */
export function formatPath(segments: readonly Segment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number' || /^\d+$/.test(segment)) out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(value)' : out;
}

function schemaProblem(path: string[], found: unknown, type: avro.Type): FieldProblem {
  const at = formatPath(path);
  const name = type.typeName;
  if (found === undefined) return { path: at, code: 'REQUIRED', message: 'is required' };
  if (name === 'enum') {
    const symbols = (type as avro.types.EnumType).symbols;
    return { path: at, code: 'ENUM', message: `expected one of ${symbols.join(', ')}, got ${show(found)}` };
  }
  if ((name === 'int' || name === 'long') && typeof found === 'number') {
    if (!Number.isInteger(found)) return { path: at, code: 'NOT_INTEGER', message: `expected an integer, got ${show(found)}` };
    return { path: at, code: 'TYPE', message: `expected a ${name === 'int' ? '32-bit' : 'safe'} integer, got ${show(found)}` };
  }
  return { path: at, code: 'TYPE', message: `expected ${expected(type)}, got ${show(found)}` };
}

function expected(type: avro.Type): string {
  const name = type.typeName;
  if (name === 'logical:timestamp-millis') return 'epoch millis or an ISO-8601 date-time like 2026-11-20T10:00:00Z';
  if (name.startsWith('union')) return (type as unknown as { types: avro.Type[] }).types.map(expected).join(' or ');
  const words: Record<string, string> = {
    null: 'null',
    string: 'a string',
    int: 'an integer',
    long: 'an integer',
    float: 'a number',
    double: 'a number',
    boolean: 'true or false',
    record: 'an object',
    map: 'an object',
    array: 'an array',
  };
  return words[name] ?? name;
}

function catalogueRules(type: avro.types.RecordType, value: Json, path: Segment[], problems: FieldProblem[]): void {
  const declared = new Set(type.fields.map((f) => f.name));
  for (const name of Object.keys(value)) {
    if (!declared.has(name)) {
      problems.push({ path: formatPath([...path, name]), code: 'UNKNOWN_FIELD', message: `is not a field of ${shortName(type.name)}: check the spelling` });
    }
  }
  for (const field of type.fields) {
    const child = value[field.name];
    const at = [...path, field.name];
    if (child === undefined || child === null) continue;
    if (CODE_FIELDS.has(field.name) && typeof child === 'string' && !CODE_PATTERN.test(child)) {
      problems.push({ path: formatPath(at), code: 'PATTERN', message: `${show(child)} is not a code: use 1-64 of A-Z a-z 0-9 . _ -` });
    }
    if (NON_NEGATIVE.has(field.name) && typeof child === 'number' && child < 0) {
      problems.push({ path: formatPath(at), code: 'MIN', message: `must be 0 or more, got ${child}` });
    }
    const fieldType = field.type;
    if (fieldType.typeName === 'record' && isObject(child)) {
      catalogueRules(fieldType as avro.types.RecordType, child, at, problems);
    } else if (fieldType.typeName === 'array' && Array.isArray(child)) {
      if (NON_EMPTY_ARRAYS.has(field.name) && child.length === 0) {
        problems.push({ path: formatPath(at), code: 'EMPTY', message: 'needs at least one line' });
      }
      const items = (fieldType as avro.types.ArrayType).itemsType;
      if (items.typeName === 'record') {
        child.forEach((item, i) => {
          if (isObject(item)) catalogueRules(items as avro.types.RecordType, item, [...at, i], problems);
        });
      }
    } else if (fieldType.typeName === 'map' && isObject(child) && WAREHOUSE_KEYED_MAPS.has(field.name)) {
      for (const key of Object.keys(child)) {
        if (!CODE_PATTERN.test(key)) {
          problems.push({ path: formatPath([...at, key]), code: 'PATTERN', message: `${show(key)} is not a warehouse code: use 1-64 of A-Z a-z 0-9 . _ -` });
        }
      }
    }
  }
}

/**
 * Natural JSON (SPEC §4) lets an optional field be omitted or null. A field with a default whose
 * type has no null (`currency` "USD", `creditHold` false, `safetyStock` {}) is optional too: null
 * there means "not given", so it is left out and Avro writes the default. Copies only what changes.
 */
export function withDefaultsForNulls(type: avro.Type, value: unknown): unknown {
  if (type.typeName.startsWith('logical')) {
    const underlying = (type as avro.types.LogicalType).underlyingType;
    return underlying.typeName === 'record' ? withDefaultsForNulls(underlying, value) : value;
  }
  const name = type.typeName;
  if (name === 'array' && Array.isArray(value)) {
    const items = (type as avro.types.ArrayType).itemsType;
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = withDefaultsForNulls(items, item);
      if (next !== item) (copy ??= [...value])[i] = next;
    });
    return copy ?? value;
  }
  if (name !== 'record' || !isObject(value)) return value;
  let copy: Json | undefined;
  for (const field of (type as avro.types.RecordType).fields) {
    const child = value[field.name];
    if (child === null && field.defaultValue() !== undefined && !acceptsNull(field.type)) {
      copy ??= { ...value };
      delete copy[field.name];
      continue;
    }
    const next = withDefaultsForNulls(field.type, child);
    if (next !== child) (copy ??= { ...value })[field.name] = next;
  }
  return copy ?? value;
}

function acceptsNull(type: avro.Type): boolean {
  if (type.typeName === 'null') return true;
  return type.typeName.startsWith('union') && (type as unknown as { types: avro.Type[] }).types.some((t) => t.typeName === 'null');
}

function recordOf(type: avro.Type): avro.types.RecordType {
  return (type.typeName.startsWith('logical') ? (type as avro.types.LogicalType).underlyingType : type) as avro.types.RecordType;
}

function shortName(name: string | undefined): string {
  return name ? name.slice(name.lastIndexOf('.') + 1) : 'this record';
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
