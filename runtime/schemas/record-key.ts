/**
 * The Kafka record key of a natural value, from the catalogue's key declaration: a field name
 * (`orderId`) or `sku@warehouse` (the SKU, `@`, the warehouse code; SPEC §4). A command's key comes
 * from its payload, per command type (`x-tributary.keyByType`, SPEC §7).
 */
import { ValidationError } from '../errors';
import { metadataOf, type TopicSchema } from './catalogue';

type Json = Record<string, unknown>;

export function recordKey(topic: TopicSchema, value: Json): string {
  if (topic.kind !== 'command') return keyFrom(topic.key, value, '');
  const type = String(value.type);
  const declared = metadataOf(topic).keyByType?.[type];
  if (!declared) {
    throw new ValidationError([{ path: 'type', code: 'UNKNOWN_COMMAND_TYPE', message: `${type} is not a command type of ${topic.topic}` }], topic.topic);
  }
  const payload = typeof value.payload === 'object' && value.payload !== null ? (value.payload as Json) : {};
  return keyFrom(declared, payload, 'payload.');
}

function keyFrom(declaration: string, value: Json, prefix: string): string {
  return declaration
    .split('@')
    .map((field) => {
      const part = value[field];
      if (typeof part !== 'string' || part === '') {
        throw new ValidationError([{ path: `${prefix}${field}`, code: 'MISSING_KEY', message: `the key field ${prefix}${field} is missing or empty` }]);
      }
      return part;
    })
    .join('@');
}
