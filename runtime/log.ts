/**
 * The one pino logger. JSON lines on stderr (stdout belongs to command output), level from
 * LOG_LEVEL, secrets redacted wherever they appear in a logged object.
 */
import pino from 'pino';
import { ConfigError } from './errors';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const REDACTED_PATHS = [
  'password',
  'token',
  'secret',
  'clientSecret',
  'authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.clientSecret',
  '*.authorization',
  '*.sasl.password',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  // The same secrets under the names OAuth2 answers, env vars and callers give them.
  'client_secret',
  'access_token',
  'refresh_token',
  'apiToken',
  'accessToken',
  'Authorization',
  '*.client_secret',
  '*.access_token',
  '*.refresh_token',
  '*.apiToken',
  '*.accessToken',
  '*.Authorization',
  // ioredis errors carry the command that failed: AUTH's are the Redis username and password, and
  // other commands' are state and payloads (found by test/faults/secrets.int.test.ts).
  '*.command.args',
  '*.cause.command.args',
];

export type Logger = pino.Logger;

export function createLogger(bindings: Record<string, unknown> = {}, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: logLevelFrom(process.env),
    base: { service: 'tributary', ...bindings },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(options, destination ?? pino.destination(2));
}

export const log = createLogger();

/** LOG_LEVEL when it names a pino level, else info: the logger exists before the CLI can refuse a bad one (checkLogLevel). */
export function logLevelFrom(env: NodeJS.ProcessEnv): string {
  const raw = env.LOG_LEVEL;
  return raw !== undefined && LEVELS.includes(raw) ? raw : 'info';
}

/** A LOG_LEVEL that is set and names no level is a TRB_CONFIG error listing the levels. */
export function checkLogLevel(env: NodeJS.ProcessEnv = process.env): void {
  const raw = env.LOG_LEVEL;
  if (raw === undefined || raw === '' || LEVELS.includes(raw)) return;
  throw new ConfigError(`LOG_LEVEL="${raw}" is not a log level: set it to one of ${LEVELS.join(', ')}`);
}
