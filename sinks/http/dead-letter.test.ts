/**
 * Sink dead letters: the runtime/dlq.ts headers plus the receiver's status and body (bounded), the
 * original record untouched, and the round trip `dlq redrive` relies on.
 */
import { describe, expect, it } from 'vitest';
import { DLQ_HEADERS, fromDeadLetterMessage, ORIGINAL_PREFIX } from '../../runtime/dlq';
import { SINK_HEADERS, sinkDeadLetter } from './dead-letter';

const source = {
  topic: 'erp.commands',
  partition: 2,
  message: { key: Buffer.from('SO-1'), value: Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]), headers: { 'content-type': 'application/avro' }, offset: '41' },
};
const at = new Date('2026-11-20T10:00:00Z');

describe('sinkDeadLetter', () => {
  it('a 422 carries the code, the status and the body, and the original key, value and headers', () => {
    const message = sinkDeadLetter(source, 'erp', { code: 'TRB_SINK_REJECTED', message: 'erp answered 422 to POST /CreateSalesOrder', status: 422, body: '{"error":"unknown customer"}' }, at);
    expect(message.key).toEqual(source.message.key);
    expect(message.value).toEqual(source.message.value);
    expect(message.headers).toMatchObject({
      'content-type': 'application/avro',
      [DLQ_HEADERS.code]: 'TRB_SINK_REJECTED',
      [DLQ_HEADERS.processor]: 'erp',
      [DLQ_HEADERS.topic]: 'erp.commands',
      [DLQ_HEADERS.partition]: '2',
      [DLQ_HEADERS.offset]: '41',
      [DLQ_HEADERS.at]: '2026-11-20T10:00:00.000Z',
      [SINK_HEADERS.status]: '422',
      [SINK_HEADERS.body]: '{"error":"unknown customer"}',
    });
  });

  it('retries exhausted without an answer: no status or body header', () => {
    const message = sinkDeadLetter(source, 'erp', { code: 'TRB_SINK_UNAVAILABLE', message: 'no answer in 900 s' }, at);
    expect(message.headers?.[DLQ_HEADERS.code]).toBe('TRB_SINK_UNAVAILABLE');
    expect(message.headers).not.toHaveProperty(SINK_HEADERS.status);
    expect(message.headers).not.toHaveProperty(SINK_HEADERS.body);
  });

  it('keeps at most 4 KB of the body', () => {
    const body = `{"detail":"${'ü'.repeat(5_000)}"}`;
    const message = sinkDeadLetter(source, 'erp', { code: 'TRB_SINK_REJECTED', message: 'x', status: 400, body }, at);
    const kept = message.headers?.[SINK_HEADERS.body] as string;
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(4096);
    expect(kept.startsWith('{"detail":"üü')).toBe(true);
    expect(kept.endsWith('…')).toBe(true);
  });

  it('an original tributary.sink.* header (a re-driven dead letter) is kept under tributary.original.', () => {
    const again = { ...source, message: { ...source.message, headers: { ...source.message.headers, [SINK_HEADERS.status]: '400' } } };
    const message = sinkDeadLetter(again, 'erp', { code: 'TRB_SINK_REJECTED', message: 'x', status: 422, body: 'b' }, at);
    expect(message.headers?.[SINK_HEADERS.status]).toBe('422');
    expect(message.headers?.[`${ORIGINAL_PREFIX}${SINK_HEADERS.status}`]).toBe('400');
  });

  it('reads back as a DeadLetter with the original record (what dlq redrive re-publishes)', () => {
    const message = sinkDeadLetter(source, 'erp', { code: 'TRB_SINK_REJECTED', message: 'erp answered 400', status: 400, body: 'no' }, at);
    const back = fromDeadLetterMessage({ key: message.key as Buffer, value: message.value as Buffer, headers: message.headers });
    expect(back).toMatchObject({ key: source.message.key, value: source.message.value, code: 'TRB_SINK_REJECTED', processor: 'erp', topic: 'erp.commands', partition: 2, offset: '41' });
    expect(back.headers['content-type']).toBe('application/avro');
  });
});
