/**
 * Write allocation against a log shared with other registry instances: every write catches up
 * with the log first, so instances taking turns never hand out one id (or one version) twice,
 * and a log that cannot catch up refuses the write with a retriable 5xx instead of guessing.
 */
import { describe, expect, it } from 'vitest';
import { RegistryError } from '../errors';
import { ERROR, SchemaRegistryService, type SchemaLog } from './service';
import { RegistryState, type LogRecord } from './state';

/** One topic's records, as every instance's reader sees them. */
class SharedTopic {
  readonly records: LogRecord[] = [];
}

/**
 * An instance's view of a shared topic whose reader applies other instances' records only when
 * asked to catch up or when it reads past them to its own write, as a tailing consumer does.
 */
class TailingLog implements SchemaLog {
  private applied = 0;

  constructor(
    private readonly topic: SharedTopic,
    private readonly state: RegistryState,
  ) {}

  private applyTo(end: number): void {
    for (; this.applied < end; this.applied += 1) {
      const record = this.topic.records[this.applied]!;
      this.state.apply(record.key, record.value);
    }
  }

  async catchUp(): Promise<void> {
    this.applyTo(this.topic.records.length);
  }

  async append(records: LogRecord[]): Promise<void> {
    this.topic.records.push(...records);
    this.applyTo(this.topic.records.length);
  }
}

function instance(topic: SharedTopic) {
  const state = new RegistryState();
  return new SchemaRegistryService(state, new TailingLog(topic, state));
}

const record = (name: string, extra: Record<string, unknown>[] = []) =>
  JSON.stringify({ type: 'record', name, fields: [{ name: 'a', type: 'int' }, ...extra] });

describe('registry writes over a shared log', () => {
  it('two instances writing in turn never give one id to two schemas', async () => {
    const topic = new SharedTopic();
    const [first, second] = [instance(topic), instance(topic)];
    const ids: Record<string, number> = {};
    for (const [i, name] of ['A', 'B', 'C', 'D', 'E', 'F'].entries()) {
      const writer = i % 2 === 0 ? first : second;
      ids[name] = (await writer.register(`${name.toLowerCase()}-value`, { schema: record(name) })).id;
    }
    expect(new Set(Object.values(ids)).size).toBe(6);
    // Both instances, once caught up, agree on what every id means.
    for (const service of [first, second]) {
      await service.setConfig(null, { compatibility: 'BACKWARD' });
      for (const [name, id] of Object.entries(ids)) expect(JSON.parse(service.schemaById(id)).name).toBe(name);
    }
  });

  it('a version written by another instance is not written again', async () => {
    const topic = new SharedTopic();
    const [first, second] = [instance(topic), instance(topic)];
    await first.register('s', { schema: record('S') });
    await second.register('s', { schema: record('S', [{ name: 'b', type: 'int', default: 0 }]) });
    const versions = topic.records.map((r) => JSON.parse(r.key) as { version: number; subject: string });
    expect(versions.map((k) => [k.subject, k.version])).toEqual([
      ['s', 1],
      ['s', 2],
    ]);
  });

  it('re-registering a schema another instance wrote returns its id without a new version', async () => {
    const topic = new SharedTopic();
    const [first, second] = [instance(topic), instance(topic)];
    const { id } = await first.register('s', { schema: record('S') });
    expect(await second.register('s', { schema: record('S') })).toEqual({ id });
    expect(topic.records).toHaveLength(1);
  });

  it('refuses a write with a retriable 5xx and writes nothing when the log cannot catch up', async () => {
    for (const failure of [new RegistryError('reader stopped', 500, ERROR.STORE), new Error('broker gone')]) {
      const appended: LogRecord[] = [];
      const state = new RegistryState();
      const service = new SchemaRegistryService(state, {
        catchUp: async () => {
          throw failure;
        },
        append: async (records) => void appended.push(...records),
      });
      const refused = await service.register('s', { schema: record('S') }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(RegistryError);
      expect((refused as RegistryError).status).toBeGreaterThanOrEqual(500);
      expect((refused as RegistryError).retriable).toBe(true);
      expect((refused as RegistryError).errorCode).toBe(ERROR.STORE);
      expect(appended).toEqual([]);
    }
  });
});
