/**
 * The HTTP API judged against the reference fold (SPEC §10, §12 "never serve silently wrong data"):
 * probes of rows, skus and orders, each with the fold's answer in the API's shape, every answer
 * checked at once, and a poll that records every answer while the state is lost and rebuilt —
 * a 503 is allowed then, a 404 or a number other than the fold's never. Used by the Redis flush
 * test (flush.int.test.ts) and the Redis restart and data loss scenario (test/faults/).
 */
import { isDeepStrictEqual } from 'node:util';
import type { AtpRow, OrderStatus } from '../reference/fold';
import type { expected } from './pipeline-harness';

export type Want = ReturnType<typeof expected>;

/** What a GET answers with, from the fold: the API's shape (times as ISO-8601). */
function rowAnswer(row: AtpRow): Record<string, unknown> {
  return { ...row, asOf: row.asOf === null ? null : new Date(row.asOf).toISOString() };
}

function skuAnswer(want: Want, sku: string): Record<string, unknown> {
  const warehouses = want.atp
    .filter(([, r]) => r.sku === sku)
    .map(([, r]) => {
      const { sku: _sku, ...rest } = rowAnswer(r);
      return rest;
    })
    .sort((a, b) => (String(a.warehouse) < String(b.warehouse) ? -1 : 1));
  const total = want.totals.find(([s]) => s === sku)?.[1];
  return { sku, warehouses, total };
}

export interface Probe {
  path: string;
  /** True when a 200 body is the fold's answer. */
  matches(body: unknown): boolean;
}

/** Probes of a spread-out sample: rows, skus and orders, each with the fold's answer. */
export function probesOf(want: Want, count: number): Probe[] {
  const spread = <T>(all: readonly T[]): T[] => Array.from({ length: Math.min(count, all.length) }, (_, i) => all[Math.floor((i * all.length) / Math.min(count, all.length))] as T);
  const rows = spread(want.atp).map(([, row]): Probe => {
    const answer = rowAnswer(row);
    return { path: `/atp/${row.sku}/${row.warehouse}`, matches: (body) => isDeepStrictEqual(body, answer) };
  });
  const skus = spread([...new Set(want.atp.map(([, r]) => r.sku))]).map((sku): Probe => {
    const answer = skuAnswer(want, sku);
    return { path: `/atp/${sku}`, matches: (body) => isDeepStrictEqual(body, answer) };
  });
  const orders = spread(want.orders).map(([orderId, status]): Probe => ({
    path: `/orders/${orderId}`,
    matches: (body) => {
      const { orderId: id, status: s, lines } = body as OrderStatus;
      return isDeepStrictEqual({ orderId: id, status: s, lines }, status);
    },
  }));
  return [...rows, ...skus, ...orders];
}

/** Every probe of the whole fold asked once: the answers that are not 200 with the fold's body. */
export async function wrongAnswers(url: string, want: Want): Promise<string[]> {
  const wrong: string[] = [];
  for (const probe of probesOf(want, Number.MAX_SAFE_INTEGER)) {
    const response = await fetch(`${url}${probe.path}`);
    const body = (await response.json()) as unknown;
    if (response.status !== 200 || !probe.matches(body)) wrong.push(`${probe.path} → ${response.status} ${JSON.stringify(body)}`);
  }
  return wrong;
}

export interface Seen {
  path: string;
  status: number;
  code?: string;
  atMs: number;
}

export interface Served {
  readyz: Seen[];
  unavailable: Seen[];
  /** A 200 that is not the fold's answer, or any status but 200 and 503. */
  failures: Seen[];
  rounds: number;
}

/**
 * Polls /readyz and every probe, round after round, until one round answers all of them 200 with
 * the fold's values and /readyz 200. Returns every answer seen; a 200 that is not the fold's, or
 * any status but 200 and 503, is a failure. A request that gets no answer at all (the server
 * down) is recorded as status 0, a failure.
 */
export async function pollUntilServed(url: string, probes: readonly Probe[], since: number, timeoutMs: number): Promise<Served> {
  const readyz: Seen[] = [];
  const unavailable: Seen[] = [];
  const failures: Seen[] = [];
  let rounds = 0;
  const ask = async (path: string) => {
    try {
      const response = await fetch(`${url}${path}`);
      const body = (await response.json()) as unknown;
      return { status: response.status, body, atMs: Date.now() - since };
    } catch (error) {
      return { status: 0, body: { error: { code: `no answer: ${(error as Error).message}` } }, atMs: Date.now() - since };
    }
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    rounds += 1;
    // /readyz first: the first round starts the moment the fault was injected.
    const ready = await ask('/readyz');
    readyz.push({ path: '/readyz', status: ready.status, atMs: ready.atMs });
    if (ready.status !== 200 && ready.status !== 503) failures.push({ path: '/readyz', status: ready.status, atMs: ready.atMs });
    const answers = await Promise.all(probes.map(async (probe) => ({ probe, ...(await ask(probe.path)) })));
    let served = ready.status === 200;
    for (const { probe, status, body, atMs } of answers) {
      const code = (body as { error?: { code?: string } }).error?.code;
      if (status === 503) unavailable.push({ path: probe.path, status, code, atMs });
      else if (status !== 200 || !probe.matches(body)) failures.push({ path: probe.path, status, code: code ?? (status === 200 ? `answered ${JSON.stringify(body)}` : undefined), atMs });
      if (status !== 200) served = false;
    }
    if (served) return { readyz, unavailable, failures, rounds };
    if (Date.now() > deadline) throw new Error(`not served again within ${timeoutMs} ms; last /readyz ${JSON.stringify(ready.body)}; failures so far ${JSON.stringify(failures.slice(0, 5))}`);
  }
}
