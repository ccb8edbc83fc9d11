/**
 * Natural value → EncodedEvent, with no connection: the topic must be a source topic of the
 * catalogue (else UnknownTopicError listing them), the value must pass validate.ts (else a
 * ValidationError listing every problem); then the key (`recordKey`), the Avro binary and the
 * CloudEvents headers. `tributary publish` uses it to check a whole file before connecting;
 * the publisher frames the result with the schema id when it sends.
 */
import { UnknownTopicError, ValidationError, type FieldProblem } from '../../runtime/errors';
import type { Catalogue, TopicSchema } from '../../runtime/schemas/catalogue';
import { recordKey } from '../../runtime/schemas/record-key';
import { cloudEventHeaders, type Meta } from './envelope';
import { PUBLISHABLE_TOPICS, type PublishableTopic } from './types';
import { validateEvent, withDefaultsForNulls } from './validate';

/** A validated, Avro-encoded event, not yet framed with its schema id. */
export interface EncodedEvent {
  topic: PublishableTopic;
  key: string;
  avro: Buffer;
  headers: Record<string, string>;
}

export interface EncodeOptions {
  /** W3C trace context of the caller, sent as the `traceparent` header. */
  traceparent?: string;
}

export function isPublishable(topic: string): topic is PublishableTopic {
  return (PUBLISHABLE_TOPICS as readonly string[]).includes(topic);
}

/** The catalogue entry of a source topic; UnknownTopicError (listing the source topics) otherwise. */
export function publishableSchema(catalogue: Catalogue, topic: string): TopicSchema {
  const schema = catalogue.get(topic);
  if (!schema || schema.kind !== 'event' || !isPublishable(topic)) throw new UnknownTopicError(topic, PUBLISHABLE_TOPICS);
  return schema;
}

export function problemsOf(catalogue: Catalogue, topic: string, value: unknown): FieldProblem[] {
  return validateEvent(publishableSchema(catalogue, topic), value);
}

export function encodeEvent(catalogue: Catalogue, topic: string, value: unknown, options: EncodeOptions = {}): EncodedEvent {
  const schema = publishableSchema(catalogue, topic);
  const problems = validateEvent(schema, value);
  if (problems.length > 0) throw new ValidationError(problems, topic);
  const natural = withDefaultsForNulls(schema.type, value) as Record<string, unknown>;
  return {
    topic: topic as PublishableTopic,
    key: recordKey(schema, natural),
    avro: schema.type.toBuffer(natural),
    headers: cloudEventHeaders(topic, natural.meta as Meta, options.traceparent),
  };
}
