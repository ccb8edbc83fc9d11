/**
 * Is this failure worth waiting out? Tributary's own retriable errors (registry, Redis or Kafka
 * down) and kafkajs errors it marks retriable, or that mean "gave up retrying" or "not connected"
 * (a broker restarting, leadership moving right after topics were created).
 */
import kafkajs from 'kafkajs';
import { isRetriable } from '../errors';

const { KafkaJSError, KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError, KafkaJSNonRetriableError } = kafkajs;

export function isTransient(error: unknown): boolean {
  if (isRetriable(error)) return true;
  if (error instanceof KafkaJSNumberOfRetriesExceeded || error instanceof KafkaJSConnectionError) return true;
  if (error instanceof KafkaJSNonRetriableError) return isTransient((error as { cause?: unknown }).cause);
  return error instanceof KafkaJSError && error.retriable;
}

/** Runs `work` until it succeeds, waiting out transient failures up to `timeoutMs`. */
export async function untilAvailable<T>(work: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isTransient(error) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** attempt)));
    }
  }
}

/** The broker's error name (`MESSAGE_TOO_LARGE`, …) carried by a kafkajs error or one it wraps. */
export function brokerErrorType(error: unknown): string | undefined {
  for (let e = error as { type?: string; cause?: unknown; originalError?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.type === 'string') return e.type;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return undefined;
}
