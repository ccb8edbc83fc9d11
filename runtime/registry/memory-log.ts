/**
 * A SchemaLog that applies records at once and keeps them in memory: for tests of the HTTP app
 * by injection (no Kafka) and for anything that wants a throwaway registry. Not durable.
 */
import type { SchemaLog } from './service';
import type { LogRecord, RegistryState } from './state';

export class MemorySchemaLog implements SchemaLog {
  readonly records: LogRecord[] = [];

  constructor(private readonly state: RegistryState) {}

  /** Records are applied as they are appended: the state is always caught up. */
  async catchUp(): Promise<void> {}

  async append(records: LogRecord[]): Promise<void> {
    for (const record of records) {
      this.records.push(record);
      this.state.apply(record.key, record.value);
    }
  }
}
