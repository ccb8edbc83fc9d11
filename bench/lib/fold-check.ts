/**
 * The correctness half of every benchmark (issue 7: "correctness stays exact"): every ATP row and
 * order status the processors hold in Redis, compared with the independent reference fold of the
 * very events published (test/reference/fold.ts, the oracle of the end-to-end tests).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Naming } from '../../runtime/processor/naming';
import { expected, servedFromRedis } from '../../test/e2e/pipeline-harness';

export type Want = ReturnType<typeof expected>;

export interface FoldCheck {
  equal: boolean;
  /** Milliseconds after caught-up (bench/lib/caught-up.ts) the view took to equal the fold. */
  settledAfterMs: number;
  rows: number;
  orders: number;
  /** Up to 5 keys whose served value differs from the fold's (or is missing on one side). */
  differing: string[];
  /** The first two of them side by side, for the JSON. */
  examples: { key: string; served: unknown; fold: unknown }[];
}

/**
 * Compares until equal or `graceMs` passed. Why a grace at all: caught-up is judged on the input
 * partitions, but a global table (item.upserted) is followed by a consumer of its own, and atp
 * re-emits the rows of an item only once that consumer has read it (runtime/processor/runner.ts
 * refreshOwned); nothing in Redis says how far it has read when the last item record changed
 * nothing. The time it took is reported (`settledAfterMs`): for a run with live item updates it is
 * how long a safety-stock change lagged behind the inputs.
 */
export async function checkAgainstFold(redisUrl: string, names: Naming, want: Want, partitions: number, graceMs = 15_000): Promise<FoldCheck> {
  const started = Date.now();
  for (;;) {
    const check = await compareOnce(redisUrl, names, want, partitions, Date.now() - started);
    if (check.equal || Date.now() - started > graceMs) return check;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function compareOnce(redisUrl: string, names: Naming, want: Want, partitions: number, afterMs: number): Promise<FoldCheck> {
  const served = await servedFromRedis(redisUrl, names, partitions);
  const differing = [...diff('atp', served.atp, want.atp), ...diff('order', served.orders, want.orders)];
  return {
    equal: differing.length === 0,
    settledAfterMs: afterMs,
    rows: want.atp.length,
    orders: want.orders.length,
    differing: differing.slice(0, 5).map((d) => d.key),
    examples: differing.slice(0, 2),
  };
}

function diff<V>(what: string, got: readonly [string, V][], want: readonly [string, V][]): { key: string; served: unknown; fold: unknown }[] {
  const mine = new Map(got);
  const theirs = new Map(want);
  const keys = new Set([...mine.keys(), ...theirs.keys()]);
  return [...keys].filter((k) => !isDeepStrictEqual(mine.get(k), theirs.get(k))).map((k) => ({ key: `${what} ${k}`, served: mine.get(k) ?? null, fold: theirs.get(k) ?? null }));
}

/** One line naming what differs, for a failed check (the run reports it and exits 1). */
export function describeFailure(scenario: string, check: FoldCheck): string {
  return `${scenario}: the view differs from the reference fold at ${check.differing.join(', ')}${check.differing.length === 5 ? ', …' : ''}`;
}
