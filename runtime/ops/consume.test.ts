import { describe, expect, it } from 'vitest';
import { TributaryError } from '../errors';
import {
  Columns,
  consumedRecord,
  csvCell,
  csvLine,
  csvRow,
  flatten,
  headerText,
  matchesAll,
  parseFrom,
  parseLimit,
  parsePartitions,
  parseWhere,
  startOffset,
  CONSUME_FALLBACKS,
} from './consume';

const NOW = Date.parse('2026-11-20T12:00:00Z');

function usage(run: () => unknown): TributaryError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TributaryError);
    expect((error as TributaryError).code).toBe('TRB_USAGE');
    return error as TributaryError;
  }
  throw new Error('expected a usage error');
}

describe('parseFrom', () => {
  it.each([
    ['beginning', { kind: 'beginning' }],
    ['start', { kind: 'beginning' }],
    ['oldest', { kind: 'beginning' }],
    ['end', { kind: 'end' }],
    ['newest', { kind: 'end' }],
    ['42', { kind: 'offset', offset: 42n }],
    ['+42', { kind: 'offset', offset: 42n }],
    ['0', { kind: 'offset', offset: 0n }],
    ['-10', { kind: 'tail', count: 10n }],
    ['@2026-11-20T10:00:00Z', { kind: 'timestamp', ms: Date.parse('2026-11-20T10:00:00Z') }],
    ['@2026-11-20T10:00:00.250+01:00', { kind: 'timestamp', ms: Date.parse('2026-11-20T09:00:00.250Z') }],
    ['@2026-11-20', { kind: 'timestamp', ms: Date.parse('2026-11-20T00:00:00Z') }],
    ['@1763632800000', { kind: 'timestamp', ms: 1763632800000 }],
    ['@-1h', { kind: 'timestamp', ms: NOW - 3_600_000 }],
    ['@-1h30m', { kind: 'timestamp', ms: NOW - 5_400_000 }],
    ['@-2d', { kind: 'timestamp', ms: NOW - 2 * 86_400_000 }],
    ['@-500ms', { kind: 'timestamp', ms: NOW - 500 }],
  ])('%s', (text, spec) => {
    expect(parseFrom(text, NOW)).toEqual(spec);
  });

  it.each(['', 'yesterday', '@', '@-1y', '@-h', '@2026-13-45T99:00:00Z', '@2026-11-20T10:00:00', '1.5', '--3', 'end-1'])('refuses %j as a usage error naming the shapes', (text) => {
    expect(usage(() => parseFrom(text, NOW)).message).toContain('@-1h');
  });
});

describe('startOffset', () => {
  const bounds = { low: 10n, high: 50n };
  it('beginning is the low offset and end the end offset', () => {
    expect(startOffset({ kind: 'beginning' }, bounds)).toBe(10n);
    expect(startOffset({ kind: 'end' }, bounds)).toBe(50n);
  });
  it('an offset is clamped into [low, end]', () => {
    expect(startOffset({ kind: 'offset', offset: 20n }, bounds)).toBe(20n);
    expect(startOffset({ kind: 'offset', offset: 3n }, bounds)).toBe(10n);
    expect(startOffset({ kind: 'offset', offset: 99n }, bounds)).toBe(50n);
  });
  it('-N is the last N records, never before low', () => {
    expect(startOffset({ kind: 'tail', count: 5n }, bounds)).toBe(45n);
    expect(startOffset({ kind: 'tail', count: 500n }, bounds)).toBe(10n);
    expect(startOffset({ kind: 'tail', count: 0n }, bounds)).toBe(50n);
  });
  it('a timestamp takes the broker\'s offset, or the end when there is none', () => {
    expect(startOffset({ kind: 'timestamp', ms: 1 }, bounds, 30n)).toBe(30n);
    expect(startOffset({ kind: 'timestamp', ms: 1 }, bounds)).toBe(50n);
  });
});

describe('parsePartitions and parseLimit', () => {
  it('joins lists, sorts, drops repeats', () => {
    expect(parsePartitions(['3,1', '1', ' 0 '], [0, 1, 2, 3])).toEqual([0, 1, 3]);
  });
  it('refuses a partition the topic lacks, naming those it has', () => {
    expect(usage(() => parsePartitions(['7'], [2, 0, 1])).message).toContain('partitions 0, 1, 2');
  });
  it('refuses what is not a number', () => {
    usage(() => parsePartitions(['a'], [0]));
    usage(() => parsePartitions(['1,,2'], [0, 1, 2]));
  });
  it('--limit is a positive whole number', () => {
    expect(parseLimit('25')).toBe(25);
    for (const bad of ['0', '-1', '2.5', 'ten', '']) usage(() => parseLimit(bad));
  });
});

describe('--where', () => {
  const record = {
    topic: 't',
    partition: 3,
    offset: 17,
    key: 'SO-1',
    headers: { ce_type: 'order.created', 'tributary.redrive.from': 'x.dlq/0/4' },
    value: {
      orderId: 'SO-1',
      requestedShipDate: null,
      customer: { id: 'C-9', tier: { name: 'gold' } },
      lines: [
        { lineNo: 1, sku: 'SKU-1', quantity: 3 },
        { lineNo: 2, sku: 'SKU-2', quantity: 5 },
      ],
    },
  };
  const where = (...conditions: string[]) => matchesAll(record, conditions.map(parseWhere), CONSUME_FALLBACKS);

  it('parses = and !=, keeping = inside the value', () => {
    expect(parseWhere('a.b=c=d')).toEqual({ path: ['a', 'b'], op: '=', value: 'c=d', text: 'a.b=c=d' });
    expect(parseWhere('a!=')).toEqual({ path: ['a'], op: '!=', value: '', text: 'a!=' });
  });
  it.each(['novalue', '=x', '.a=1', 'a..b=1', 'a.=1'])('refuses %j', (text) => {
    usage(() => parseWhere(text));
  });

  it('top-level fields resolve from the record, compared as text', () => {
    expect(where('partition=3')).toBe(true);
    expect(where('partition=03')).toBe(false);
    expect(where('key=SO-1', 'offset=17')).toBe(true);
    expect(where('key=SO-1', 'offset=18')).toBe(false);
  });
  it('other first segments look inside value', () => {
    expect(where('orderId=SO-1')).toBe(true);
    expect(where('customer.tier.name=gold')).toBe(true);
    expect(where('value.customer.id=C-9')).toBe(true);
  });
  it('an array without an index matches when any element does; an index picks one', () => {
    expect(where('lines.sku=SKU-2')).toBe(true);
    expect(where('lines.sku=SKU-3')).toBe(false);
    expect(where('lines.0.sku=SKU-1')).toBe(true);
    expect(where('lines.0.sku=SKU-2')).toBe(false);
    expect(where('lines.5.sku=SKU-1')).toBe(false);
    expect(where('lines.quantity=5')).toBe(true);
  });
  it('!= holds when no reached value equals, and for missing paths', () => {
    expect(where('lines.sku!=SKU-3')).toBe(true);
    expect(where('lines.sku!=SKU-1')).toBe(false);
    expect(where('nosuch!=x')).toBe(true);
    expect(where('nosuch=x')).toBe(false);
  });
  it('null matches "null"; header names with dots are reached whole', () => {
    expect(where('requestedShipDate=null')).toBe(true);
    expect(where('headers.tributary.redrive.from=x.dlq/0/4')).toBe(true);
    expect(where('headers.ce_type=order.created')).toBe(true);
  });
});

describe('flatten and CSV', () => {
  it('flattens nested objects into dotted columns, arrays into one JSON cell, null into empty', () => {
    const cells = flatten({ a: 1, b: { c: 'x', d: { e: true } }, lines: [{ sku: 'S' }], n: null, empty: {} });
    expect([...cells]).toEqual([
      ['a', '1'],
      ['b.c', 'x'],
      ['b.d.e', 'true'],
      ['lines', '[{"sku":"S"}]'],
      ['n', ''],
      ['empty', '{}'],
    ]);
  });
  it('quotes cells per RFC 4180 and ends lines with CRLF', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvLine(['a', 'b,c', ''])).toBe('a,"b,c",\r\n');
  });
  it('a row follows the header\'s columns, empty where the record lacks one', () => {
    const columns = new Columns(['x']);
    expect(columns.add(['y', 'x', 'z'])).toEqual(['y', 'z']);
    expect(csvRow(columns.list(), new Map([['z', '3'], ['x', '1']]))).toBe('1,,3\r\n');
  });
});

describe('consumedRecord', () => {
  it('has the printed shape: numeric offset, ISO timestamp, UTF-8 key and headers', () => {
    const record = consumedRecord(
      'order.created',
      2,
      { key: Buffer.from('SO-1'), value: Buffer.from([0]), headers: { a: Buffer.from('x'), b: 'y', twice: [Buffer.from('1'), Buffer.from('2')], gone: undefined }, offset: '41', timestamp: '1763632800000' },
      { schemaId: 7, value: { orderId: 'SO-1' } },
    );
    expect(record).toEqual({
      topic: 'order.created',
      partition: 2,
      offset: 41,
      timestamp: '2025-11-20T10:00:00.000Z',
      key: 'SO-1',
      headers: { a: 'x', b: 'y', twice: ['1', '2'] },
      schemaId: 7,
      value: { orderId: 'SO-1' },
    });
  });
  it('a null key stays null; a one-element header array is its text', () => {
    expect(headerText({ h: [Buffer.from('v')] })).toEqual({ h: 'v' });
    expect(consumedRecord('t', 0, { key: null, value: null, offset: '0', timestamp: '0' }, { schemaId: 1, value: null }).key).toBeNull();
  });
});
