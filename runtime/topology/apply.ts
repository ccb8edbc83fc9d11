/**
 * `topology apply`: read the actual state, plan (plan.ts), and — unless refused or a dry run —
 * create topics, add partitions, alter configs, set subject compatibility and register schemas,
 * in that order (a schema is registered once its topic exists). Then it re-reads until the
 * cluster and registry show exactly the declared state, so a second apply right after finds
 * nothing to change. Any refusal stops everything before the first write.
 */
import kafkajs, { type Admin } from 'kafkajs';
import { TributaryError } from '../errors';
import { createKafka } from '../kafka/client';
import type { Connection } from '../config/connection';
import { readActualState } from './actual';
import type { Topology } from './model';
import { DestructiveChangeError, isEmpty, planTopology, type Change, type Plan } from './plan';
import { subjectsClient, type SubjectsClient } from './subjects';
import type { SchemaCatalogue } from './validate';

// kafkajs is CommonJS: its enums are reachable through the default export only.
const { ConfigResourceTypes } = kafkajs;

export interface ApplyContext {
  admin: Admin;
  subjects: SubjectsClient;
}

export interface ApplyOptions {
  dryRun?: boolean;
  /** Called with the plan before anything is changed (the CLI prints it here). */
  onPlan?: (plan: Plan) => void;
  /** How long to wait for the cluster to show the applied state. */
  settleMs?: number;
}

export async function planApply(topology: Topology, catalogue: SchemaCatalogue, context: ApplyContext): Promise<Plan> {
  return planTopology(topology, await readActualState(topology, catalogue, context), catalogue);
}

/** Plan and apply. Throws DestructiveChangeError (having changed nothing) when the plan has refusals. */
export async function applyTopology(
  topology: Topology,
  catalogue: SchemaCatalogue,
  context: ApplyContext,
  options: ApplyOptions = {},
): Promise<{ plan: Plan; applied: boolean }> {
  const plan = await planApply(topology, catalogue, context);
  options.onPlan?.(plan);
  if (plan.refusals.length > 0) throw new DestructiveChangeError(plan.refusals);
  if (options.dryRun || isEmpty(plan)) return { plan, applied: false };
  await executePlan(plan, context);
  await settle(topology, catalogue, context, options.settleMs ?? 30_000);
  return { plan, applied: true };
}

export async function executePlan(plan: Plan, { admin, subjects }: ApplyContext): Promise<void> {
  const of = <K extends Change['kind']>(kind: K) => plan.changes.filter((c): c is Extract<Change, { kind: K }> => c.kind === kind);

  const creates = of('create-topic');
  if (creates.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: creates.map((c) => ({
        topic: c.topic,
        numPartitions: c.partitions,
        replicationFactor: c.replicationFactor,
        configEntries: Object.entries(c.config).map(([name, value]) => ({ name, value })),
      })),
    });
  }
  const additions = of('add-partitions');
  if (additions.length > 0) {
    await admin.createPartitions({ topicPartitions: additions.map((c) => ({ topic: c.topic, count: c.to })) });
  }
  for (const change of of('alter-config')) {
    const entries = { ...change.keep, ...Object.fromEntries(Object.entries(change.set).map(([name, { to }]) => [name, to])) };
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: change.topic,
          configEntries: Object.entries(entries).map(([name, value]) => ({ name, value })),
        },
      ],
    });
  }
  for (const change of of('set-compatibility')) await subjects.setCompatibility(change.subject, change.to);
  for (const change of of('register-schema')) await subjects.register(change.subject, change.schema);
}

/** Re-read until nothing is left to change: metadata and configs reach brokers asynchronously. */
async function settle(topology: Topology, catalogue: SchemaCatalogue, context: ApplyContext, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let remaining = await planApply(topology, catalogue, context);
  while (!isEmpty(remaining)) {
    if (Date.now() > deadline) {
      const what = remaining.changes.map((c) => ('topic' in c ? c.topic : c.subject)).join(', ');
      // The writes were accepted; the cluster just has not caught up (infrastructure not ready).
      throw new TributaryError('TRB_STACK_START_FAILED', `applied, but after ${timeoutMs} ms the cluster still differs for ${what}: run apply again`, {
        retriable: true,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
    remaining = await planApply(topology, catalogue, context);
  }
}

/** An admin client and registry client for a connection, closed after `use`. */
export async function withApplyContext<T>(
  connection: Pick<Connection, 'brokers' | 'registryUrl'> & Partial<Pick<Connection, 'security'>>,
  use: (context: ApplyContext) => Promise<T>,
): Promise<T> {
  const admin = createKafka(connection.brokers, 'tributary-topology', {}, { security: connection.security }).admin();
  await admin.connect();
  try {
    return await use({ admin, subjects: subjectsClient(connection.registryUrl) });
  } finally {
    await admin.disconnect();
  }
}
