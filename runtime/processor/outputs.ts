/**
 * Processor outputs → Kafka messages: Avro with the catalogue schema of the output topic,
 * Confluent-framed with the registry id of `<kafka topic>-value` (looked up once per topic,
 * registered only if `topology apply` has not), keyed as the processor says, with CloudEvents
 * headers when the value carries a `meta` (derived events: order.rejected) unless the topic is
 * internal (`internalTopics`: orders.movements, a repartition topic only atp reads), else a
 * content-type header.
 * Encoding failures are the processor's bug, not the input record's data: they throw, and the
 * runner dead-letters the input that caused them with TRB_PROCESSING.
 *
 * A processor writes several records per input, so each is encoded straight behind its 5-byte
 * frame header in a reused scratch buffer and copied out once (avsc's toBuffer allocates a
 * zero-filled buffer per value, which confluentFrame then copies again).
 */
import type avro from 'avsc';
import type { Message } from 'kafkajs';
import { cloudEventHeaders, CONFLUENT_MAGIC } from '../../producers/sdk/envelope';
import { schemaIds, type SchemaIds } from '../../producers/sdk/schema-ids';
import type { Catalogue } from '../schemas/catalogue';
import type { Output } from './types';

export interface OutputEncoder {
  /** Resolves the schema ids of every output topic (call once before processing). */
  prepare(topics: readonly string[]): Promise<void>;
  /** The Kafka message of an output of a prepared topic. */
  encode(output: Output): Message;
}

/** The one header of records that are not events; shared (kafkajs and the outbox only read it). */
const AVRO_CONTENT: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/avro' });

export function createOutputEncoder(options: {
  registryUrl: string;
  catalogue: Catalogue;
  kafkaTopic: (topic: string) => string;
  ids?: SchemaIds;
  /** Catalogue topics whose records get no CloudEvents headers (ProcessorDeclaration.internalOutputs). */
  internalTopics?: readonly string[];
}): OutputEncoder {
  const internal = new Set(options.internalTopics ?? []);
  const ids = options.ids ?? schemaIds(options.registryUrl);
  const prepared = new Map<string, { id: number; type: avro.Type }>();
  let scratch = Buffer.allocUnsafe(64 * 1024);

  /** magic byte, schema id, Avro body: one allocation of the exact size. */
  function frame(id: number, type: avro.Type, value: unknown): Buffer {
    let end = type.encode(value, scratch, 5);
    if (end < 0) {
      // avsc answers how many bytes were missing; the scratch grows for good.
      scratch = Buffer.allocUnsafe(2 * (scratch.length - end));
      end = type.encode(value, scratch, 5);
    }
    scratch.writeUInt8(CONFLUENT_MAGIC, 0);
    scratch.writeUInt32BE(id, 1);
    const framed = Buffer.allocUnsafe(end);
    scratch.copy(framed, 0, 0, end);
    return framed;
  }

  return {
    async prepare(topics) {
      for (const topic of topics) {
        const schema = options.catalogue.require(topic);
        prepared.set(topic, { id: await ids.idFor(`${options.kafkaTopic(topic)}-value`, schema.schema), type: schema.type });
      }
    },
    encode(output) {
      const topic = prepared.get(output.topic);
      if (topic === undefined) throw new TypeError(`output topic ${output.topic} was not prepared: declare it in the processor's outputs`);
      const value = frame(topic.id, topic.type, output.value);
      const meta = internal.has(output.topic) ? undefined : (output.value as { meta?: Parameters<typeof cloudEventHeaders>[1] }).meta;
      const headers = meta ? cloudEventHeaders(output.topic, meta) : AVRO_CONTENT;
      return { key: output.key, value, headers };
    },
  };
}
