import { describe, expect, it } from 'vitest';
import { TributaryError } from '../errors';
import { describeProgress, partitionProgress, rebuildScope, type ProcessorNode } from './rebuild';

const NODES: ProcessorNode[] = [
  { name: 'atp', upstream: ['orders'] },
  { name: 'orders', upstream: [] },
  { name: 'customers', upstream: [] },
  { name: 'report', upstream: ['atp'] },
];

describe('rebuildScope', () => {
  it('all: every processor, each after the ones it reads from', () => {
    const { targets, dependants } = rebuildScope(NODES, 'all');
    expect(dependants).toEqual([]);
    expect(new Set(targets)).toEqual(new Set(['orders', 'atp', 'customers', 'report']));
    expect(targets.indexOf('orders')).toBeLessThan(targets.indexOf('atp'));
    expect(targets.indexOf('atp')).toBeLessThan(targets.indexOf('report'));
  });

  it('one processor: it, and everything downstream of it must catch up again', () => {
    expect(rebuildScope(NODES, 'orders')).toEqual({ targets: ['orders'], dependants: ['atp', 'report'] });
    expect(rebuildScope(NODES, 'atp')).toEqual({ targets: ['atp'], dependants: ['report'] });
    expect(rebuildScope(NODES, 'customers')).toEqual({ targets: ['customers'], dependants: [] });
  });

  it('an unknown name is a usage error listing the choices', () => {
    expect(() => rebuildScope(NODES, 'erp')).toThrow(TributaryError);
    expect(() => rebuildScope(NODES, 'erp')).toThrow(/not a processor; choose one of: .*orders.*, or all/);
  });
});

describe('partitionProgress', () => {
  const inputs = new Map([
    ['order.created', { low: 0n, high: 100n }],
    ['pick.confirmed', { low: 10n, high: 30n }],
  ]);

  it('counts applied records from the watermarks, per input', () => {
    const progress = partitionProgress(2, 'E1', { '@epoch': 'E1', '@catchup': '{"order.created":"100"}', 'order.created': '49', 'pick.confirmed': '9' }, inputs);
    expect(progress).toEqual({ partition: 2, done: false, applied: 50, total: 120 });
  });

  it('is done only when stamped with the current epoch and no longer catching up', () => {
    const caughtUp = { '@epoch': 'E1', 'order.created': '99', 'pick.confirmed': '29' };
    expect(partitionProgress(0, 'E1', caughtUp, inputs).done).toBe(true);
    expect(partitionProgress(0, 'E2', caughtUp, inputs).done).toBe(false);
    expect(partitionProgress(0, 'E1', { ...caughtUp, '@catchup': '{}' }, inputs).done).toBe(false);
    expect(partitionProgress(0, 'E1', {}, inputs)).toEqual({ partition: 0, done: false, applied: 0, total: 120 });
    expect(partitionProgress(0, null, {}, new Map()).done).toBe(false);
  });

  it('describes a processor in one line', () => {
    const line = describeProgress('orders', [
      { partition: 0, done: true, applied: 10, total: 1000 },
      { partition: 1, done: false, applied: 500, total: 1000 },
    ]);
    expect(line).toBe('orders 1/2 partitions, 1,500 of 2,000 records (75%)');
  });
});
