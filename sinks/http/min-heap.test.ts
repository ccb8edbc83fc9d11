import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MinHeap } from './min-heap';

describe('MinHeap', () => {
  it('property: pops what was pushed in ascending order, interleaved pushes and pops included', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: -50, max: 50 }), fc.constant<'pop'>('pop')), { maxLength: 200, size: 'max' }), (ops) => {
        const heap = new MinHeap<number>((a, b) => a < b);
        const reference: number[] = [];
        for (const op of ops) {
          if (op === 'pop') {
            reference.sort((a, b) => a - b);
            expect(heap.pop()).toBe(reference.shift());
          } else {
            heap.push(op);
            reference.push(op);
          }
          expect(heap.size).toBe(reference.length);
        }
        reference.sort((a, b) => a - b);
        expect(heap.peek()).toBe(reference[0]);
        const rest: number[] = [];
        for (let next = heap.pop(); next !== undefined; next = heap.pop()) rest.push(next);
        expect(rest).toEqual(reference);
      }),
    );
  });
});
