/**
 * Writes a simulation to `<dir>/<topic>.ndjson`: one natural-JSON value per line, keys left out
 * (they follow from the value, SPEC §4), one file for every source topic even if empty. Values
 * are built with a fixed field order, so JSON.stringify is already deterministic: the same options
 * give byte-identical files. Writes are synchronous and buffered, so memory stays bounded.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../runtime/errors';
import { SOURCE_TOPICS, type SourceTopic } from './events';
import { resolveOptions, type SimulateOptions } from './options';
import { SimulationRun } from './scenario';

export interface SimulationSummary {
  dir: string;
  events: number;
  perTopic: Record<SourceTopic, number>;
  /** Simulated time span of the run, epoch millis. */
  firstOccurredAt: number | null;
  lastOccurredAt: number | null;
}

const FLUSH_AT = 1 << 20;

export function simulateToDir(options: SimulateOptions, dir: string): SimulationSummary {
  const resolved = resolveOptions(options);
  if (resolved.events === Infinity && resolved.durationMs === Infinity) {
    throw new UsageError('writing a simulation to files needs an end: give events or duration');
  }
  mkdirSync(dir, { recursive: true });
  const files = new Map<SourceTopic, { fd: number; pending: string[]; size: number }>();
  const perTopic = Object.fromEntries(SOURCE_TOPICS.map((topic) => [topic, 0])) as Record<SourceTopic, number>;
  for (const topic of SOURCE_TOPICS) files.set(topic, { fd: openSync(join(dir, `${topic}.ndjson`), 'w'), pending: [], size: 0 });
  const flush = (file: { fd: number; pending: string[]; size: number }) => {
    if (file.pending.length === 0) return;
    writeSync(file.fd, file.pending.join(''));
    file.pending = [];
    file.size = 0;
  };
  let events = 0;
  let firstOccurredAt: number | null = null;
  let lastOccurredAt: number | null = null;
  try {
    for (const event of new SimulationRun(options).events()) {
      const file = files.get(event.topic) as { fd: number; pending: string[]; size: number };
      const line = `${JSON.stringify(event.value)}\n`;
      file.pending.push(line);
      file.size += line.length;
      if (file.size >= FLUSH_AT) flush(file);
      perTopic[event.topic]++;
      events++;
      const at = event.value.meta.occurredAt;
      firstOccurredAt = firstOccurredAt === null ? at : Math.min(firstOccurredAt, at);
      lastOccurredAt = lastOccurredAt === null ? at : Math.max(lastOccurredAt, at);
    }
    for (const file of files.values()) flush(file);
  } finally {
    for (const file of files.values()) closeSync(file.fd);
  }
  return { dir, events, perTopic, firstOccurredAt, lastOccurredAt };
}
