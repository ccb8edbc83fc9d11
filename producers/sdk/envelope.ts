/**
 * How one validated value becomes a Kafka record (SPEC §4): the key from the catalogue's key
 * declaration, the value in Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro
 * binary) and CloudEvents Kafka-binding headers in binary mode:
 *
 *   ce_specversion 1.0 · ce_id = meta.eventId · ce_source = meta.source · ce_type = the catalogue
 *   topic · ce_time = meta.occurredAt as ISO-8601 · content-type application/avro
 *   ce_correlationid / ce_causationid = meta.correlationId / causationId when set (CloudEvents
 *   extension attributes) · traceparent (W3C) when the caller has a trace.
 *
 * ce_type is the catalogue topic even when the Kafka topic carries a prefix, so a consumer
 * recognises the event type wherever it was published.
 */
import { toEpochMillis } from '../../runtime/schemas/avro-types';

export const CONFLUENT_MAGIC = 0;

export function confluentFrame(schemaId: number, avro: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(5 + avro.length);
  framed.writeUInt8(CONFLUENT_MAGIC, 0);
  framed.writeUInt32BE(schemaId, 1);
  avro.copy(framed, 5);
  return framed;
}

export interface Meta {
  eventId: string;
  occurredAt: unknown;
  source: string;
  correlationId?: string | null;
  causationId?: string | null;
}

export function cloudEventHeaders(topic: string, meta: Meta, traceparent?: string): Record<string, string> {
  const headers: Record<string, string> = {
    ce_specversion: '1.0',
    ce_id: meta.eventId,
    ce_source: meta.source,
    ce_type: topic,
    ce_time: new Date(toEpochMillis(meta.occurredAt) ?? 0).toISOString(),
    'content-type': 'application/avro',
  };
  if (meta.correlationId) headers.ce_correlationid = meta.correlationId;
  if (meta.causationId) headers.ce_causationid = meta.causationId;
  if (traceparent) headers.traceparent = traceparent;
  return headers;
}
