/** Failure plans: validation naming the field, and the fate drawn from given random numbers. */
import { describe, expect, it } from 'vitest';
import { checkFailurePlan, drawFate, InvalidFailurePlanError, type FailurePlan } from './failure-plan';
import { seededRandom } from './prng';

/** A "PRNG" that returns the given numbers in turn, and counts how many were taken. */
function scripted(...values: number[]) {
  const taken: number[] = [];
  const next = () => {
    const value = values[taken.length];
    if (value === undefined) throw new Error('ran out of scripted numbers');
    taken.push(value);
    return value;
  };
  return { next, taken };
}

describe('checkFailurePlan', () => {
  it('accepts a full plan and returns a copy', () => {
    const plan: FailurePlan = { errorRate: 0.2, rate429: 0.1, retryAfterSeconds: 3, slowRate: 0.05, slowMs: 250, reject: { RejectOrder: 422 }, seed: 7 };
    const checked = checkFailurePlan(plan);
    expect(checked).toEqual(plan);
    expect(checked).not.toBe(plan);
    expect(checkFailurePlan({})).toEqual({});
  });

  it.each([
    [null, '(plan)'],
    [[1], '(plan)'],
    [{ errorrate: 0.1 }, 'errorrate'],
    [{ errorRate: -0.1 }, 'errorRate'],
    [{ errorRate: 1.01 }, 'errorRate'],
    [{ errorRate: '0.2' }, 'errorRate'],
    [{ errorRate: 0.7, rate429: 0.4 }, 'rate429'],
    [{ slowRate: Number.NaN }, 'slowRate'],
    [{ retryAfterSeconds: 1.5 }, 'retryAfterSeconds'],
    [{ slowMs: -1 }, 'slowMs'],
    [{ seed: 0.5 }, 'seed'],
    [{ reject: ['RejectOrder'] }, 'reject'],
    [{ reject: { RejectOrder: 500 } }, 'reject.RejectOrder'],
  ])('refuses %j naming %s', (plan, field) => {
    let caught: unknown;
    try {
      checkFailurePlan(plan);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidFailurePlanError);
    expect((caught as InvalidFailurePlanError).field).toBe(field);
  });
});

describe('drawFate', () => {
  const plan: FailurePlan = { errorRate: 0.2, rate429: 0.3, slowRate: 0.5, slowMs: 100 };

  it.each([
    // [failure draw, slowness draw] -> fate; 500 below 0.2, 429 in [0.2, 0.5), slow below 0.5
    [0.0, 0.9, { status: 500, delayMs: 0 }],
    [0.19, 0.49, { status: 500, delayMs: 100 }],
    [0.2, 0.5, { status: 429, delayMs: 0 }],
    [0.49, 0.1, { status: 429, delayMs: 100 }],
    [0.5, 0.99, { status: null, delayMs: 0 }],
  ])('failure draw %d, slowness draw %d', (failure, slowness, fate) => {
    expect(drawFate(plan, scripted(failure, slowness).next)).toEqual(fate);
  });

  it('takes exactly two numbers whatever the plan, so a seeded sequence stays aligned', () => {
    for (const any of [{}, plan, { errorRate: 1 }]) {
      const random = scripted(0.1, 0.1, 0.9);
      drawFate(any, random.next);
      expect(random.taken).toHaveLength(2);
    }
  });

  it('uses the default slowMs of 3000 and never fails with an empty plan', () => {
    expect(drawFate({ slowRate: 1 }, scripted(0.5, 0.5).next).delayMs).toBe(3000);
    const random = seededRandom(1);
    for (let i = 0; i < 1000; i++) expect(drawFate({}, random)).toEqual({ status: null, delayMs: 0 });
  });
});
