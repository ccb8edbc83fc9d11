/**
 * Sorts what ioredis throws into the TributaryError hierarchy, so the runtime can branch on
 * `retriable`: Redis down, restarting or temporarily refusing (the first word of a Redis error
 * reply is its protocol error code: LOADING, BUSY, OOM, ...) → TRB_REDIS_UNAVAILABLE, retriable:
 * pause the partition and try again. Credentials Redis refuses (WRONGPASS, NOAUTH, NOPERM) →
 * TRB_CONFIG: REDIS_URL is to fix. Any other error reply (WRONGTYPE, a script error) means the
 * state itself is wrong → TRB_STATE_INVALID, not retriable.
 */
import { ReplyError } from 'ioredis';
import { ConfigError, TributaryError } from '../errors';

const TEMPORARY_REPLIES = new Set(['LOADING', 'BUSY', 'OOM', 'TRYAGAIN', 'CLUSTERDOWN', 'MASTERDOWN', 'READONLY', 'NOREPLICAS']);
const REFUSED_CREDENTIALS = new Set(['WRONGPASS', 'NOAUTH', 'NOPERM']);

export function redisFailure(error: unknown, doing: string): TributaryError {
  if (error instanceof TributaryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ReplyError) {
    const code = message.split(' ', 1)[0] ?? '';
    if (REFUSED_CREDENTIALS.has(code)) return new ConfigError(`Redis refused the credentials of REDIS_URL while trying to ${doing}: ${message}`, error);
    if (!TEMPORARY_REPLIES.has(code)) {
      return new TributaryError('TRB_STATE_INVALID', `Redis refused to ${doing}: ${message}`, { cause: error });
    }
  }
  return new TributaryError('TRB_REDIS_UNAVAILABLE', `Redis is unavailable while trying to ${doing} (${message}); check REDIS_URL and that Redis runs, processing resumes when it answers`, {
    retriable: true,
    cause: error,
  });
}

/** Runs one Redis interaction, turning its failures into TributaryErrors. */
export async function withRedis<T>(doing: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw redisFailure(error, doing);
  }
}
