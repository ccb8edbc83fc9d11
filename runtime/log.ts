/**
 * The one pino logger. JSON lines on stderr (stdout belongs to command output), level from
 * LOG_LEVEL, secrets redacted wherever they appear in a logged object.
 */
import pino from 'pino';

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
];

export type Logger = pino.Logger;

export function createLogger(bindings: Record<string, unknown> = {}, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: process.env.LOG_LEVEL ?? 'info',
    base: { service: 'tributary', ...bindings },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(options, destination ?? pino.destination(2));
}

export const log = createLogger();
