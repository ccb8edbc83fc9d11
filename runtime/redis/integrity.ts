/**
 * Lost-state detection (issue 4: "never serve silently wrong data"), as a pure judgement of what
 * Redis holds for one partition against what Kafka says the consumer group already consumed.
 *
 * The runtime applies a batch to Redis before it commits the batch's offsets, so for every input
 * topic the Redis watermark (last applied offset) is at least the committed offset − 1. Hence:
 *  - `fresh`:  nothing in Redis, nothing committed: a new processor, start from the beginning;
 *  - `ok`:     Redis is at or ahead of the commits; resume from the Redis watermarks;
 *  - `behind`: Redis has this epoch's state but older than the commits (restored from an older
 *              snapshot, lost writes): still correct if the runtime resumes from the Redis
 *              watermarks instead of the commits, which re-reads what Redis lost;
 *  - `lost`:   the group consumed records whose effect Redis does not hold (flushed, replaced,
 *              keys deleted, or a partition from another epoch): refuse or rebuild.
 * A committed offset of 0 or less (kafkajs reports "-1" for none) means nothing was consumed.
 */
import { EPOCH_FIELD, topicsOf } from './keys';

export type IntegrityStatus = 'fresh' | 'ok' | 'behind' | 'lost';

export interface IntegrityReport {
  status: IntegrityStatus;
  partition: number;
  /** One line for logs and the CLI: what was found and what the runtime should do. */
  detail: string;
  /** The Redis watermarks of the partition (without the epoch field). */
  watermarks: Record<string, string>;
}

export interface IntegrityFacts {
  processor: string;
  partition: number;
  /** Processor epoch (trb:{p}:epoch), null if absent. */
  epoch: string | null;
  /** The partition's watermark hash as stored (topic → offset, and the epoch field). */
  stored: Readonly<Record<string, string>>;
  /** Consumer group committed offsets per input topic for this partition (null / "-1" = none). */
  committed: Readonly<Record<string, string | null | undefined>>;
}

function consumed(offset: string | null | undefined): bigint | null {
  if (offset === null || offset === undefined || offset === '') return null;
  const value = BigInt(offset);
  return value > 0n ? value : null;
}

export function judgeIntegrity(facts: IntegrityFacts): IntegrityReport {
  const { processor, partition } = facts;
  const partitionEpoch = facts.stored[EPOCH_FIELD];
  const watermarks = topicsOf(facts.stored);
  const where = `${processor} partition ${partition}`;
  const report = (status: IntegrityStatus, detail: string): IntegrityReport => ({ status, partition, detail, watermarks });
  const committed = Object.entries(facts.committed)
    .map(([topic, offset]) => [topic, consumed(offset)] as const)
    .filter((entry): entry is readonly [string, bigint] => entry[1] !== null);
  const rebuild = 'rebuild the state (wipe and replay the inputs) or refuse to serve it';

  if (partitionEpoch === undefined && Object.keys(watermarks).length === 0) {
    if (committed.length === 0) return report('fresh', `${where}: no state and no committed offsets; starting from the beginning`);
    const topics = committed.map(([topic, offset]) => `${topic}@${offset}`).join(', ');
    return report('lost', `${where}: the consumer group committed ${topics} but Redis holds no state for it (flushed or replaced); ${rebuild}`);
  }
  if (partitionEpoch !== facts.epoch) {
    const now = facts.epoch === null ? 'no processor epoch' : `processor epoch ${facts.epoch}`;
    return report('lost', `${where}: state belongs to epoch ${partitionEpoch ?? '(none)'} but Redis has ${now}; ${rebuild}`);
  }
  const behind: string[] = [];
  for (const [topic, offset] of committed) {
    const applied = watermarks[topic];
    if (applied === undefined) {
      return report('lost', `${where}: the consumer group committed ${topic}@${offset} but Redis has no watermark for ${topic}; ${rebuild}`);
    }
    if (BigInt(applied) + 1n < offset) behind.push(`${topic} applied ${applied}, committed ${offset}`);
  }
  if (behind.length > 0) {
    return report('behind', `${where}: Redis is older than the committed offsets (${behind.join('; ')}); resume from the Redis watermarks`);
  }
  return report('ok', `${where}: state matches the committed offsets`);
}
