/**
 * The plan and the progress of `tributary rebuild` (SPEC §9), pure so they are tested without a
 * stack; runtime/cli/commands/rebuild.ts fetches the facts and writes the requests
 * (runtime/redis/rebuild-marks.ts).
 *
 * Scope: rebuilding a processor changes what it emits, so every processor downstream of it (one
 * whose `upstream` names it, transitively) must catch up again before it serves: those are the
 * dependants. `all` rebuilds every processor, upstream ones first.
 */
import { UsageError } from '../errors';
import { CATCHUP_FIELD, EPOCH_FIELD, topicsOf } from '../redis/keys';

export interface ProcessorNode {
  name: string;
  upstream: readonly string[];
}

export interface RebuildScope {
  /** Processors whose partitions are wiped and replayed, upstream first. */
  targets: string[];
  /** Processors that must catch up again because an upstream is rebuilt. */
  dependants: string[];
}

/** Processors ordered so that each comes after its upstream ones (the declaration order otherwise). */
function upstreamFirst(nodes: readonly ProcessorNode[]): string[] {
  const ordered: string[] = [];
  const visit = (name: string, path: string[]) => {
    if (ordered.includes(name)) return;
    if (path.includes(name)) throw new TypeError(`processors depend on each other in a cycle: ${[...path, name].join(' → ')}`);
    for (const up of nodes.find((n) => n.name === name)?.upstream ?? []) visit(up, [...path, name]);
    ordered.push(name);
  };
  for (const node of nodes) visit(node.name, []);
  return ordered.filter((name) => nodes.some((n) => n.name === name));
}

export function rebuildScope(nodes: readonly ProcessorNode[], chosen: string): RebuildScope {
  const order = upstreamFirst(nodes);
  if (chosen === 'all') return { targets: order, dependants: [] };
  if (!nodes.some((n) => n.name === chosen)) {
    throw new UsageError(`"${chosen}" is not a processor; choose one of: ${order.join(', ')}, or all`);
  }
  const downstream = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const node of nodes) {
      if (node.name === chosen || downstream.has(node.name)) continue;
      if (node.upstream.some((up) => up === chosen || downstream.has(up))) {
        downstream.add(node.name);
        grew = true;
      }
    }
  }
  return { targets: [chosen], dependants: order.filter((name) => downstream.has(name)) };
}

/** Offsets of one input topic on one partition. */
export interface InputOffsets {
  low: bigint;
  high: bigint;
}

export interface PartitionProgress {
  partition: number;
  /** Rebuilt (or caught up again) and serving. */
  done: boolean;
  /** Records applied since the log start, and the records there are (log start → end). */
  applied: number;
  total: number;
}

/**
 * One partition's progress from its watermark hash: done when it is stamped with the processor's
 * current epoch and no longer catching up (the rebuild's `@catchup` mark is cleared only by an
 * instance that replayed the partition to its end and found its upstream settled).
 */
export function partitionProgress(partition: number, epoch: string | null, stamp: Readonly<Record<string, string>>, inputs: ReadonlyMap<string, InputOffsets>): PartitionProgress {
  const watermarks = topicsOf(stamp);
  let applied = 0n;
  let total = 0n;
  for (const [topic, { low, high }] of inputs) {
    total += high > low ? high - low : 0n;
    const at = watermarks[topic];
    if (at === undefined) continue;
    const next = BigInt(at) + 1n;
    const upTo = next < high ? next : high;
    if (upTo > low) applied += upTo - low;
  }
  const done = epoch !== null && stamp[EPOCH_FIELD] === epoch && stamp[CATCHUP_FIELD] === undefined;
  return { partition, done, applied: Number(applied), total: Number(total) };
}

/** "orders 3/6 partitions, 41,200 of 60,000 records (69%)" */
export function describeProgress(processor: string, partitions: readonly PartitionProgress[]): string {
  const done = partitions.filter((p) => p.done).length;
  const applied = partitions.reduce((sum, p) => sum + (p.done ? p.total : Math.min(p.applied, p.total)), 0);
  const total = partitions.reduce((sum, p) => sum + p.total, 0);
  const percent = total === 0 ? 100 : Math.floor((applied * 100) / total);
  return `${processor} ${done}/${partitions.length} partitions, ${applied.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} records (${percent}%)`;
}
