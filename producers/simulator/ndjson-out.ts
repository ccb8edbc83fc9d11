/**
 * Writes a simulation to NDJSON, in one of two shapes:
 *  - `simulateToDir(options, dir)`: `<dir>/<topic>.ndjson`, one natural-JSON value per line, keys
 *    left out (they follow from the value, SPEC §4), one file for every source topic even if
 *    empty: each file is ready for `tributary publish <topic> --file`.
 *  - `simulateToFile(options, file)`: one file, the run in order, a line per event
 *    `{"topic":…,"key":…,"value":{…}}` (the envelope kcat -J and `consume --format ndjson` use).
 * Values are built with a fixed field order, so JSON.stringify is already deterministic: the same
 * options give byte-identical files. Writes are synchronous and buffered, so memory stays bounded.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../../runtime/errors';
import { SOURCE_TOPICS, type SimEvent, type SourceTopic } from './events';
import { resolveOptions, type SimulateOptions } from './options';
import { SimulationRun } from './scenario';

export interface SimulationSummary {
  /** The directory or the file written. */
  path: string;
  events: number;
  perTopic: Record<SourceTopic, number>;
  /** Simulated time span of the run, epoch millis. */
  firstOccurredAt: number | null;
  lastOccurredAt: number | null;
}

const FLUSH_AT = 1 << 20;

class BufferedFile {
  private pending: string[] = [];
  private size = 0;

  constructor(readonly fd: number) {}

  write(line: string): void {
    this.pending.push(line);
    this.size += line.length;
    if (this.size >= FLUSH_AT) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    writeSync(this.fd, this.pending.join(''));
    this.pending = [];
    this.size = 0;
  }
}

export function simulateToDir(options: SimulateOptions, dir: string): SimulationSummary {
  checkEnd(options);
  mkdirSync(dir, { recursive: true });
  const files = new Map<SourceTopic, BufferedFile>();
  try {
    for (const topic of SOURCE_TOPICS) files.set(topic, new BufferedFile(openSync(join(dir, `${topic}.ndjson`), 'w')));
    return write(options, dir, (event) => (files.get(event.topic) as BufferedFile).write(`${JSON.stringify(event.value)}\n`), [...files.values()]);
  } finally {
    for (const file of files.values()) closeSync(file.fd);
  }
}

export function simulateToFile(options: SimulateOptions, path: string): SimulationSummary {
  checkEnd(options);
  mkdirSync(dirname(path), { recursive: true });
  const file = new BufferedFile(openSync(path, 'w'));
  try {
    return write(options, path, (event) => file.write(`${JSON.stringify({ topic: event.topic, key: event.key, value: event.value })}\n`), [file]);
  } finally {
    closeSync(file.fd);
  }
}

function checkEnd(options: SimulateOptions): void {
  const resolved = resolveOptions(options);
  if (resolved.events === Infinity && resolved.durationMs === Infinity) {
    throw new UsageError('writing a simulation to files needs an end: give events or duration');
  }
}

function write(options: SimulateOptions, path: string, line: (event: SimEvent) => void, files: readonly BufferedFile[]): SimulationSummary {
  const perTopic = Object.fromEntries(SOURCE_TOPICS.map((topic) => [topic, 0])) as Record<SourceTopic, number>;
  let events = 0;
  let firstOccurredAt: number | null = null;
  let lastOccurredAt: number | null = null;
  for (const event of new SimulationRun(options).events()) {
    line(event);
    perTopic[event.topic]++;
    events++;
    const at = event.value.meta.occurredAt;
    firstOccurredAt = firstOccurredAt === null ? at : Math.min(firstOccurredAt, at);
    lastOccurredAt = lastOccurredAt === null ? at : Math.max(lastOccurredAt, at);
  }
  for (const file of files) file.flush();
  return { path, events, perTopic, firstOccurredAt, lastOccurredAt };
}
