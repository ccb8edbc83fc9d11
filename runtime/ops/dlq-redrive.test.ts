/** dlq-redrive.ts and dlq-records.ts: the record sent back, the shown record, the list counts, the plan. */
import type { IHeaders } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { deadLetterOf, fromDeadLetterMessage, toDeadLetterMessage } from '../dlq';
import { DecodeError } from '../errors';
import { matchesAll, parseWhere } from './consume';
import { DlqCounter, DLQ_FALLBACKS, deadLetterView } from './dlq-records';
import { PlanBuilder, REDRIVE_FROM_HEADER, redriveMessage, renderPlanText } from './dlq-redrive';

const AT = new Date('2026-11-20T10:00:00.000Z');

function letterFor(headers: IHeaders, key: Buffer | null = Buffer.from('SO-1'), value: Buffer | null = Buffer.from([0, 0, 0, 0, 9, 2])) {
  const message = toDeadLetterMessage(
    deadLetterOf({ topic: 'p.order.created', partition: 4, message: { key, value, headers, offset: '123' } }, new DecodeError('schema id 9 is not in the registry'), 'orders', 'TRB_UNKNOWN_SCHEMA', AT),
  );
  // As a consumer gets it: header values are Buffers.
  const consumed: IHeaders = {};
  for (const [name, v] of Object.entries(message.headers ?? {})) consumed[name] = Buffer.from(String(v));
  return { key: message.key as Buffer | null, value: message.value as Buffer | null, headers: consumed, offset: '7', timestamp: String(AT.getTime() + 5) };
}

describe('redriveMessage', () => {
  it('is the original key, bytes and headers, to the source topic, plus where it came from', () => {
    const record = letterFor({ ce_id: 'e-1', 'tributary.error.code': 'FORGED' });
    const { topic, message } = redriveMessage(fromDeadLetterMessage(record), 'p.order.created.dlq', 2, '7');
    expect(topic).toBe('p.order.created');
    expect(message.key).toEqual(Buffer.from('SO-1'));
    expect(message.value).toEqual(Buffer.from([0, 0, 0, 0, 9, 2]));
    expect(message.partition).toBeUndefined();
    const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([n, v]) => [n, String(v)]));
    expect(headers).toEqual({ ce_id: 'e-1', 'tributary.error.code': 'FORGED', [REDRIVE_FROM_HEADER]: 'p.order.created.dlq/2/7' });
  });

  it('a record without a key goes to its source partition explicitly', () => {
    const { message } = redriveMessage(fromDeadLetterMessage(letterFor({}, null)), 'd', 0, '1');
    expect(message.partition).toBe(4);
  });

  it('dead-lettered again and re-driven again, the redrive header survives and names the newer position', () => {
    const first = redriveMessage(fromDeadLetterMessage(letterFor({ ce_id: 'e-1' })), 'x.dlq', 0, '7');
    const again = toDeadLetterMessage(deadLetterOf({ topic: first.topic, partition: 4, message: { key: first.message.key as Buffer, value: first.message.value as Buffer, headers: first.message.headers, offset: '200' } }, new Error('still broken'), 'orders', 'TRB_PROCESSING'));
    expect(again.headers?.[REDRIVE_FROM_HEADER]).toBe('x.dlq/0/7');
    const restored = fromDeadLetterMessage(again);
    expect(String(restored.headers[REDRIVE_FROM_HEADER])).toBe('x.dlq/0/7');
    const second = redriveMessage(restored, 'x.dlq', 1, '8');
    expect(String(second.message.headers?.[REDRIVE_FROM_HEADER])).toBe('x.dlq/1/8');
    expect(String(second.message.headers?.ce_id)).toBe('e-1');
  });
});

describe('deadLetterView', () => {
  it('shows the error headers, the original bytes, the decoded value, and --where reaches them', () => {
    const record = letterFor({ ce_id: 'e-1' });
    const view = deadLetterView('p.order.created.dlq', 1, record, fromDeadLetterMessage(record), { schemaId: 9, value: { orderId: 'SO-1', lines: [{ sku: 'A' }] } }, false);
    expect(view).toEqual({
      topic: 'p.order.created.dlq',
      partition: 1,
      offset: 7,
      timestamp: '2026-11-20T10:00:00.005Z',
      key: 'SO-1',
      error: {
        code: 'TRB_UNKNOWN_SCHEMA',
        message: 'schema id 9 is not in the registry',
        processor: 'orders',
        at: '2026-11-20T10:00:00.000Z',
        sourceTopic: 'p.order.created',
        sourcePartition: 4,
        sourceOffset: 123,
      },
      original: { key: 'SO-1', headers: { ce_id: 'e-1' }, valueLength: 6, valueBase64: 'AAAAAAkC', schemaId: 9, value: { orderId: 'SO-1', lines: [{ sku: 'A' }] } },
      redriven: false,
    });
    const where = (...c: string[]) => matchesAll(view, c.map(parseWhere), DLQ_FALLBACKS);
    expect(where('code=TRB_UNKNOWN_SCHEMA', 'sourcePartition=4', 'orderId=SO-1', 'lines.sku=A', 'redriven=false')).toBe(true);
    expect(where('code=TRB_DECODE')).toBe(false);
  });

  it('a value that cannot be decoded shows the reason; sink headers appear when present', () => {
    const record = letterFor({});
    record.headers['tributary.sink.status'] = Buffer.from('422');
    record.headers['tributary.sink.body'] = Buffer.from('{"error":"bad sku"}');
    const view = deadLetterView('d', 0, record, fromDeadLetterMessage(record), { error: { code: 'TRB_UNKNOWN_SCHEMA', message: 'gone' }, schemaId: 9 }, true);
    expect(view.original.decodeError).toEqual({ code: 'TRB_UNKNOWN_SCHEMA', message: 'gone' });
    expect('value' in view.original).toBe(false);
    expect(view.error.sinkStatus).toBe(422);
    expect(view.error.sinkBody).toBe('{"error":"bad sku"}');
    expect(matchesAll(view, [parseWhere('sinkStatus=422')], DLQ_FALLBACKS)).toBe(true);
  });
});

describe('DlqCounter', () => {
  it('counts records, codes, source topics, re-driven ones and the time span', () => {
    const counter = new DlqCounter('t.dlq', 't');
    const at = (iso: string) => ({ ...fromDeadLetterMessage(letterFor({})), at: new Date(iso) });
    counter.add(at('2026-11-20T10:00:00.000Z'), true);
    counter.add({ ...at('2026-11-19T09:00:00.000Z'), code: 'TRB_DECODE' }, false);
    counter.add(at('2026-11-21T08:00:00.000Z'), false);
    counter.add(undefined, false);
    expect(counter.result()).toEqual({
      topic: 't.dlq',
      sourceTopic: 't',
      records: 4,
      byCode: { TRB_DECODE: 1, TRB_UNKNOWN_SCHEMA: 2 },
      first: '2026-11-19T09:00:00.000Z',
      last: '2026-11-21T08:00:00.000Z',
      redriven: 1,
      notDeadLetters: 1,
      sourceTopics: { 'p.order.created': 3 },
    });
  });
});

describe('the redrive plan', () => {
  it('counts selected records per target topic and code and says what was left alone', () => {
    const plan = new PlanBuilder('t.dlq', false);
    plan.select('t', 'TRB_DECODE');
    plan.select('t', 'TRB_DECODE');
    plan.select('t', 'TRB_PROCESSING');
    plan.alreadyRedriven(2);
    plan.notMatching();
    plan.notDeadLetter();
    plan.missingTopic('gone');
    const result = plan.result();
    expect(result.selected).toEqual([
      { topic: 't', code: 'TRB_DECODE', records: 2 },
      { topic: 't', code: 'TRB_PROCESSING', records: 1 },
    ]);
    expect(result.total).toBe(3);
    expect(result.sent).toBe(0);
    const text = renderPlanText(result, (rows) => rows.map((r) => r.join(' ')).join('\n'));
    expect(text).toContain('t TRB_DECODE 2');
    expect(text).toContain('would re-drive 3 records from t.dlq; nothing sent: add --execute');
    expect(text).toContain('2 records re-driven by an earlier run left alone');
    expect(text).toContain('1 record not matching --where');
    expect(text).toContain('1 record without dead-letter headers');
    expect(text).toContain('1 record for gone skipped: that topic is not in Kafka');
  });

  it('executed: says how many were sent, or that there was nothing', () => {
    const done = new PlanBuilder('t.dlq', true);
    done.select('t', 'X');
    done.sent(1);
    expect(renderPlanText(done.result(), () => '')).toContain('re-drove 1 record from t.dlq');
    expect(renderPlanText(new PlanBuilder('t.dlq', true).result(), () => '')).toBe('nothing to re-drive in t.dlq\n');
  });
});
