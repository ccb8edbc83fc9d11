/**
 * Deterministic ids for derived records: the same cause and role always give the same id, across
 * replays and instances, so consumers and receivers can dedupe what a replay re-emits. The cause
 * is named by topic AND eventId because the same eventId on two topics is two events (SPEC §4).
 * 32 hex characters (128 bits of sha-256) fit the code pattern `[A-Za-z0-9._-]{1,64}`.
 */
import { hash } from 'node:crypto';

// crypto.hash: the same digest as createHash().update().digest(), one call, no Hash object (2-3x faster).
export function deterministicId(causeTopic: string, causeEventId: string, role: string): string {
  return hash('sha256', `${causeTopic}\u0000${causeEventId}\u0000${role}`, 'hex').slice(0, 32);
}
