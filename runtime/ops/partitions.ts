/**
 * `--partitions` of the operations commands: "0,2,4-6" → sorted, distinct partition numbers, each
 * checked against the topic's partition count so a typo is a usage error, not a silent no-op.
 */
import { UsageError } from '../errors';

export function parsePartitions(text: string, count?: number): number[] {
  const chosen = new Set<number>();
  for (const part of text.split(',').map((s) => s.trim())) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!range) throw new UsageError(`--partitions "${text}": expected numbers and ranges such as 0,2,4-6`);
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    if (to < from) throw new UsageError(`--partitions "${text}": range ${part} runs backwards`);
    for (let p = from; p <= to; p++) chosen.add(p);
  }
  const partitions = [...chosen].sort((a, b) => a - b);
  if (count !== undefined) {
    const missing = partitions.filter((p) => p >= count);
    if (missing.length > 0) throw new UsageError(`--partitions: ${missing.join(',')} do not exist (partitions are 0-${count - 1})`);
  }
  return partitions;
}
