/**
 * Record values from Confluent wire format (SPEC §4) to natural values:
 *
 *   value = magic:0x00  schemaId:int32-big-endian  body:Avro(writer schema)
 *
 * The writer schema is fetched by id once per decoder (concurrent records with a new id share
 * one request; a failed lookup is not cached, so the next record asks again). When the topic is
 * in the catalogue the body is read through a resolver into the catalogue's current type, so
 * records from older writers come out with the current schema's defaults; otherwise with the
 * writer type. Timestamps are epoch-ms numbers (avroOptions()).
 *
 * Errors are sorted for the runtime (STYLE "Errors", SPEC §8):
 * - DecodeError (not retriable → dead letter): tombstone (null value), fewer than 5 bytes, magic
 *   byte not 0, body truncated or with trailing bytes, a writer schema that is not Avro, does
 *   not parse, or cannot be read as the catalogue type;
 * - UnknownSchemaError (not retriable → dead letter): the registry answers 40403 for the id;
 * - RegistryError (retriable when the registry is down): never the record's fault, never a
 *   dead letter.
 * Messages never contain value bytes.
 */
import type avro from 'avsc';
import { DecodeError } from '../errors';
import { parseAvroSchema } from '../schemas/avro-types';
import { loadCatalogue, type Catalogue } from '../schemas/catalogue';
import { schemaByIdClient, type SchemaById } from '../registry-client/schema-by-id';

export const MAGIC_BYTE = 0;
export const HEADER_LENGTH = 5;

export interface Decoded {
  schemaId: number;
  value: unknown;
}

export interface DecoderOptions {
  registryUrl: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Defaults to the repo's `schemas/` catalogue. */
  catalogue?: Catalogue;
  /**
   * The catalogue topic whose schema reads records of `topic`; identity by default. Tests with
   * prefixed topics (`<unique>.order.created`) map them to `order.created`. Undefined: writer type.
   */
  catalogueTopic?: (topic: string) => string | undefined;
}

export interface Decoder {
  decode(value: Buffer | null, topic: string): Promise<Decoded>;
}

interface Reader {
  read(body: Buffer): unknown;
}

export function createDecoder(options: DecoderOptions): Decoder {
  const schemaById: SchemaById = schemaByIdClient(options);
  const catalogue = options.catalogue ?? loadCatalogue();
  const catalogueTopic = options.catalogueTopic ?? ((topic: string) => topic);
  const writers = new Map<number, Promise<avro.Type>>();
  const readers = new Map<string, Reader>();

  function writerType(schemaId: number): Promise<avro.Type> {
    let pending = writers.get(schemaId);
    if (!pending) {
      pending = schemaById(schemaId).then(({ schema, schemaType }) => parseWriter(schemaId, schema, schemaType));
      writers.set(schemaId, pending);
      // Only successes stay cached: a registry that was down, or an id registered late, is asked again.
      pending.catch(() => writers.delete(schemaId));
    }
    return pending;
  }

  function reader(schemaId: number, writer: avro.Type, topic: string): Reader {
    const readerTopic = catalogueTopic(topic);
    const key = `${schemaId}\u0000${readerTopic ?? ''}`;
    let cached = readers.get(key);
    if (!cached) {
      cached = createReader(schemaId, writer, readerTopic === undefined ? undefined : catalogue.get(readerTopic));
      readers.set(key, cached);
    }
    return cached;
  }

  return {
    async decode(value, topic) {
      const schemaId = frameSchemaId(value, topic);
      const writer = await writerType(schemaId);
      const body = value!.subarray(HEADER_LENGTH);
      return { schemaId, value: reader(schemaId, writer, topic).read(body) };
    },
  };
}

/** The schema id of a framed value, or a DecodeError saying why the frame is not Confluent's. */
export function frameSchemaId(value: Buffer | null, topic: string): number {
  if (value === null) throw new DecodeError(`record on ${topic} has no value (a tombstone): catalogue topics carry events, not deletions`);
  if (value.length < HEADER_LENGTH) {
    throw new DecodeError(`record on ${topic} has ${value.length} value bytes, fewer than the 5 of a Confluent frame header: publish it through a schema registry serializer`);
  }
  if (value[0] !== MAGIC_BYTE) {
    throw new DecodeError(`record on ${topic} starts with byte ${value[0]}, not the Confluent magic byte 0: publish it through a schema registry serializer`);
  }
  return value.readInt32BE(1);
}

function parseWriter(schemaId: number, schema: string, schemaType: string): avro.Type {
  if (schemaType !== 'AVRO') {
    throw new DecodeError(`schema id ${schemaId} is ${schemaType}; Tributary reads Avro values only: publish with an Avro serializer`);
  }
  try {
    return parseAvroSchema(JSON.parse(schema));
  } catch (cause) {
    throw new DecodeError(`schema id ${schemaId} from the registry is not a valid Avro schema (${(cause as Error).message}): register a valid schema`, cause);
  }
}

function createReader(schemaId: number, writer: avro.Type, current: { topic: string; type: avro.Type } | undefined): Reader {
  if (current === undefined) return { read: (body) => readBody(schemaId, () => writer.fromBuffer(body)) };
  let resolver: avro.Resolver;
  try {
    resolver = current.type.createResolver(writer);
  } catch (cause) {
    // Not cached as an error on purpose: the reader is cached and throws the same way for each record.
    const message = `schema id ${schemaId} cannot be read as the catalogue schema of ${current.topic} (${(cause as Error).message}): the writer broke BACKWARD compatibility`;
    return {
      read: () => {
        throw new DecodeError(message, cause);
      },
    };
  }
  return { read: (body) => readBody(schemaId, () => current.type.fromBuffer(body, resolver)) };
}

function readBody(schemaId: number, read: () => unknown): unknown {
  try {
    return read();
  } catch (cause) {
    throw new DecodeError(`Avro body does not match schema id ${schemaId} (${(cause as Error).message}): the producer wrote it with another schema or it was cut`, cause);
  }
}
