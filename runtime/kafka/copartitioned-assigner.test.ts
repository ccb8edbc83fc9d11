/** Partition p of every input goes to one member, whatever the member count. */
import { describe, expect, it } from 'vitest';
import { copartitionedAssignment } from './copartitioned-assigner';

const six = [0, 1, 2, 3, 4, 5];

describe('copartitionedAssignment', () => {
  it('gives each member the same partition numbers on every topic, with 4 members for 6 partitions', () => {
    const assignment = copartitionedAssignment(['m-b', 'm-d', 'm-a', 'm-c'], { 'order.created': six, 'order.changed': six, 'shipment.confirmed': six });
    expect(assignment).toEqual({
      'm-a': { 'order.created': [0, 4], 'order.changed': [0, 4], 'shipment.confirmed': [0, 4] },
      'm-b': { 'order.created': [1, 5], 'order.changed': [1, 5], 'shipment.confirmed': [1, 5] },
      'm-c': { 'order.created': [2], 'order.changed': [2], 'shipment.confirmed': [2] },
      'm-d': { 'order.created': [3], 'order.changed': [3], 'shipment.confirmed': [3] },
    });
  });

  it('covers every topic-partition exactly once', () => {
    const topics = { a: six, b: six };
    for (const n of [1, 2, 3, 5, 7]) {
      const members = Array.from({ length: n }, (_, i) => `m${i}`);
      const all = Object.values(copartitionedAssignment(members, topics)).flatMap((byTopic) => Object.entries(byTopic).flatMap(([t, ps]) => ps.map((p) => `${t}:${p}`)));
      expect(all.sort()).toEqual(['a', 'b'].flatMap((t) => six.map((p) => `${t}:${p}`)).sort());
    }
  });

  it('assigns a partition only on the topics that have it', () => {
    expect(copartitionedAssignment(['x'], { a: [0, 1], b: [0] })).toEqual({ x: { a: [0, 1], b: [0] } });
  });
});
