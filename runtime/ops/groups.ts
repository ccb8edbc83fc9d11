/**
 * Consumer groups as the operations commands see them: which group a name means (a component of
 * the topology such as `erp`, or a group id), and who is in it right now. Offsets may only be moved
 * under an empty group; `rebuild` decides from the members whether running instances replay.
 */
import type { Admin } from 'kafkajs';
import { TributaryError } from '../errors';
import type { Topology } from '../topology/model';

export interface GroupMember {
  memberId: string;
  clientId: string;
  host: string;
}

export interface ResolvedGroup {
  group: string;
  /** The processor or sink of the topology that consumes as this group, if any. */
  component?: { kind: 'processor' | 'sink'; name: string; inputs: string[] };
}

/** `erp` → the erp sink's group; a group id → itself (with its component when the topology has one). */
export function resolveGroup(name: string, topology: Topology): ResolvedGroup {
  for (const processor of topology.processors) {
    if (name === processor.name || name === processor.group) return { group: processor.group, component: { kind: 'processor', name: processor.name, inputs: [...processor.inputs] } };
  }
  for (const sink of topology.sinks) {
    if (name === sink.name || name === sink.group) return { group: sink.group, component: { kind: 'sink', name: sink.name, inputs: [sink.input] } };
  }
  return { group: name };
}

export async function liveMembers(admin: Admin, group: string): Promise<GroupMember[]> {
  const { groups } = await admin.describeGroups([group]);
  const described = groups.find((g) => g.groupId === group);
  if (!described || described.state === 'Dead' || described.state === 'Empty') return [];
  return described.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, host: m.clientHost.replace(/^\//, '') }));
}

/** Throws TRB_GROUP_ACTIVE naming the members and how to stop them. */
export function refuseWhileLive(group: string, members: readonly GroupMember[], what: string): void {
  if (members.length === 0) return;
  const who = members.map((m) => `${m.clientId} on ${m.host}`).join(', ');
  throw new TributaryError(
    'TRB_GROUP_ACTIVE',
    `group ${group} has ${members.length} live member${members.length === 1 ? '' : 's'} (${who}): stop them (SIGTERM the \`tributary run\`/\`up\` processes), then ${what}; a member that was killed leaves after its session timeout (KAFKA_SESSION_TIMEOUT_MS, 10 s)`,
  );
}
