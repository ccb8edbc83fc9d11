/**
 * How Tributary parses Avro schemas with avsc, for catalogue schemas and for writer schemas fetched
 * from the registry alike (pass `avroOptions()` to `avro.Type.forSchema` or to the
 * @kafkajs/confluent-schema-registry constructor as `{ [SchemaType.AVRO]: avroOptions() }`).
 *
 * - `timestamp-millis` values stay plain numbers (epoch ms) when decoded, so events print as
 *   natural JSON and compare with `===`. On write a number, a `Date` or an ISO-8601 date-time string
 *   with an offset (`2026-11-20T10:00:00Z`) is accepted, as SPEC §4 "natural JSON" allows.
 * - A command envelope (a record with an enum field `type` and a field `payload` whose type is a
 *   union of records named `<symbol>Payload`, one per symbol) is read and written with the payload
 *   as the plain record: the union branch is chosen from `type`, not guessed from the value, so an
 *   UpdateSalesOrder is never written as the identically shaped CreateSalesOrder branch. On the wire
 *   it is the standard Avro union any other client reads. Such a type is an avsc logical type:
 *   reach its record through `.underlyingType`.
 */
import avro from 'avsc';

type Json = Record<string, unknown>;

/** avsc internals used below: stable across avsc 5.x, not in its typings. */
interface Tap {
  readonly pos: number;
}
interface AvscResolver {
  _read(tap: Tap): unknown;
}
type ForSchemaOptions = Parameters<typeof avro.Type.forSchema>[1] & object;

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** Epoch milliseconds from what natural JSON may hold, or undefined when it is not a timestamp. */
export function toEpochMillis(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isNaN(ms) ? undefined : ms;
  }
  if (typeof value === 'string' && ISO_DATE_TIME.test(value)) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

export class TimestampMillisType extends avro.types.LogicalType {
  protected override _fromValue(value: unknown): number {
    return value as number;
  }

  protected override _toValue(value: unknown): number | undefined {
    return toEpochMillis(value);
  }

  protected override _resolve(writer: avro.Type): ((value: unknown) => unknown) | undefined {
    // A plain long (or int) written before the logical type was added reads as the same millis.
    if (avro.Type.isType(writer, 'long', 'int', 'logical:timestamp-millis')) return (value) => value;
    return undefined;
  }
}

/** The `type` symbol → payload branch name of a command envelope schema, or undefined if it is none. */
export function commandBranches(schema: unknown): Map<string, string> | undefined {
  if (!isObject(schema) || schema.type !== 'record' || !Array.isArray(schema.fields)) return undefined;
  const fields = schema.fields as Json[];
  const typeField = fields.find((f) => f.name === 'type');
  const payloadField = fields.find((f) => f.name === 'payload');
  if (!isObject(typeField?.type) || typeField.type.type !== 'enum' || !Array.isArray(payloadField?.type)) return undefined;
  const symbols = typeField.type.symbols as string[];
  const branches = payloadField.type as unknown[];
  if (branches.length !== symbols.length) return undefined;
  const namespace = namespaceOf(schema, undefined);
  const bySymbol = new Map<string, string>();
  for (const symbol of symbols) {
    const branch = branches.find((b) => isObject(b) && b.type === 'record' && shortName(b.name) === `${symbol}Payload`);
    if (!isObject(branch)) return undefined;
    bySymbol.set(symbol, fullName(branch, namespace));
  }
  return bySymbol;
}

const payloadUnions = new WeakSet<object>();
const envelopesInConstruction = new WeakSet<object>();

export class CommandEnvelopeType extends avro.types.LogicalType {
  private readonly branchByType: Map<string, string>;

  constructor(schema: Json, opts: ForSchemaOptions) {
    super(schema as never, opts);
    this.branchByType = commandBranches(schema)!;
    const self = this as unknown as { name?: string; _logicalTypeName?: string };
    // The registry client rejects a top-level type without a name; the record's name is the one.
    self.name = this.underlyingType.name;
    self._logicalTypeName = 'tributary-command';
  }

  protected override _toValue(value: unknown): unknown {
    if (!isObject(value)) return undefined;
    const branch = typeof value.type === 'string' ? this.branchByType.get(value.type) : undefined;
    // An unknown type is passed through unwrapped so validation names the `type` field.
    if (branch === undefined || !isObject(value.payload)) return value;
    return { ...value, payload: { [branch]: value.payload } };
  }

  protected override _fromValue(value: unknown): unknown {
    const envelope = value as Json;
    const wrapped = envelope.payload as Json;
    const payload = wrapped[Object.keys(wrapped)[0]!];
    return { ...envelope, payload };
  }

  protected override _resolve(): undefined {
    return undefined;
  }

  /** Resolve through the records, so older writer schemas get the reader's defaults. */
  protected _update(resolver: AvscResolver, writer: avro.Type, opts: unknown): void {
    const writerRecord = avro.Type.isType(writer, 'logical') ? (writer as avro.types.LogicalType).underlyingType : writer;
    const inner = this.underlyingType.createResolver(writerRecord, opts as never) as unknown as AvscResolver;
    resolver._read = (tap) => this._fromValue(inner._read(tap));
  }

  /** avsc skips a type whose name it has already exported; this name is the record's, so export it. */
  protected _attrs(opts: { derefed?: Json }): unknown {
    opts.derefed ??= {};
    return (this as unknown as { _deref(schema: Json, opts: unknown): unknown })._deref({}, opts);
  }

  protected override _export(schema: avro.Schema): void {
    // Not a logical type of the Avro spec: keep it out of exported schemas.
    delete (schema as Json).logicalType;
  }
}

function typeHook(schema: unknown, opts: ForSchemaOptions): avro.Type | undefined {
  if (Array.isArray(schema) && payloadUnions.has(schema)) {
    return new avro.types.WrappedUnionType(schema as never, opts);
  }
  if (isObject(schema) && !envelopesInConstruction.has(schema) && commandBranches(schema)) {
    const payload = (schema.fields as Json[]).find((f) => f.name === 'payload')!;
    payloadUnions.add(payload.type as object);
    envelopesInConstruction.add(schema);
    try {
      return new CommandEnvelopeType(schema, opts);
    } finally {
      envelopesInConstruction.delete(schema);
    }
  }
  return undefined;
}

/** Fresh options each call: avsc records named types in the options object it is given. */
export function avroOptions(): ForSchemaOptions {
  return {
    logicalTypes: { 'timestamp-millis': TimestampMillisType as never },
    typeHook: typeHook as never,
  };
}

export function parseAvroSchema(schema: unknown): avro.Type {
  return avro.Type.forSchema(schema as never, avroOptions());
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shortName(name: unknown): string | undefined {
  return typeof name === 'string' ? name.slice(name.lastIndexOf('.') + 1) : undefined;
}

/** Avro name resolution: a dotted name is full; otherwise the type's or the enclosing namespace. */
export function namespaceOf(schema: Json, enclosing: string | undefined): string | undefined {
  const name = String(schema.name ?? '');
  if (name.includes('.')) return name.slice(0, name.lastIndexOf('.'));
  return typeof schema.namespace === 'string' ? schema.namespace || undefined : enclosing;
}

export function fullName(schema: Json, enclosing: string | undefined): string {
  const name = String(schema.name);
  if (name.includes('.')) return name;
  const namespace = namespaceOf(schema, enclosing);
  return namespace ? `${namespace}.${name}` : name;
}
