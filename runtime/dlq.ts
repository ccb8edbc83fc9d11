/**
 * Dead letters (SPEC §8): a record that cannot be decoded, names an unknown schema id, fails
 * validation or makes a processor throw goes to `<input-topic>.dlq` — original key, value bytes
 * and headers untouched — plus these headers (UTF-8 strings):
 *
 *   tributary.error.code        stable TRB_* code (runtime/errors.ts), e.g. TRB_DECODE
 *   tributary.error.message     the error message, one line, at most 1000 characters
 *   tributary.error.processor   the processor that failed, e.g. atp
 *   tributary.error.at          when it was dead-lettered, ISO-8601 UTC
 *   tributary.source.topic      the input topic
 *   tributary.source.partition  its partition (decimal)
 *   tributary.source.offset     the record's offset (decimal, as kafkajs gives offsets)
 *   tributary.sink.status       (HTTP sinks) the receiver's status code for a refused command
 *   tributary.sink.body         (HTTP sinks) the start of the receiver's response body
 *
 * An original header whose name starts with `tributary.error.`, `tributary.source.`,
 * `tributary.sink.` or `tributary.original.` (a dead letter dead-lettered again, or a producer using our names) is kept
 * as `tributary.original.<name>`, so ours win and nothing is lost; `fromDeadLetterMessage` undoes
 * it, so `dlq redrive` restores exactly the original headers.
 *
 * The error message may hold fragments of the payload (a validation message quoting a value): it
 * is kept because the SRE needs it, but callers must not log it — log the code and position only.
 */
import kafkajs, { type IHeaders, type Message } from 'kafkajs';
import { DecodeError, TributaryError } from './errors';

// kafkajs is CommonJS and spreads its errors into module.exports, which Node's named-export
// detection cannot see: reach them through the default export.
const { KafkaJSError } = kafkajs;

export const DLQ_SUFFIX = '.dlq';

export const DLQ_HEADERS = {
  code: 'tributary.error.code',
  message: 'tributary.error.message',
  processor: 'tributary.error.processor',
  at: 'tributary.error.at',
  topic: 'tributary.source.topic',
  partition: 'tributary.source.partition',
  offset: 'tributary.source.offset',
} as const;

/** Original headers with one of these prefixes are kept under ORIGINAL_PREFIX + name. */
const RESERVED_PREFIXES = ['tributary.error.', 'tributary.source.', 'tributary.sink.', 'tributary.original.'];
export const ORIGINAL_PREFIX = 'tributary.original.';

export const MAX_MESSAGE_LENGTH = 1000;

export interface DeadLetter {
  key: Buffer | null;
  value: Buffer | null;
  /** The source record's headers, as kafkajs gave them. */
  headers: IHeaders;
  /** A TRB_* code; a string because a dead letter written by another version may carry a newer one. */
  code: string;
  message: string;
  processor: string;
  topic: string;
  partition: number;
  offset: string;
  at: Date;
}

export type DeadLetterVerdict = { deadLetter: true; code: string } | { retry: true };

export function deadLetterTopic(topic: string): string {
  return `${topic}${DLQ_SUFFIX}`;
}

/**
 * Retry or dead letter? Retriable Tributary errors (registry or Redis down, receiver unavailable)
 * and retriable kafkajs errors pause and retry. A RegistryError that is not retriable (401/403,
 * a wrong base path) is a configuration problem, not the record's: it is retried too, so fixing
 * the configuration resumes processing instead of dead-lettering every record. Everything else —
 * DecodeError, UnknownSchemaError, ValidationError, or whatever a processor throws — is the
 * record's: dead letter, with TRB_PROCESSING for errors that are not Tributary's.
 */
export function classifyForDeadLetter(error: unknown): DeadLetterVerdict {
  if (error instanceof TributaryError) {
    if (error.retriable || error.code === 'TRB_REGISTRY' || error.code === 'TRB_REGISTRY_UNAVAILABLE') return { retry: true };
    return { deadLetter: true, code: error.code };
  }
  if (error instanceof KafkaJSError && error.retriable) return { retry: true };
  return { deadLetter: true, code: 'TRB_PROCESSING' };
}

/** The message as a header holds it: one line, bounded, so a stack trace or a huge value cannot bloat it. */
export function deadLetterMessageText(message: string): string {
  // eslint-disable-next-line no-control-regex
  const line = message.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/ {2,}/g, ' ').trim();
  return line.length > MAX_MESSAGE_LENGTH ? `${line.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : line;
}

/** The DeadLetter for a source record and the error that stopped it. */
export function deadLetterOf(
  source: { topic: string; partition: number; message: { key: Buffer | null; value: Buffer | null; headers?: IHeaders; offset: string } },
  error: unknown,
  processor: string,
  code: string,
  at: Date = new Date(),
): DeadLetter {
  const message = error instanceof Error ? error.message : String(error);
  return {
    key: source.message.key,
    value: source.message.value,
    headers: source.message.headers ?? {},
    code,
    message: deadLetterMessageText(message),
    processor,
    topic: source.topic,
    partition: source.partition,
    offset: source.message.offset,
    at,
  };
}

export function toDeadLetterMessage(deadLetter: DeadLetter): Message {
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(deadLetter.headers)) {
    if (value === undefined) continue;
    headers[isReserved(name) ? `${ORIGINAL_PREFIX}${name}` : name] = value;
  }
  headers[DLQ_HEADERS.code] = deadLetter.code;
  headers[DLQ_HEADERS.message] = deadLetterMessageText(deadLetter.message);
  headers[DLQ_HEADERS.processor] = deadLetter.processor;
  headers[DLQ_HEADERS.at] = deadLetter.at.toISOString();
  headers[DLQ_HEADERS.topic] = deadLetter.topic;
  headers[DLQ_HEADERS.partition] = String(deadLetter.partition);
  headers[DLQ_HEADERS.offset] = deadLetter.offset;
  return { key: deadLetter.key, value: deadLetter.value, headers };
}

/**
 * The DeadLetter a `.dlq` record holds, from the record as kafkajs consumes it (header values are
 * Buffers) or as toDeadLetterMessage built it (strings). A record without our headers is not a
 * dead letter: DecodeError naming the missing header.
 */
export function fromDeadLetterMessage(message: { key?: Buffer | string | null; value: Buffer | string | null; headers?: IHeaders }): DeadLetter {
  const all = message.headers ?? {};
  const text = (name: string): string => {
    const value = all[name];
    const one = Array.isArray(value) ? value[0] : value;
    if (one === undefined) throw new DecodeError(`record has no ${name} header: it is not a Tributary dead letter`);
    return Buffer.isBuffer(one) ? one.toString('utf8') : one;
  };
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(all)) {
    if (value === undefined) continue;
    if (name.startsWith(ORIGINAL_PREFIX)) headers[name.slice(ORIGINAL_PREFIX.length)] = value;
    else if (!isReserved(name)) headers[name] = value;
  }
  const partition = Number(text(DLQ_HEADERS.partition));
  const offset = text(DLQ_HEADERS.offset);
  const at = new Date(text(DLQ_HEADERS.at));
  if (!Number.isInteger(partition) || partition < 0) throw new DecodeError(`dead letter header ${DLQ_HEADERS.partition} is not a partition number`);
  if (!/^\d+$/.test(offset)) throw new DecodeError(`dead letter header ${DLQ_HEADERS.offset} is not an offset`);
  if (Number.isNaN(at.getTime())) throw new DecodeError(`dead letter header ${DLQ_HEADERS.at} is not an ISO-8601 time`);
  return {
    key: toBuffer(message.key ?? null),
    value: toBuffer(message.value),
    headers,
    code: text(DLQ_HEADERS.code),
    message: text(DLQ_HEADERS.message),
    processor: text(DLQ_HEADERS.processor),
    topic: text(DLQ_HEADERS.topic),
    partition,
    offset,
    at,
  };
}

function isReserved(name: string): boolean {
  return RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

function toBuffer(value: Buffer | string | null): Buffer | null {
  return value === null || Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
}
