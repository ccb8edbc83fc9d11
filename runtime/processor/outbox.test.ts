/** The outbox entry format: what is stored is what is produced, bytes for bytes, in order per topic. */
import { describe, expect, it } from 'vitest';
import { byTopic, decodeOutbox, encodeOutbox, type OutboxRecord } from './outbox';

const bytes = (...values: number[]) => Buffer.from(values);

describe('outbox entries', () => {
  it('round-trips keys, values and headers, grouped per topic in their original order', () => {
    const records: OutboxRecord[] = [
      { topic: 'p.order.status', message: { key: 'SO-1', value: bytes(0, 0, 0, 0, 7, 2, 255), headers: { 'content-type': 'application/avro' } } },
      { topic: 'p.orders.movements', message: { key: 'SKU-1@DC-ÉAST', value: bytes(1), headers: { ce_id: 'e-1', ce_time: '2026-01-01T00:00:00.000Z' } } },
      { topic: 'p.order.status', message: { key: 'SO-2', value: bytes(9), headers: {} } },
      // A dead letter keeps arbitrary original bytes, a null key and a header with several values.
      { topic: 'p.order.created.dlq', message: { key: null, value: bytes(0xff, 0x00, 0x5b), headers: { traceparent: [bytes(0x00, 0xfe), 'b'], empty: '' } } },
    ];
    const stored = encodeOutbox(records);
    const back = decodeOutbox(stored);
    expect(back.map((t) => t.topic)).toEqual(['p.order.status', 'p.orders.movements', 'p.order.created.dlq']);
    const status = back[0]?.messages ?? [];
    expect(status.map((m) => m.key?.toString())).toEqual(['SO-1', 'SO-2']);
    expect(status[0]?.value).toEqual(bytes(0, 0, 0, 0, 7, 2, 255));
    expect(status[0]?.headers).toEqual({ 'content-type': Buffer.from('application/avro') });
    expect(status[1]?.headers).toEqual({});
    expect(back[1]?.messages[0]?.key).toEqual(Buffer.from('SKU-1@DC-ÉAST'));
    expect(back[1]?.messages[0]?.headers).toEqual({ ce_id: Buffer.from('e-1'), ce_time: Buffer.from('2026-01-01T00:00:00.000Z') });
    const letter = back[2]?.messages[0];
    expect(letter?.key).toBeNull();
    expect(letter?.value).toEqual(bytes(0xff, 0x00, 0x5b));
    expect(letter?.headers).toEqual({ traceparent: [bytes(0x00, 0xfe), Buffer.from('b')], empty: Buffer.alloc(0) });
  });

  it('stores nothing for a batch without records', () => {
    expect(encodeOutbox([]).length).toBe(0);
    expect(decodeOutbox(Buffer.alloc(0))).toEqual([]);
  });

  it('produces from memory the same grouping it would read back', () => {
    const records: OutboxRecord[] = [
      { topic: 'a', message: { key: '1', value: bytes(1) } },
      { topic: 'b', message: { key: '2', value: bytes(2) } },
      { topic: 'a', message: { key: '3', value: bytes(3) } },
    ];
    expect(byTopic(records).map((t) => [t.topic, t.messages.map((m) => String(m.key))])).toEqual(
      decodeOutbox(encodeOutbox(records)).map((t) => [t.topic, t.messages.map((m) => String(m.key))]),
    );
  });

  it('still reads an entry an earlier version stored as JSON with base64 bytes', () => {
    const legacy = JSON.stringify([
      { t: 'x', k: Buffer.from('k1').toString('base64'), v: bytes(0, 1).toString('base64'), h: { ce_id: [Buffer.from('e').toString('base64')] } },
      { t: 'x', k: null, v: null, h: {} },
    ]);
    const back = decodeOutbox(Buffer.from(legacy));
    expect(back).toEqual([{ topic: 'x', messages: [{ key: Buffer.from('k1'), value: bytes(0, 1), headers: { ce_id: Buffer.from('e') } }, { key: null, value: null, headers: {} }] }]);
  });

  it('refuses an entry cut short or of an unknown version rather than producing part of it', () => {
    const stored = encodeOutbox([{ topic: 'a', message: { key: 'k', value: bytes(1, 2, 3) } }]);
    expect(() => decodeOutbox(stored.subarray(0, stored.length - 1))).toThrow();
    expect(() => decodeOutbox(Buffer.concat([stored, bytes(0)]))).toThrow(/after its last record/);
    expect(() => decodeOutbox(bytes(9, 0, 0))).toThrow(/version 9/);
  });
});
