/**
 * A kafkajs partition assigner for co-partitioned inputs: partition p of EVERY input topic goes to
 * the same member. A processor keeps one state per partition number across its inputs (orders:
 * order.created and shipment.confirmed of partition 3 fold into the same orders), so splitting
 * p of one topic from p of another — which kafkajs' round-robin assigner does whenever the
 * member count does not divide the partitions — makes two instances fight over one state
 * (correct thanks to the watermark fencing, but a storm of fenced batches). Kafka Streams
 * assigns tasks by partition number for the same reason.
 */
import kafkajs, { type PartitionAssigner } from 'kafkajs';

const { AssignerProtocol } = kafkajs;

/** Member id → topic → partitions: partition numbers dealt round-robin over the sorted members. */
export function copartitionedAssignment(memberIds: readonly string[], partitionsByTopic: Readonly<Record<string, readonly number[]>>): Record<string, Record<string, number[]>> {
  const members = [...memberIds].sort();
  const assignment: Record<string, Record<string, number[]>> = {};
  if (members.length === 0) return assignment;
  const numbers = [...new Set(Object.values(partitionsByTopic).flat())].sort((a, b) => a - b);
  numbers.forEach((p, i) => {
    const member = members[i % members.length] as string;
    const mine = (assignment[member] ??= {});
    for (const [topic, partitions] of Object.entries(partitionsByTopic)) {
      if (partitions.includes(p)) (mine[topic] ??= []).push(p);
    }
  });
  return assignment;
}

export const COPARTITIONED = 'TributaryCopartitioned';

export const copartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: COPARTITIONED,
  version: 1,
  async assign({ members, topics }) {
    const partitionsByTopic: Record<string, number[]> = {};
    for (const topic of topics) partitionsByTopic[topic] = cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId);
    const assignment = copartitionedAssignment(members.map((m) => m.memberId), partitionsByTopic);
    return members.map(({ memberId }) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: assignment[memberId] ?? {}, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: COPARTITIONED, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
  },
});
