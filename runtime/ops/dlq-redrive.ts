/**
 * `tributary dlq redrive` (SPEC §8, §9), the pure parts: the record sent back for a dead letter,
 * and the plan (what would be, or was, sent where).
 *
 * A re-driven record is the original: its key, value bytes and headers as fromDeadLetterMessage
 * restores them, to its `tributary.source.topic`, keyed as before so the Java-compatible murmur2
 * partitioner (the SDK's) puts it on the partition it came from; a record without a key goes to
 * its source partition explicitly. One header is added, `tributary.redrive.from:
 * <dlq>/<partition>/<offset>`, saying where it came back from. It is not a reserved name in
 * runtime/dlq.ts, so if the record is dead-lettered again it travels as an ordinary original
 * header, and the next redrive replaces it with the newer position.
 */
import type { Message } from 'kafkajs';
import type { DeadLetter } from '../dlq';

export const REDRIVE_FROM_HEADER = 'tributary.redrive.from';

export function redriveMessage(letter: DeadLetter, dlq: string, partition: number, offset: string): { topic: string; message: Message } {
  const headers = { ...letter.headers, [REDRIVE_FROM_HEADER]: `${dlq}/${partition}/${offset}` };
  const message: Message = { key: letter.key, value: letter.value, headers };
  if (letter.key === null) message.partition = letter.partition;
  return { topic: letter.topic, message };
}

export interface RedrivePlan {
  dlq: string;
  execute: boolean;
  /** Records read from the DLQ. */
  considered: number;
  /** What is (or was) re-sent, by target topic and error code. */
  selected: { topic: string; code: string; records: number }[];
  total: number;
  /** Records sent (execute) — equals total unless the run stopped early. */
  sent: number;
  /** Re-driven by an earlier run and so left alone (without --all). */
  alreadyRedriven: number;
  /** Selected although an earlier run re-drove them (--all). */
  again: number;
  notMatching: number;
  /** Records without dead-letter headers: nothing says where they came from. */
  notDeadLetters: number;
  /** Dead letters whose source topic is not in Kafka. */
  missingTopics: { topic: string; records: number }[];
  /** Why a run ended before considering every record, if it did. */
  stopped?: string;
}

export class PlanBuilder {
  private readonly selected = new Map<string, { topic: string; code: string; records: number }>();
  private readonly missing = new Map<string, number>();
  private plan: Omit<RedrivePlan, 'selected' | 'total' | 'missingTopics'>;

  constructor(dlq: string, execute: boolean) {
    this.plan = { dlq, execute, considered: 0, sent: 0, alreadyRedriven: 0, again: 0, notMatching: 0, notDeadLetters: 0 };
  }

  considered(): void {
    this.plan.considered++;
  }

  alreadyRedriven(count = 1): void {
    this.plan.alreadyRedriven += count;
  }

  again(): void {
    this.plan.again++;
  }

  notMatching(): void {
    this.plan.notMatching++;
  }

  notDeadLetter(): void {
    this.plan.notDeadLetters++;
  }

  missingTopic(topic: string): void {
    this.missing.set(topic, (this.missing.get(topic) ?? 0) + 1);
  }

  select(topic: string, code: string): void {
    const key = `${topic}\u0000${code}`;
    const line = this.selected.get(key) ?? { topic, code, records: 0 };
    line.records++;
    this.selected.set(key, line);
  }

  sent(count: number): void {
    this.plan.sent += count;
  }

  stop(reason: string): void {
    this.plan.stopped = reason;
  }

  result(): RedrivePlan {
    const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const selected = [...this.selected.values()].sort((a, b) => order(a.topic, b.topic) || order(a.code, b.code));
    return {
      ...this.plan,
      selected,
      total: selected.reduce((sum, line) => sum + line.records, 0),
      missingTopics: [...this.missing].map(([topic, records]) => ({ topic, records })).sort((a, b) => order(a.topic, b.topic)),
    };
  }
}

/** The plan for people; the table of selected records comes first. */
export function renderPlanText(plan: RedrivePlan, table: (rows: string[][]) => string): string {
  const lines: string[] = [];
  const records = (n: number) => `${n} record${n === 1 ? '' : 's'}`;
  if (plan.total > 0) lines.push(table(plan.selected.map((s) => [s.topic, s.code, String(s.records)])).trimEnd());
  if (plan.execute) {
    lines.push(plan.sent > 0 ? `re-drove ${records(plan.sent)} from ${plan.dlq}` : `nothing to re-drive in ${plan.dlq}`);
  } else {
    lines.push(plan.total > 0 ? `would re-drive ${records(plan.total)} from ${plan.dlq}; nothing sent: add --execute to send them` : `nothing to re-drive in ${plan.dlq}`);
  }
  if (plan.alreadyRedriven > 0) lines.push(`  ${records(plan.alreadyRedriven)} re-driven by an earlier run left alone (--all considers them again)`);
  if (plan.again > 0) lines.push(`  ${records(plan.again)} of them re-driven before, by an earlier run (--all)`);
  if (plan.notMatching > 0) lines.push(`  ${records(plan.notMatching)} not matching --where left in place`);
  if (plan.notDeadLetters > 0) lines.push(`  ${records(plan.notDeadLetters)} without dead-letter headers skipped (nothing says where they came from)`);
  for (const { topic, records: n } of plan.missingTopics) lines.push(`  ${records(n)} for ${topic} skipped: that topic is not in Kafka`);
  if (plan.stopped) lines.push(`  stopped early: ${plan.stopped}`);
  return `${lines.join('\n')}\n`;
}
