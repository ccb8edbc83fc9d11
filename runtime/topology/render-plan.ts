/**
 * A plan for people (a table: action, topic or subject, what changes) and for scripts (JSON
 * without the schema bodies). Refusals come first in both: they are why nothing will happen.
 */
import Table from 'cli-table3';
import { CHANGE_LABELS, type Change, type Plan } from './plan';
import { formatRetention } from './retention';

export const NOTHING_TO_CHANGE = 'nothing to change';

export function renderPlanTable(plan: Plan): string {
  if (plan.changes.length === 0 && plan.refusals.length === 0) {
    return `${NOTHING_TO_CHANGE} (${plan.unchanged.length} topics and subjects as declared)\n`;
  }
  const table = new Table({
    head: ['action', 'topic / subject', 'change'],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [null, null, 90],
  });
  for (const refusal of plan.refusals) table.push(['REFUSED', refusal.resource, refusal.reason]);
  for (const change of plan.changes) table.push([CHANGE_LABELS[change.kind], resourceOf(change), describeChange(change)]);
  const counts = summary(plan);
  return `${table.toString()}\n${counts}\n`;
}

export function renderPlanJson(plan: Plan): string {
  const changes = plan.changes.map((change) => {
    if (change.kind !== 'register-schema') return { action: CHANGE_LABELS[change.kind], ...change };
    const { schema: _schema, ...rest } = change;
    return { action: CHANGE_LABELS[change.kind], ...rest };
  });
  return `${JSON.stringify({ changes, refusals: plan.refusals, unchanged: plan.unchanged }, null, 2)}\n`;
}

export function resourceOf(change: Change): string {
  return change.kind === 'set-compatibility' || change.kind === 'register-schema' ? change.subject : change.topic;
}

export function describeChange(change: Change): string {
  switch (change.kind) {
    case 'create-topic': {
      const policy = change.config['cleanup.policy'] === 'compact' ? 'compacted' : `retention ${formatRetention(Number(change.config['retention.ms']))}`;
      const others = Object.entries(change.config)
        .filter(([name]) => name !== 'cleanup.policy' && name !== 'retention.ms')
        .map(([name, value]) => `${name}=${value}`);
      return [`${change.partitions} partitions`, `replication ${change.replicationFactor}`, policy, ...others].join(', ');
    }
    case 'add-partitions':
      return `${change.from} → ${change.to} partitions (warning: ${change.warning})`;
    case 'alter-config':
      return Object.entries(change.set)
        .map(([name, { from, to }]) => `${name}: ${from ?? '(unset)'} → ${to}`)
        .join(', ');
    case 'set-compatibility':
      return `compatibility ${change.from ?? '(unset)'} → ${change.to}`;
    case 'register-schema':
      return change.after === undefined
        ? `version 1: schema ${change.schemaName} (new subject)`
        : `new version after ${change.after}: schema ${change.schemaName} (compatible at the declared level)`;
  }
}

function summary(plan: Plan): string {
  const counts = new Map<string, number>();
  for (const change of plan.changes) counts.set(CHANGE_LABELS[change.kind], (counts.get(CHANGE_LABELS[change.kind]) ?? 0) + 1);
  const parts = [...counts].map(([label, n]) => `${n} ${label}`);
  if (plan.refusals.length > 0) parts.unshift(`${plan.refusals.length} refused`);
  parts.push(`${plan.unchanged.length} unchanged`);
  return parts.join(', ');
}
