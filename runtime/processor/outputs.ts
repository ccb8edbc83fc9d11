/**
 * Processor outputs → Kafka messages: Avro with the catalogue schema of the output topic,
 * Confluent-framed with the registry id of `<kafka topic>-value` (looked up once per topic,
 * registered only if `topology apply` has not), keyed as the processor says, with CloudEvents
 * headers when the value carries a `meta` (derived events: order.rejected, orders.movements).
 * Encoding failures are the processor's bug, not the input record's data: they throw, and the
 * runner dead-letters the input that caused them with TRB_PROCESSING.
 */
import type { Message } from 'kafkajs';
import { cloudEventHeaders, confluentFrame } from '../../producers/sdk/envelope';
import { schemaIds, type SchemaIds } from '../../producers/sdk/schema-ids';
import type { Catalogue } from '../schemas/catalogue';
import type { Output } from './types';

export interface OutputEncoder {
  /** Resolves the schema ids of every output topic (call once before processing). */
  prepare(topics: readonly string[]): Promise<void>;
  /** The Kafka message of an output of a prepared topic. */
  encode(output: Output): Message;
}

export function createOutputEncoder(options: { registryUrl: string; catalogue: Catalogue; kafkaTopic: (topic: string) => string; ids?: SchemaIds }): OutputEncoder {
  const ids = options.ids ?? schemaIds(options.registryUrl);
  const schemaIdOf = new Map<string, number>();
  return {
    async prepare(topics) {
      for (const topic of topics) {
        const schema = options.catalogue.require(topic);
        schemaIdOf.set(topic, await ids.idFor(`${options.kafkaTopic(topic)}-value`, schema.schema));
      }
    },
    encode(output) {
      const id = schemaIdOf.get(output.topic);
      if (id === undefined) throw new TypeError(`output topic ${output.topic} was not prepared: declare it in the processor's outputs`);
      const type = options.catalogue.require(output.topic).type;
      const value = confluentFrame(id, type.toBuffer(output.value));
      const meta = (output.value as { meta?: Parameters<typeof cloudEventHeaders>[1] }).meta;
      const headers = meta ? cloudEventHeaders(output.topic, meta) : { 'content-type': 'application/avro' };
      return { key: output.key, value, headers };
    },
  };
}
