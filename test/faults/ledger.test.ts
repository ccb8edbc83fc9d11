/**
 * The reliability ledger's definitions (test/faults/ledger.ts) on hand-made cases: each verdict,
 * the order in which they are tried, and what counts as duplicated and reordered.
 */
import { describe, expect, it } from 'vitest';
import {
  appliedTwice,
  countVerdicts,
  idsWithTwoBodies,
  judgeCommandInputs,
  judgeProcessorInputs,
  ledgerLine,
  reorderedCommands,
  type CommandInput,
  type PartitionApplied,
  type ProcessorInput,
} from './ledger';

const input = (offset: number, eventId: string | undefined, topic = 'order.created', partition = 0): ProcessorInput => ({ topic, partition, offset: BigInt(offset), eventId });

function redis(watermarks: Record<string, number>, seen: string[]): PartitionApplied {
  return { watermarks: new Map(Object.entries(watermarks).map(([t, o]) => [t, BigInt(o)])), seen: new Set(seen) };
}

describe('judgeProcessorInputs', () => {
  it('applied, duplicate, dead-lettered, lost and unseen, in offset order per partition', () => {
    const records = [input(3, 'e3'), input(0, 'e0'), input(1, 'e0'), input(2, undefined), input(4, 'e4'), input(5, 'e5')];
    const state = redis({ 'order.created': 4 }, ['order.created|e0', 'order.created|e3']);
    const judged = judgeProcessorInputs(records, () => state, [{ topic: 'order.created', partition: 0, offset: 2n }]);
    expect(judged.map((j) => [Number(j.record.offset), j.verdict])).toEqual([
      [0, 'applied'],
      [1, 'duplicate'],
      [2, 'dead-lettered'],
      [3, 'applied'],
      // Passed by the watermark, never recorded as applied: silently dropped.
      [4, 'lost'],
      // Beyond the watermark: the processor never got there.
      [5, 'unseen'],
    ]);
  });

  it('a record without an eventId that no dead letter names is lost; one past the watermark is unseen', () => {
    const state = redis({ 'order.created': 0 }, []);
    expect(judgeProcessorInputs([input(0, undefined), input(1, undefined)], () => state, []).map((j) => j.verdict)).toEqual(['lost', 'unseen']);
  });

  it('reads the seen set and watermark of the record topic and partition only', () => {
    const records = [input(0, 'x', 'order.created', 0), input(0, 'x', 'stock.adjusted', 1), input(0, 'x', 'order.created', 2)];
    const states: Record<number, PartitionApplied> = {
      0: redis({ 'order.created': 0 }, ['order.created|x']),
      // The same eventId on another topic is another event (SPEC §4).
      1: redis({ 'stock.adjusted': 0 }, ['order.created|x']),
    };
    const judged = judgeProcessorInputs(records, (_topic, p) => states[p], []);
    expect(judged.map((j) => `${j.record.topic}/${j.record.partition} ${j.verdict}`)).toEqual(['order.created/0 applied', 'stock.adjusted/1 lost', 'order.created/2 unseen']);
  });

  it('a repeat after a dead-lettered first is judged on its own', () => {
    const state = redis({ 'order.created': 1 }, ['order.created|e']);
    const judged = judgeProcessorInputs([input(0, 'e'), input(1, 'e')], () => state, [{ topic: 'order.created', partition: 0, offset: 0n }]);
    expect(judged.map((j) => j.verdict)).toEqual(['dead-lettered', 'applied']);
  });
});

const command = (offset: number, commandId: string | undefined, key = 'SO-1', type = 'UpdateSalesOrder', partition = 0): CommandInput => ({
  topic: 'erp.commands',
  partition,
  offset: BigInt(offset),
  key,
  commandId,
  type,
  body: `{"type":"${type}"}`,
});

describe('judgeCommandInputs', () => {
  it('applied, duplicate, coalesced, dead-lettered, lost and unseen', () => {
    const records = [
      command(0, 'c0'),
      command(1, 'c0'),
      command(2, 'a1', 'SKU@W', 'UpdateAvailability'),
      command(3, 'a2', 'SKU@W', 'UpdateAvailability'),
      command(4, 'c4'),
      command(5, 'c5'),
      command(6, 'c6'),
    ];
    const inEffect = new Set(['c0', 'a2']);
    const judged = judgeCommandInputs(records, () => inEffect, () => 6n, [{ topic: 'erp.commands', partition: 0, offset: 4n }]);
    expect(judged.map((j) => [j.record.commandId, j.verdict])).toEqual([
      ['c0', 'applied'],
      ['c0', 'duplicate'],
      // Superseded by a later availability of the same row, which took effect.
      ['a1', 'coalesced'],
      ['a2', 'applied'],
      ['c4', 'dead-lettered'],
      ['c5', 'lost'],
      ['c6', 'unseen'],
    ]);
  });

  it('the last availability of a row must take effect; a repeat of a lost command is lost too', () => {
    const records = [command(0, 'a1', 'SKU@W', 'UpdateAvailability'), command(1, 'a2', 'SKU@W', 'UpdateAvailability'), command(2, 'c'), command(3, 'c')];
    const judged = judgeCommandInputs(records, () => new Set(), () => 10n, []);
    expect(judged.map((j) => j.verdict)).toEqual(['coalesced', 'lost', 'lost', 'lost']);
  });

  it('an undecodable command is unseen before the committed offset moves past it, then lost', () => {
    expect(judgeCommandInputs([command(0, undefined)], () => new Set(), () => 0n, []).map((j) => j.verdict)).toEqual(['unseen']);
    expect(judgeCommandInputs([command(0, undefined)], () => new Set(), () => 1n, []).map((j) => j.verdict)).toEqual(['lost']);
  });
});

describe('duplicated', () => {
  it('idsWithTwoBodies names ids seen with more than one body', () => {
    expect(idsWithTwoBodies([['a', '1'], ['a', '1'], ['b', '1'], ['b', '2'], ['c', '3']])).toEqual(['b']);
  });

  it('appliedTwice names commandIds that took effect more than once', () => {
    expect(appliedTwice(['a', 'b', 'a', 'c', 'a'])).toEqual(['a']);
  });
});

describe('reorderedCommands', () => {
  const topic = [command(0, 'k1-a', 'K1'), command(1, 'k2-a', 'K2'), command(2, 'k1-b', 'K1'), command(3, 'k1-a', 'K1'), command(4, 'k1-c', 'K1')];

  it('accepts a subsequence of the topic order per key (coalescing may skip), keys interleaved freely', () => {
    expect(reorderedCommands(topic, ['k2-a', 'k1-a', 'k1-c'])).toEqual([]);
    expect(reorderedCommands(topic, ['k1-a', 'k1-b', 'k2-a', 'k1-c'])).toEqual([]);
  });

  it('names a command that took effect after a later one of its key; a repeat on the topic keeps its first place', () => {
    expect(reorderedCommands(topic, ['k1-b', 'k1-a', 'k1-c'])).toEqual(['k1-a']);
    expect(reorderedCommands(topic, ['k1-c', 'k1-a', 'k1-b'])).toEqual(['k1-a', 'k1-b']);
  });

  it('compares positions within a partition only (a key lives on one partition)', () => {
    const spread = [command(5, 'x', 'K', 'T', 0), command(1, 'y', 'K', 'T', 1)];
    expect(reorderedCommands(spread, ['x', 'y'])).toEqual([]);
  });
});

describe('ledgerLine', () => {
  it('prints every count', () => {
    const counts = countVerdicts([{ verdict: 'applied' }, { verdict: 'duplicate' }, { verdict: 'coalesced' }, { verdict: 'dead-lettered' }, { verdict: 'applied' }], 0, 0);
    expect(ledgerLine(counts)).toBe('ledger: inputs 5, applied 2, duplicates-skipped 1, coalesced 1, dead-lettered 1, lost 0, unseen 0, duplicated 0, reordered 0');
  });
});
