/**
 * Dead letters as `tributary dlq show` prints them and `dlq list` counts them (SPEC §8, §9). Pure:
 * the command reads the records and decodes the originals.
 *
 * A shown record:
 *   { topic, partition, offset, timestamp, key            the .dlq record itself
 *     error:    { code, message, processor, at,           the runtime/dlq.ts headers
 *                 sourceTopic, sourcePartition, sourceOffset,
 *                 sinkStatus?, sinkBody? }                 (HTTP sinks, sinks/http/dead-letter.ts)
 *     original: { key, headers,                           restored as fromDeadLetterMessage does
 *                 valueLength, valueBase64,                the original bytes (null: a tombstone)
 *                 schemaId, value | decodeError }          decoded where the registry can
 *     redriven }                                           `dlq redrive` already sent it back
 * `--where` paths whose first segment is not one of these look in `error`, then `original.value`
 * (`--where code=TRB_DECODE`, `--where orderId=SO-1`).
 */
import type { DeadLetter } from '../dlq';
import { SINK_HEADERS } from '../../sinks/http/dead-letter';
import { headerText, isoTime, type RawMessage } from './consume';

export const DLQ_FALLBACKS = ['error', 'original.value'];

export type OriginalDecoding = { schemaId: number; value: unknown } | { error: { code: string; message: string }; schemaId: number | null };

export interface DeadLetterView {
  topic: string;
  partition: number;
  offset: number;
  timestamp: string;
  key: string | null;
  error: {
    code: string;
    message: string;
    processor: string;
    at: string;
    sourceTopic: string;
    sourcePartition: number;
    sourceOffset: number;
    sinkStatus?: number;
    sinkBody?: string;
  };
  original: {
    key: string | null;
    headers: Record<string, string | string[]>;
    valueLength: number | null;
    valueBase64: string | null;
    schemaId: number | null;
    value?: unknown;
    decodeError?: { code: string; message: string };
  };
  redriven: boolean;
  [field: string]: unknown;
}

export function deadLetterView(topic: string, partition: number, message: RawMessage, letter: DeadLetter, decoding: OriginalDecoding, redriven: boolean): DeadLetterView {
  const raw = headerText(message.headers);
  const one = (name: string) => {
    const value = raw[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const status = one(SINK_HEADERS.status);
  const body = one(SINK_HEADERS.body);
  const key = letter.key === null ? null : letter.key.toString('utf8');
  return {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: isoTime(message.timestamp),
    key,
    error: {
      code: letter.code,
      message: letter.message,
      processor: letter.processor,
      at: letter.at.toISOString(),
      sourceTopic: letter.topic,
      sourcePartition: letter.partition,
      sourceOffset: Number(letter.offset),
      ...(status === undefined ? {} : { sinkStatus: Number(status) }),
      ...(body === undefined ? {} : { sinkBody: body }),
    },
    original: {
      key,
      headers: headerText(letter.headers as RawMessage['headers']),
      valueLength: letter.value === null ? null : letter.value.length,
      valueBase64: letter.value === null ? null : letter.value.toString('base64'),
      schemaId: decoding.schemaId,
      ...('error' in decoding ? { decodeError: decoding.error } : { value: decoding.value }),
    },
    redriven,
  };
}

/** One line of `dlq list`. */
export interface DlqSummary {
  topic: string;
  /** The topic it holds dead letters of (the topology's; the records' own source topics are counted in `sourceTopics`). */
  sourceTopic: string;
  records: number;
  byCode: Record<string, number>;
  /** Earliest and latest `tributary.error.at`, ISO-8601 UTC, or null when empty. */
  first: string | null;
  last: string | null;
  /** Records `dlq redrive` has sent back; `records - redriven` are pending. */
  redriven: number;
  /** Records without the dead-letter headers (written by something else). */
  notDeadLetters: number;
  sourceTopics: Record<string, number>;
}

export class DlqCounter {
  private readonly summary: DlqSummary;

  constructor(topic: string, sourceTopic: string) {
    this.summary = { topic, sourceTopic, records: 0, byCode: {}, first: null, last: null, redriven: 0, notDeadLetters: 0, sourceTopics: {} };
  }

  add(letter: DeadLetter | undefined, redriven: boolean): void {
    const s = this.summary;
    s.records++;
    if (redriven) s.redriven++;
    if (!letter) {
      s.notDeadLetters++;
      return;
    }
    s.byCode[letter.code] = (s.byCode[letter.code] ?? 0) + 1;
    s.sourceTopics[letter.topic] = (s.sourceTopics[letter.topic] ?? 0) + 1;
    const at = letter.at.toISOString();
    // ISO-8601 UTC strings of one format order as the times do.
    if (s.first === null || at < s.first) s.first = at;
    if (s.last === null || at > s.last) s.last = at;
  }

  result(): DlqSummary {
    const sorted = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return { ...this.summary, byCode: sorted(this.summary.byCode), sourceTopics: sorted(this.summary.sourceTopics) };
  }
}
