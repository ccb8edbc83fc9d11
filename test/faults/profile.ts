/**
 * Sizes of the reliability scenarios (issue 8). The same files run in two profiles:
 *   quick (default)  inside `npm test`, a few minutes of CI in all: small workloads, few kills;
 *   full             `npm run test:faults` (TRIBUTARY_FAULTS=full): bigger workloads, 10+ kills.
 * A scenario picks its numbers with `sized(quick, full)`.
 */
export const FULL = process.env.TRIBUTARY_FAULTS === 'full';

export const PROFILE = FULL ? 'full' : 'quick';

export function sized<T>(quick: T, full: T): T {
  return FULL ? full : quick;
}

/** The seed of a scenario: TRIBUTARY_TEST_SEED replays one, else a fresh one (printed by the caller). */
export function seed(): number {
  return Number(process.env.TRIBUTARY_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
}
