/**
 * The embedded registry survives a restart: everything lives in its compacted topic. Runs its own
 * registries (startRegistry) on a topic of its own against the test brokers, so it never shares
 * state with the stack's registry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createKafka } from '../../runtime/kafka/client';
import { startRegistry, type RunningRegistry } from '../../runtime/registry/server';
import { testStack } from '../harness/stack';
import { uniqueName } from '../harness/names';
import { waitFor } from '../harness/wait';
import { call, enc, orderSchema } from './registry-http';

const running: RunningRegistry[] = [];
const topics: string[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
  const admin = createKafka(testStack().brokers, 'registry-persistence-test').admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: topics.splice(0) });
  } finally {
    await admin.disconnect();
  }
});

async function start(topic: string): Promise<string> {
  const registry = await startRegistry({ brokers: testStack().brokers, host: '127.0.0.1', port: 0, topic });
  running.push(registry);
  return registry.url;
}

describe('embedded registry persistence', () => {
  it('keeps ids, versions, deletions and config across a restart', async () => {
    const topic = uniqueName('_schemas-test');
    topics.push(topic);
    const subject = 'orders-value';
    const other = 'returns-value';
    let url = await start(topic);

    const v1 = await call(url, 'POST', `/subjects/${subject}/versions`, { schema: orderSchema() });
    const v2 = await call(url, 'POST', `/subjects/${subject}/versions`, {
      schema: orderSchema([{ name: 'note', type: ['null', 'string'], default: null }]),
    });
    const shared = await call(url, 'POST', `/subjects/${other}/versions`, { schema: orderSchema() });
    expect([v1.status, v2.status, shared.status]).toEqual([200, 200, 200]);
    expect(shared.body.id).toBe(v1.body.id);
    expect((await call(url, 'PUT', `/config/${subject}`, { compatibility: 'FULL' })).status).toBe(200);
    expect((await call(url, 'PUT', '/config', { compatibility: 'FORWARD' })).status).toBe(200);
    expect((await call(url, 'DELETE', `/subjects/${other}`)).status).toBe(200);

    await running.pop()!.close();
    url = await start(topic);

    expect((await call(url, 'GET', `/subjects/${subject}/versions`)).body).toEqual([1, 2]);
    expect((await call(url, 'GET', `/subjects/${subject}/versions/2`)).body).toMatchObject({ id: v2.body.id, version: 2 });
    expect((await call(url, 'GET', `/schemas/ids/${v1.body.id}`)).status).toBe(200);
    expect((await call(url, 'GET', `/config/${subject}`)).body).toEqual({ compatibilityLevel: 'FULL' });
    expect((await call(url, 'GET', '/config')).body).toEqual({ compatibilityLevel: 'FORWARD' });
    expect((await call(url, 'GET', '/subjects')).body).toEqual([subject]);
    expect((await call(url, 'GET', `/subjects/${other}/versions?deleted=true`)).body).toEqual([1]);
    // Re-registering returns the stored id; a new schema gets an id never handed out before.
    expect((await call(url, 'POST', `/subjects/${subject}/versions`, { schema: orderSchema() })).body.id).toBe(v1.body.id);
    const v3 = await call(url, 'POST', `/subjects/${subject}/versions`, {
      schema: orderSchema([
        { name: 'note', type: ['null', 'string'], default: null },
        { name: 'currency', type: 'string', default: 'USD' },
      ]),
    });
    expect(v3.status).toBe(200);
    expect(v3.body.id).toBeGreaterThan(Math.max(v1.body.id, v2.body.id));
  });

  it('two instances writing in turn on one topic never hand out one id for two schemas', async () => {
    const topic = uniqueName('_schemas-test');
    topics.push(topic);
    const instances = [await start(topic), await start(topic)];
    const names = ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Foxtrot', 'Golf', 'Hotel'];
    const owners = new Map<number, string>();
    for (const [i, name] of names.entries()) {
      // Each write goes to the other instance right after the previous one answered.
      const answer = await call(instances[i % 2]!, 'POST', `/subjects/${enc(`turn-${name}-value`)}/versions`, { schema: orderSchema([], name) });
      expect(answer.status).toBe(200);
      expect({ id: answer.body.id, heldBy: owners.get(answer.body.id) }).toEqual({ id: answer.body.id, heldBy: undefined });
      owners.set(answer.body.id, name);
    }
    // Versions of one subject, too: each instance continues where the other one stopped.
    const evolutions = [[], [{ name: 'a', type: 'int', default: 0 }], [{ name: 'a', type: 'int', default: 0 }, { name: 'b', type: 'int', default: 0 }]];
    for (const [i, fields] of evolutions.entries()) {
      expect((await call(instances[i % 2]!, 'POST', '/subjects/turns-value/versions', { schema: orderSchema(fields) })).status).toBe(200);
    }
    for (const url of instances) {
      // Reads are not caught up first (as in Confluent); the log is ordered, so seeing v3 means seeing all.
      await waitFor(async () => (await call(url, 'GET', '/subjects/turns-value/versions')).body.length === 3, {
        what: `${url} to apply every write`,
      });
      for (const [id, name] of owners) {
        const stored = await call(url, 'GET', `/schemas/ids/${id}`);
        expect(JSON.parse(stored.body.schema).name).toBe(name);
      }
      expect((await call(url, 'GET', '/subjects/turns-value/versions')).body).toEqual([1, 2, 3]);
      const latest = await call(url, 'GET', '/subjects/turns-value/versions/3');
      expect(JSON.parse(latest.body.schema).fields.map((f: { name: string }) => f.name)).toEqual(['orderId', 'a', 'b']);
    }
  });

  it('a second instance on the same topic sees what the first one writes', async () => {
    const topic = uniqueName('_schemas-test');
    topics.push(topic);
    const writer = await start(topic);
    const reader = await start(topic);
    const { body } = await call(writer, 'POST', `/subjects/${enc('tail-value')}/versions`, { schema: orderSchema() });
    const seen = await waitFor(async () => (await call(reader, 'GET', `/schemas/ids/${body.id}`)).status === 200, {
      what: 'the second registry to apply the first one’s write',
    });
    expect(seen).toBe(true);
    expect((await call(reader, 'GET', '/subjects/tail-value/versions')).body).toEqual([1]);
  });
});
