/** The fault plan of TRIBUTARY_FAULT (runtime/fault.ts): parsing, and which pass of a point fires. */
import { describe, expect, it } from 'vitest';
import { faultPoints, parseFaultPlans } from './fault';

describe('parseFaultPlans', () => {
  it('is empty when unset or blank', () => {
    expect(parseFaultPlans(undefined)).toEqual([]);
    expect(parseFaultPlans('  ')).toEqual([]);
  });

  it('reads point, n and signal, SIGKILL by default, several separated by commas', () => {
    expect(parseFaultPlans('after-apply:3, after-delivery:1:SIGSTOP')).toEqual([
      { point: 'after-apply', nth: 3, signal: 'SIGKILL' },
      { point: 'after-delivery', nth: 1, signal: 'SIGSTOP' },
    ]);
  });

  it.each(['after-apply', 'after-apply:0', 'after-apply:x', 'after-apply:2:SIGTERM', 'After:1', 'after-apply:1,'])('refuses %j with TRB_CONFIG', (raw) => {
    expect(() => parseFaultPlans(raw)).toThrow(expect.objectContaining({ code: 'TRB_CONFIG' }));
  });
});

describe('faultPoints', () => {
  it('raises the planned signal exactly on the n-th pass of its point, counting each point apart', () => {
    const raised: string[] = [];
    const point = faultPoints(parseFaultPlans('after-apply:3,after-delivery:1:SIGSTOP'), (signal) => raised.push(signal));
    point('after-apply');
    point('after-apply');
    expect(raised).toEqual([]);
    point('after-delivery');
    expect(raised).toEqual(['SIGSTOP']);
    point('after-apply');
    expect(raised).toEqual(['SIGSTOP', 'SIGKILL']);
    point('after-apply');
    point('after-delivery');
    expect(raised).toEqual(['SIGSTOP', 'SIGKILL']);
  });

  it('does nothing without plans', () => {
    const point = faultPoints([], () => {
      throw new Error('must not raise');
    });
    expect(() => point('after-apply')).not.toThrow();
  });
});
