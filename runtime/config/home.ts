/**
 * Where the local stack keeps its data and the record of its addresses: TRIBUTARY_HOME,
 * default `.tributary/` in the working directory (SPEC §3).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function tributaryHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.TRIBUTARY_HOME ?? '.tributary');
}

/** What `dev up` started, so that every later command finds it. */
export interface StackRecord {
  home: string;
  startedAt: string;
  kafka: { brokers: string[]; controllerPort: number; pid: number; version: string };
  registry: { url: string; pid: number };
  redis: { url: string; pid: number };
}

const RECORD_FILE = 'stack.json';

export function readStackRecord(home = tributaryHome()): StackRecord | undefined {
  const file = join(home, RECORD_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as StackRecord;
}

export function writeStackRecord(record: StackRecord): void {
  mkdirSync(record.home, { recursive: true });
  const file = join(record.home, RECORD_FILE);
  // Write-then-rename so a concurrent reader never sees half a record.
  writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

export function stackRecordPath(home = tributaryHome()): string {
  return join(home, RECORD_FILE);
}
