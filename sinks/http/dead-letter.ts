/**
 * Dead letters of an HTTP sink (SPEC §7, §8): the command record goes to `<input-topic>.dlq` with
 * its original key, value bytes and headers and the headers of runtime/dlq.ts
 * (`tributary.error.processor` = the sink's name), plus, when the receiver answered:
 *
 *   tributary.sink.status   the HTTP status, e.g. 422
 *   tributary.sink.body     the answer's body, at most MAX_BODY_BYTES (4 KB) of UTF-8, cut with "…"
 *
 *   code                    when
 *   TRB_SINK_REJECTED       400/422: at once, with status and body
 *   TRB_SINK_UNAVAILABLE    retried for maxRetryMs without success (status of the last answer, if any)
 *   TRB_DECODE, TRB_UNKNOWN_SCHEMA, TRB_VALIDATION   the record cannot be read or sent as a command
 *
 * An original header named `tributary.sink.*` is kept as `tributary.original.tributary.sink.*`, as
 * dlq.ts does for its own prefixes, so ours win and nothing is lost.
 */
import type { IHeaders, Message } from 'kafkajs';
import { deadLetterOf, ORIGINAL_PREFIX, toDeadLetterMessage } from '../../runtime/dlq';
import { MAX_BODY_BYTES, utf8Prefix } from './request';

export const SINK_HEADERS = {
  status: 'tributary.sink.status',
  body: 'tributary.sink.body',
} as const;

const SINK_PREFIX = 'tributary.sink.';

export interface SinkFailure {
  code: string;
  message: string;
  status?: number;
  body?: string;
}

export interface SourceRecord {
  topic: string;
  partition: number;
  message: { key: Buffer | null; value: Buffer | null; headers?: IHeaders; offset: string };
}

export function sinkDeadLetter(source: SourceRecord, sink: string, failure: SinkFailure, at: Date = new Date()): Message {
  const message = toDeadLetterMessage(deadLetterOf(source, new Error(failure.message), sink, failure.code, at));
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value !== undefined) headers[name.startsWith(SINK_PREFIX) ? `${ORIGINAL_PREFIX}${name}` : name] = value;
  }
  if (failure.status !== undefined) headers[SINK_HEADERS.status] = String(failure.status);
  if (failure.body !== undefined) headers[SINK_HEADERS.body] = boundedBody(failure.body);
  return { ...message, headers };
}

function boundedBody(body: string): string {
  const bytes = Buffer.from(body, 'utf8');
  return bytes.length <= MAX_BODY_BYTES ? body : `${utf8Prefix(bytes, MAX_BODY_BYTES - 3)}…`;
}
