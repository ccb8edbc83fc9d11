/**
 * Dead letters without a broker: the verdict for each kind of error, the header names and values
 * a `.dlq` record carries, and the round trip back to the DeadLetter (as kafkajs hands records
 * to a consumer: header values as Buffers). The real topic round trip is in
 * test/runtime/decode-dlq.int.test.ts.
 */
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { DecodeError, RegistryError, TributaryError, UnknownSchemaError, ValidationError } from './errors';
import {
  classifyForDeadLetter,
  deadLetterOf,
  deadLetterTopic,
  fromDeadLetterMessage,
  MAX_MESSAGE_LENGTH,
  toDeadLetterMessage,
  type DeadLetter,
} from './dlq';

const { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSProtocolError } = kafkajs;

describe('classifyForDeadLetter', () => {
  it.each([
    ['DecodeError', new DecodeError('bad frame'), 'TRB_DECODE'],
    ['UnknownSchemaError', new UnknownSchemaError(987654), 'TRB_UNKNOWN_SCHEMA'],
    ['ValidationError', new ValidationError([{ path: 'lines[0].quantity', code: 'min', message: 'must be > 0' }]), 'TRB_VALIDATION'],
    ['a non-retriable TributaryError', new TributaryError('TRB_SINK_REJECTED', 'receiver answered 422'), 'TRB_SINK_REJECTED'],
    ['a TypeError from a processor', new TypeError("Cannot read properties of undefined (reading 'sku')"), 'TRB_PROCESSING'],
    ['a plain Error from a processor', new Error('boom'), 'TRB_PROCESSING'],
    ['a thrown string', 'boom', 'TRB_PROCESSING'],
    ['a non-retriable kafkajs error', new KafkaJSNonRetriableError('message too large'), 'TRB_PROCESSING'],
  ])('%s is a dead letter', (_, error, code) => {
    expect(classifyForDeadLetter(error)).toEqual({ deadLetter: true, code });
  });

  it.each([
    ['registry unreachable', new RegistryError('registry down', 0)],
    ['registry 503', new RegistryError('registry failing', 503)],
    ['registry 401 (configuration, not the record)', new RegistryError('unauthorized', 401)],
    ['a retriable TributaryError (Redis down)', new TributaryError('TRB_SINK_UNAVAILABLE', 'down', { retriable: true })],
    ['a kafkajs connection error', new KafkaJSConnectionError('Connection error: ECONNREFUSED')],
    ['a retriable kafkajs protocol error', new KafkaJSProtocolError({ message: 'leader not available', type: 'LEADER_NOT_AVAILABLE', code: 5, retriable: true } as never)],
  ])('%s is retried', (_, error) => {
    expect(classifyForDeadLetter(error)).toEqual({ retry: true });
  });
});

describe('dead-letter records', () => {
  const deadLetter: DeadLetter = {
    key: Buffer.from('SKU-10042@DC-EAST'),
    value: Buffer.from([0, 0, 0, 0, 42, 0xff, 0x00, 0x80]),
    headers: { ce_id: Buffer.from('WMS-ADJ-1'), ce_type: 'stock.adjusted', traceparent: [Buffer.from('a'), Buffer.from('b')] },
    code: 'TRB_DECODE',
    message: 'Avro body does not match schema id 42 (truncated buffer): the producer wrote it with another schema or it was cut',
    processor: 'atp',
    topic: 'stock.adjusted',
    partition: 3,
    offset: '1234567890123',
    at: new Date('2026-11-23T09:40:00.123Z'),
  };

  it('names the dead-letter topic <topic>.dlq', () => {
    expect(deadLetterTopic('stock.adjusted')).toBe('stock.adjusted.dlq');
  });

  it('keeps key, value and original headers and adds the error headers', () => {
    const message = toDeadLetterMessage(deadLetter);
    expect(message.key).toBe(deadLetter.key);
    expect(message.value).toBe(deadLetter.value);
    expect(message.headers).toEqual({
      ce_id: Buffer.from('WMS-ADJ-1'),
      ce_type: 'stock.adjusted',
      traceparent: [Buffer.from('a'), Buffer.from('b')],
      'tributary.error.code': 'TRB_DECODE',
      'tributary.error.message': deadLetter.message,
      'tributary.error.processor': 'atp',
      'tributary.error.at': '2026-11-23T09:40:00.123Z',
      'tributary.source.topic': 'stock.adjusted',
      'tributary.source.partition': '3',
      'tributary.source.offset': '1234567890123',
    });
  });

  it('round-trips through the record a consumer sees (header values as Buffers)', () => {
    const message = toDeadLetterMessage(deadLetter);
    const consumed = {
      key: message.key as Buffer,
      value: message.value as Buffer,
      headers: Object.fromEntries(
        Object.entries(message.headers!).map(([name, value]) => [name, Array.isArray(value) ? value.map((v) => Buffer.from(v)) : Buffer.from(value!)]),
      ),
    };
    const back = fromDeadLetterMessage(consumed);
    expect(back).toEqual({ ...deadLetter, headers: { ce_id: Buffer.from('WMS-ADJ-1'), ce_type: Buffer.from('stock.adjusted'), traceparent: [Buffer.from('a'), Buffer.from('b')] } });
  });

  it('an original header with one of our names loses to ours but is kept, and comes back on parse', () => {
    const clashing: DeadLetter = {
      ...deadLetter,
      headers: {
        'tributary.error.code': 'TRB_VALIDATION',
        'tributary.source.topic': 'order.created',
        'tributary.original.note': 'already escaped once',
        other: 'x',
      },
    };
    const message = toDeadLetterMessage(clashing);
    expect(message.headers).toMatchObject({
      'tributary.error.code': 'TRB_DECODE',
      'tributary.source.topic': 'stock.adjusted',
      'tributary.original.tributary.error.code': 'TRB_VALIDATION',
      'tributary.original.tributary.source.topic': 'order.created',
      'tributary.original.tributary.original.note': 'already escaped once',
      other: 'x',
    });
    const back = fromDeadLetterMessage({ key: message.key as Buffer, value: message.value as Buffer, headers: message.headers! });
    expect(back.headers).toEqual(clashing.headers);
    expect(back.code).toBe('TRB_DECODE');
    expect(back.topic).toBe('stock.adjusted');
  });

  it('keeps null keys and values (a tombstone dead-lettered as such)', () => {
    const tombstone = { ...deadLetter, key: null, value: null, headers: {} };
    const message = toDeadLetterMessage(tombstone);
    expect(message.key).toBeNull();
    expect(message.value).toBeNull();
    expect(fromDeadLetterMessage({ key: null, value: null, headers: message.headers! })).toEqual(tombstone);
  });

  it('writes the error message on one line and truncates it', () => {
    const long = `first line\nsecond\r\n\tthird ${'x'.repeat(5000)}`;
    const header = String(toDeadLetterMessage({ ...deadLetter, message: long }).headers!['tributary.error.message']);
    expect(header.startsWith('first line second third xxx')).toBe(true);
    expect(header).not.toMatch(/[\r\n\t]/);
    expect(header.length).toBe(MAX_MESSAGE_LENGTH);
    expect(header.endsWith('…')).toBe(true);
  });

  it('a record without the error headers is not a dead letter', () => {
    expect(() => fromDeadLetterMessage({ key: null, value: Buffer.from('x'), headers: { ce_id: Buffer.from('1') } })).toThrow(DecodeError);
  });

  it('deadLetterOf takes the record as kafkajs delivers it and the error', () => {
    const at = new Date('2026-11-23T09:41:00Z');
    const letter = deadLetterOf(
      { topic: 'order.created', partition: 0, message: { key: Buffer.from('SO-1'), value: Buffer.from([1, 2]), headers: { ce_id: Buffer.from('e1') }, offset: '7' } },
      new UnknownSchemaError(987654),
      'orders',
      'TRB_UNKNOWN_SCHEMA',
      at,
    );
    expect(letter).toEqual({
      key: Buffer.from('SO-1'),
      value: Buffer.from([1, 2]),
      headers: { ce_id: Buffer.from('e1') },
      code: 'TRB_UNKNOWN_SCHEMA',
      message: 'schema id 987654 is not in the registry',
      processor: 'orders',
      topic: 'order.created',
      partition: 0,
      offset: '7',
      at,
    });
  });
});
