/** ioredis failures sorted into retriable (Redis unavailable) and not (state refused). */
import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../errors';
import { redisFailure } from './failure';

describe('redisFailure', () => {
  it.each(['LOADING Redis is loading the dataset in memory', 'BUSY Redis is busy running a script', 'OOM command not allowed', 'READONLY You can\'t write against a read only replica.'])(
    'temporary reply %j is retriable TRB_REDIS_UNAVAILABLE',
    (message) => {
      const error = redisFailure(new ReplyError(message), 'apply');
      expect(error.code).toBe('TRB_REDIS_UNAVAILABLE');
      expect(error.retriable).toBe(true);
    },
  );

  it('a connection error is retriable TRB_REDIS_UNAVAILABLE and keeps its cause', () => {
    const cause = new Error('Connection is closed.');
    const error = redisFailure(cause, 'load');
    expect(error.code).toBe('TRB_REDIS_UNAVAILABLE');
    expect(error.retriable).toBe(true);
    expect(error.cause).toBe(cause);
  });

  it('WRONGTYPE and script errors are TRB_STATE_INVALID, not retriable', () => {
    for (const message of ['WRONGTYPE Operation against a key holding the wrong kind of value', 'ERR Error running script']) {
      const error = redisFailure(new ReplyError(message), 'apply');
      expect(error.code).toBe('TRB_STATE_INVALID');
      expect(error.retriable).toBe(false);
    }
  });

  it('credentials Redis refuses are TRB_CONFIG, not retriable', () => {
    for (const message of ['WRONGPASS invalid username-password pair or user is disabled.', 'NOAUTH Authentication required.', "NOPERM this user has no permissions to run the 'evalsha' command"]) {
      const error = redisFailure(new ReplyError(message), 'apply');
      expect(error.code).toBe('TRB_CONFIG');
      expect(error.retriable).toBe(false);
      expect(error.message).toContain('REDIS_URL');
    }
  });

  it('passes a TributaryError through unchanged', () => {
    const original = new TributaryError('TRB_CONFIG', 'x');
    expect(redisFailure(original, 'x')).toBe(original);
  });
});
