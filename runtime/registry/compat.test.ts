/**
 * Compatibility decisions, table-driven, with the cases other registries shipped bugs in: enum
 * symbols, union branches, defaults, promotions, names; and canonical-form identity.
 */
import { describe, expect, it } from 'vitest';
import { InvalidSchemaError, parseAvroSchema } from './avro-schema';
import { compatibilityProblems, parseCompatibilityLevel, type CompatibilityLevel } from './compat';

type Schema = Record<string, unknown> | string | unknown[];

const record = (fields: Record<string, unknown>[], extra: Record<string, unknown> = {}) => ({
  type: 'record',
  name: 'Order',
  namespace: 'com.acme',
  fields,
  ...extra,
});
const field = (name: string, type: unknown, extra: Record<string, unknown> = {}) => ({ name, type, ...extra });
const channel = (symbols: string[], extra: Record<string, unknown> = {}) =>
  record([field('channel', { type: 'enum', name: 'Channel', symbols, ...extra })]);

const type = (schema: Schema) => parseAvroSchema(JSON.stringify(schema)).type;

function compatible(level: CompatibilityLevel, previous: Schema[], candidate: Schema): boolean {
  const versions = previous.map((s, i) => ({ version: i + 1, type: type(s) }));
  return compatibilityProblems(level, type(candidate), versions).length === 0;
}

const v1 = record([field('id', 'string')]);

const cases: Array<[string, CompatibilityLevel, Schema[], Schema, boolean]> = [
  ['adding a field without a default is refused', 'BACKWARD', [v1], record([field('id', 'string'), field('qty', 'int')]), false],
  ['adding an optional field with a null default is accepted', 'BACKWARD', [v1], record([field('id', 'string'), field('note', ['null', 'string'], { default: null })]), true],
  ['adding a field with a default is accepted', 'BACKWARD', [v1], record([field('id', 'string'), field('currency', 'string', { default: 'USD' })]), true],
  ['removing a field is backward compatible', 'BACKWARD', [record([field('id', 'string'), field('x', 'int')])], v1, true],
  ['removing a default-less field is not forward compatible', 'FORWARD', [record([field('id', 'string'), field('x', 'int')])], v1, false],
  ['removing a field that had a default is forward compatible', 'FORWARD', [record([field('id', 'string'), field('x', 'int', { default: 0 })])], v1, true],
  ['adding a field without default is forward compatible', 'FORWARD', [v1], record([field('id', 'string'), field('qty', 'int')]), true],
  ['int promoted to long reads old data', 'BACKWARD', [record([field('q', 'int')])], record([field('q', 'long')]), true],
  ['long narrowed to int is refused', 'BACKWARD', [record([field('q', 'long')])], record([field('q', 'int')]), false],
  ['int to long is not forward compatible', 'FORWARD', [record([field('q', 'int')])], record([field('q', 'long')]), false],
  ['float promoted to double', 'BACKWARD', [record([field('p', 'float')])], record([field('p', 'double')]), true],
  ['int promoted to double', 'BACKWARD', [record([field('p', 'int')])], record([field('p', 'double')]), true],
  ['string read as bytes', 'BACKWARD', [record([field('b', 'string')])], record([field('b', 'bytes')]), true],
  ['string changed to int is refused', 'BACKWARD', [record([field('b', 'string')])], record([field('b', 'int')]), false],
  ['enum losing a symbol the old data uses is refused', 'BACKWARD', [channel(['CRM', 'EDI', 'MARKETPLACE'])], channel(['CRM', 'EDI']), false],
  ['enum losing a symbol is accepted when the new enum has a default', 'BACKWARD', [channel(['CRM', 'EDI', 'MARKETPLACE'])], channel(['CRM', 'EDI'], { default: 'CRM' }), true],
  ['enum gaining a symbol is backward compatible', 'BACKWARD', [channel(['CRM', 'EDI'])], channel(['CRM', 'EDI', 'MARKETPLACE']), true],
  ['enum gaining a symbol is not forward compatible', 'FORWARD', [channel(['CRM', 'EDI'])], channel(['CRM', 'EDI', 'MARKETPLACE']), false],
  ['enum gaining a symbol is forward compatible when the old enum has a default', 'FORWARD', [channel(['CRM', 'EDI'], { default: 'CRM' })], channel(['CRM', 'EDI', 'MARKETPLACE']), true],
  ['union gaining a branch is backward compatible', 'BACKWARD', [record([field('v', ['null', 'string'], { default: null })])], record([field('v', ['null', 'string', 'int'], { default: null })]), true],
  ['union losing a branch the old data may use is refused', 'BACKWARD', [record([field('v', ['null', 'string', 'int'], { default: null })])], record([field('v', ['null', 'string'], { default: null })]), false],
  ['a plain type widened into a union containing it', 'BACKWARD', [record([field('v', 'string')])], record([field('v', ['null', 'string'], { default: null })]), true],
  ['a union narrowed to one of its branches is refused', 'BACKWARD', [record([field('v', ['null', 'string'], { default: null })])], record([field('v', 'string')]), false],
  ['a union branch promoted (int to long) inside the union', 'BACKWARD', [record([field('v', ['null', 'int'], { default: null })])], record([field('v', ['null', 'long'], { default: null })]), true],
  ['renaming a record without an alias is refused', 'BACKWARD', [v1], { ...v1, name: 'Purchase' }, false],
  ['renaming a record with an alias to the old name', 'BACKWARD', [v1], { ...v1, name: 'Purchase', aliases: ['Order'] }, true],
  ['moving a record to another namespace (names compare unqualified)', 'BACKWARD', [v1], { ...v1, namespace: 'com.other' }, true],
  ['renaming a field with an alias', 'BACKWARD', [v1], record([field('orderId', 'string', { aliases: ['id'] })]), true],
  ['fixed size change is refused', 'BACKWARD', [record([field('f', { type: 'fixed', name: 'F', size: 4 })])], record([field('f', { type: 'fixed', name: 'F', size: 8 })]), false],
  ['array items promoted', 'BACKWARD', [record([field('a', { type: 'array', items: 'int' })])], record([field('a', { type: 'array', items: 'long' })]), true],
  ['map values changed incompatibly', 'BACKWARD', [record([field('m', { type: 'map', values: 'string' })])], record([field('m', { type: 'map', values: 'int' })]), false],
  ['a doc-only change is compatible', 'FULL', [v1], { ...v1, doc: 'An order.' }, true],
  ['FULL accepts a field added with a default', 'FULL', [v1], record([field('id', 'string'), field('n', 'int', { default: 0 })]), true],
  ['FULL refuses a field added without a default', 'FULL', [v1], record([field('id', 'string'), field('n', 'int')]), false],
  ['NONE accepts anything', 'NONE', [v1], record([field('other', 'int')]), true],
  [
    'BACKWARD checks the latest version only',
    'BACKWARD',
    [v1, record([field('id', 'string'), field('n', 'int', { default: 0 })])],
    record([field('id', 'string'), field('n', 'int')]),
    true,
  ],
  [
    'BACKWARD_TRANSITIVE checks every version',
    'BACKWARD_TRANSITIVE',
    [v1, record([field('id', 'string'), field('n', 'int', { default: 0 })])],
    record([field('id', 'string'), field('n', 'int')]),
    false,
  ],
  [
    'FORWARD_TRANSITIVE checks every version',
    'FORWARD_TRANSITIVE',
    [record([field('id', 'string'), field('x', 'int')]), record([field('id', 'string'), field('x', 'int', { default: 1 })])],
    v1,
    false,
  ],
  [
    'FULL_TRANSITIVE accepts a chain of defaulted additions',
    'FULL_TRANSITIVE',
    [v1, record([field('id', 'string'), field('a', 'int', { default: 0 })])],
    record([field('id', 'string'), field('a', 'int', { default: 0 }), field('b', 'string', { default: '' })]),
    true,
  ],
  ['no previous version is always compatible', 'FULL_TRANSITIVE', [], v1, true],
];

describe('compatibilityProblems', () => {
  it.each(cases)('%s (%s)', (_name, level, previous, candidate, expected) => {
    expect(compatible(level, previous, candidate)).toBe(expected);
  });

  it('explains which version and why', () => {
    const problems = compatibilityProblems('BACKWARD', type(record([field('id', 'string'), field('qty', 'int')])), [
      { version: 3, type: type(v1) },
    ]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('version 3');
    expect(problems[0]).toContain('qty');
  });
});

describe('parseCompatibilityLevel', () => {
  it.each([
    ['backward', 'BACKWARD'],
    ['FULL_TRANSITIVE', 'FULL_TRANSITIVE'],
    ['None', 'NONE'],
    ['SIDEWAYS', undefined],
    [42, undefined],
  ])('%s → %s', (input, expected) => {
    expect(parseCompatibilityLevel(input)).toBe(expected);
  });
});

describe('canonical form (what "the same schema" means)', () => {
  const canonical = (schema: Schema | string) => parseAvroSchema(typeof schema === 'string' ? schema : JSON.stringify(schema)).canonical;

  it.each<[string, string, string]>([
    ['whitespace', '{"type":"record","name":"A","fields":[{"name":"a","type":"int"}]}', '{ "type" : "record", "name" : "A",\n "fields" : [ { "name" : "a", "type" : "int" } ] }'],
    ['key order', '{"type":"record","name":"A","fields":[{"name":"a","type":"int"}]}', '{"fields":[{"type":"int","name":"a"}],"name":"A","type":"record"}'],
    ['full name vs name + namespace', '{"type":"record","name":"x.y.A","fields":[]}', '{"type":"record","name":"A","namespace":"x.y","fields":[]}'],
    ['primitive object vs name', '{"type":"string"}', '"string"'],
    ['nested reference short vs qualified', '{"type":"record","name":"x.A","fields":[{"name":"b","type":{"type":"fixed","name":"B","size":2}},{"name":"c","type":"x.B"}]}', '{"type":"record","name":"x.A","fields":[{"name":"b","type":{"type":"fixed","name":"B","size":2}},{"name":"c","type":"B"}]}'],
    ['custom property order', '{"type":"long","logicalType":"timestamp-millis","x":1}', '{"x":1,"logicalType":"timestamp-millis","type":"long"}'],
  ])('ignores %s', (_what, a, b) => {
    expect(canonical(a)).toBe(canonical(b));
  });

  it.each<[string, string, string]>([
    ['doc', '{"type":"record","name":"A","fields":[]}', '{"type":"record","name":"A","doc":"An A.","fields":[]}'],
    ['field default', '{"type":"record","name":"A","fields":[{"name":"a","type":"int","default":1}]}', '{"type":"record","name":"A","fields":[{"name":"a","type":"int","default":2}]}'],
    ['logical type', '"long"', '{"type":"long","logicalType":"timestamp-millis"}'],
    ['namespace', '{"type":"record","name":"A","fields":[]}', '{"type":"record","name":"A","namespace":"n","fields":[]}'],
  ])('keeps %s', (_what, a, b) => {
    expect(canonical(a)).not.toBe(canonical(b));
  });

  it('is itself valid Avro that parses to the same canonical form', () => {
    const text = JSON.stringify(record([field('id', 'string', { doc: 'id' }), field('c', { type: 'enum', name: 'C', symbols: ['A'], default: 'A' })], { doc: 'x' }));
    const once = canonical(text);
    expect(canonical(once)).toBe(once);
    expect(JSON.parse(once)).toMatchObject({ name: 'Order', namespace: 'com.acme', doc: 'x' });
  });

  it.each([
    ['not JSON', '{"type":'],
    ['unknown type', '"decimalish"'],
    ['record without a name', '{"type":"record","fields":[]}'],
    ['field default of the wrong type', '{"type":"record","name":"A","fields":[{"name":"a","type":"int","default":"x"}]}'],
    ['enum default not a symbol', '{"type":"enum","name":"E","symbols":["A"],"default":"B"}'],
    ['duplicate union branches', '["string","string"]'],
    ['empty', ''],
  ])('refuses %s', (_what, text) => {
    expect(() => parseAvroSchema(text)).toThrow(InvalidSchemaError);
  });
});
