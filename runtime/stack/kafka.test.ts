import { describe, expect, it } from 'vitest';
import { log4jProperties, newClusterId, serverProperties } from './kafka';

function parse(properties: string): Map<string, string> {
  const entries = properties
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)] as [string, string];
    });
  const map = new Map(entries);
  expect(map.size, 'no key is set twice').toBe(entries.length);
  return map;
}

describe('serverProperties', () => {
  const props = parse(serverProperties({ broker: 41001, controller: 41002 }, '/data/tributary/kafka/data'));

  it('makes one node both broker and controller, voting for itself on the controller port', () => {
    expect(props.get('process.roles')).toBe('broker,controller');
    expect(props.get('node.id')).toBe('1');
    expect(props.get('controller.quorum.voters')).toBe('1@127.0.0.1:41002');
    expect(props.get('controller.listener.names')).toBe('CONTROLLER');
  });

  it('listens and advertises on 127.0.0.1 only, on the given ports', () => {
    expect(props.get('listeners')).toBe('PLAINTEXT://127.0.0.1:41001,CONTROLLER://127.0.0.1:41002');
    expect(props.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:41001');
    expect(props.get('listener.security.protocol.map')).toBe('PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT');
  });

  it('keeps data in the given folder', () => {
    expect(props.get('log.dirs')).toBe('/data/tributary/kafka/data');
  });

  it('fits every internal topic on one node and never auto-creates topics', () => {
    for (const key of [
      'offsets.topic.replication.factor',
      'transaction.state.log.replication.factor',
      'transaction.state.log.min.isr',
      'default.replication.factor',
      'min.insync.replicas',
      'num.partitions',
    ]) {
      expect(props.get(key), key).toBe('1');
    }
    expect(props.get('auto.create.topics.enable')).toBe('false');
    expect(props.get('group.initial.rebalance.delay.ms')).toBe('0');
  });

  it('escapes backslashes in paths, as Java properties need', () => {
    const windows = parse(serverProperties({ broker: 1, controller: 2 }, 'C:\\tributary\\data'));
    expect(windows.get('log.dirs')).toBe('C:\\\\tributary\\\\data');
  });
});

describe('log4jProperties', () => {
  it('sends the root logger to the given file', () => {
    const props = parse(log4jProperties('/home/me/.tributary/kafka.log'));
    const appender = props.get('log4j.rootLogger')?.split(',')[1]?.trim();
    expect(props.get('log4j.rootLogger')).toMatch(/^INFO,/);
    expect(props.get(`log4j.appender.${appender}.File`)).toBe('/home/me/.tributary/kafka.log');
  });
});

describe('newClusterId', () => {
  it('is Kafka Uuid text: 16 bytes in base64url without padding, never starting with "-"', () => {
    for (let i = 0; i < 500; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
  });
});
