/** Unique names per test (kafkajs testHelpers' secureRandom idea) so test files never share state. */
import { randomBytes } from 'node:crypto';

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
