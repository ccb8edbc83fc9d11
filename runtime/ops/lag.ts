/**
 * Consumer lag (SPEC §9 `tributary lag`): from a group's committed offsets and the topics' end
 * offsets, one row per group/topic/partition and a total per group. Pure, so the arithmetic is
 * tested without a broker; runtime/cli/commands/lag.ts fetches the offsets.
 */

/** Offsets by topic, then by partition. */
export type OffsetsByTopic = ReadonlyMap<string, ReadonlyMap<number, number>>;

export interface GroupOffsets {
  group: string;
  /** Topics the group reads: those it committed on, and the ones the topology gives it. */
  topics: readonly string[];
  /** Committed offsets; a partition missing here has never been committed. */
  committed: OffsetsByTopic;
}

export interface LagRow {
  group: string;
  topic: string;
  partition: number;
  /** null: the group never committed on this partition, so it has consumed nothing of it. */
  committed: number | null;
  end: number;
  lag: number;
}

export interface GroupTotal {
  group: string;
  lag: number;
}

/**
 * Rows sorted by group, topic, partition. A topic with no end offsets (not in Kafka) gives no
 * rows. A committed offset past the end (the topic was recreated) counts as no lag rather
 * than a negative one.
 */
export function lagRows(groups: readonly GroupOffsets[], ends: OffsetsByTopic): LagRow[] {
  const rows: LagRow[] = [];
  for (const { group, topics, committed } of groups) {
    for (const topic of new Set(topics)) {
      const partitions = ends.get(topic);
      if (!partitions) continue;
      for (const [partition, end] of partitions) {
        const at = committed.get(topic)?.get(partition);
        const done = at === undefined ? null : at;
        rows.push({ group, topic, partition, committed: done, end, lag: Math.max(0, end - (done ?? 0)) });
      }
    }
  }
  return rows.sort(
    (a, b) => compare(a.group, b.group) || compare(a.topic, b.topic) || a.partition - b.partition,
  );
}

/** The lag of each group over all its rows, in the rows' group order. */
export function groupTotals(rows: readonly LagRow[]): GroupTotal[] {
  const totals = new Map<string, number>();
  for (const row of rows) totals.set(row.group, (totals.get(row.group) ?? 0) + row.lag);
  return [...totals].map(([group, lag]) => ({ group, lag }));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
