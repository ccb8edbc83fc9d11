import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isBrokenSequence, messageBytes, splitBySize } from './serial-producer';

// kafkajs builds its protocol errors from broker error codes; use its own factory, not look-alikes.
const require = createRequire(import.meta.url);
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode(code: number): Error };
const { KafkaJSNumberOfRetriesExceeded } = kafkajs;

describe('isBrokenSequence', () => {
  it('knows the broker errors after which an idempotent producer cannot go on', () => {
    expect(isBrokenSequence(createErrorFromCode(45))).toBe(true); // OUT_OF_ORDER_SEQUENCE_NUMBER
    expect(isBrokenSequence(createErrorFromCode(59))).toBe(true); // UNKNOWN_PRODUCER_ID
    expect(isBrokenSequence(createErrorFromCode(47))).toBe(true); // INVALID_PRODUCER_EPOCH
  });

  it('sees them behind kafkajs retry wrappers', () => {
    expect(isBrokenSequence(new KafkaJSNumberOfRetriesExceeded(createErrorFromCode(45), { retryCount: 5, retryTime: 100 }))).toBe(true);
  });

  it('leaves other errors to the ordinary retry', () => {
    expect(isBrokenSequence(createErrorFromCode(6))).toBe(false); // NOT_LEADER_FOR_PARTITION
    expect(isBrokenSequence(createErrorFromCode(7))).toBe(false); // REQUEST_TIMED_OUT
    expect(isBrokenSequence(new Error('Connection error: ECONNREFUSED'))).toBe(false);
  });
});

describe('splitBySize', () => {
  const message = (key: string, size: number) => ({ key, value: Buffer.alloc(size) });
  const keys = (parts: ReturnType<typeof splitBySize>) => parts.map((part) => part.map((t) => `${t.topic}:${t.messages.map((m) => m.key).join(',')}`));

  it('keeps what fits in one request together', () => {
    const input = [{ topic: 'a', messages: [message('1', 10), message('2', 10)] }, { topic: 'b', messages: [message('3', 10)] }];
    expect(keys(splitBySize(input, 1_000))).toEqual([['a:1,2', 'b:3']]);
  });

  it('cuts a large send into consecutive parts under the budget, in order within each topic', () => {
    const each = messageBytes(message('x', 100));
    const input = [{ topic: 'a', messages: ['1', '2', '3'].map((k) => message(k, 100)) }, { topic: 'b', messages: ['4', '5'].map((k) => message(k, 100)) }];
    const parts = splitBySize(input, 2 * each);
    expect(keys(parts)).toEqual([['a:1,2'], ['a:3', 'b:4'], ['b:5']]);
    for (const part of parts) expect(part.flatMap((t) => t.messages).reduce((n, m) => n + messageBytes(m), 0)).toBeLessThanOrEqual(2 * each);
  });

  it('sends a message bigger than the budget alone rather than never', () => {
    expect(keys(splitBySize([{ topic: 'a', messages: [message('1', 10), message('big', 5_000), message('2', 10)] }], 1_000))).toEqual([['a:1'], ['a:big'], ['a:2']]);
  });
});
