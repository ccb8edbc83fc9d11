/**
 * Scenario 5, the API: `tributary run api` (its own process, as in production) serving the
 * pipeline's caught-up view, driven by autocannon at a fixed overall rate, one route after the
 * other: `GET /atp/{sku}/{warehouse}` over every row of the view, then `POST /atp/check` with 1–5
 * lines of existing rows (a quote's worth). Every answer must be a 200.
 *
 * Latency: autocannon's own histogram has a 1 ms resolution (integer milliseconds), too coarse
 * for a 2 ms target, so every response time autocannon reports on its `response` event (time from
 * writing the request to the end of the answer, microsecond resolution) is kept and the
 * percentiles are taken over all of them. autocannon's rate limit hands each connection a quota
 * per second that it spends back to back (closed loop), so arrivals come in bursts at the start
 * of each second rather than evenly spaced: the figures include queueing behind up to
 * `connections` concurrent requests, which errs on the pessimistic side. autocannon's own
 * (coordinated-omission corrected, 1 ms) p99 is kept in the JSON for comparison.
 */
import autocannon from 'autocannon';
import type { RunningChild } from '../../test/e2e/child-process';
import { prng, type Deployment } from '../../test/e2e/pipeline-harness';
import { waitFor } from '../../test/harness/wait';
import type { BenchContext } from '../context';
import type { Want } from '../lib/fold-check';
import { percentiles, type Percentiles } from '../lib/percentiles';

export interface RouteResult extends Percentiles {
  route: string;
  /** Requests answered per second over the run (the rate reached). */
  requestsPerSec: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** autocannon's own p99 (1 ms resolution, coordinated omission corrected). */
  autocannonP99Ms: number;
}

export interface ApiResult {
  rate: number;
  seconds: number;
  connections: number;
  get: RouteResult;
  check: RouteResult;
}

export async function runApi(context: BenchContext, deployment: Deployment, want: Want): Promise<ApiResult> {
  const { apiRate: rate, apiSeconds: seconds, apiConnections: connections } = context.options;
  const child = context.run(deployment, ['api'], { PORT: '0', HOST: '127.0.0.1' });
  try {
    const url = await child.url();
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { timeoutMs: 60_000, intervalMs: 200, what: 'the API to be ready' });
    const rows = want.atp.map(([, row]) => row);
    if (rows.length === 0) throw new Error('the view has no rows to ask for');
    const random = prng(context.options.seed);
    const pick = () => rows[Math.floor(random() * rows.length)]!;
    const get = await load(child, url, 'GET /atp/{sku}/{warehouse}', { rate, seconds, connections }, () => {
      const row = pick();
      return { method: 'GET', path: `/atp/${encodeURIComponent(row.sku)}/${encodeURIComponent(row.warehouse)}` };
    });
    context.say(`api: GET row p50 ${get.p50} ms, p99 ${get.p99} ms at ${Math.round(get.requestsPerSec)} req/s`);
    const check = await load(child, url, 'POST /atp/check', { rate, seconds, connections }, () => {
      const lines = Array.from({ length: 1 + Math.floor(random() * 5) }, () => {
        const row = pick();
        return { sku: row.sku, warehouse: row.warehouse, quantity: 1 + Math.floor(random() * 50) };
      });
      return { method: 'POST', path: '/atp/check', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lines }) };
    });
    context.say(`api: POST check p50 ${check.p50} ms, p99 ${check.p99} ms at ${Math.round(check.requestsPerSec)} req/s`);
    return { rate, seconds, connections, get, check };
  } finally {
    child.signal('SIGTERM');
    await child.exited;
  }
}

type Next = () => { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string };

async function load(child: RunningChild, url: string, route: string, { rate, seconds, connections }: { rate: number; seconds: number; connections: number }, next: Next): Promise<RouteResult> {
  const times: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        overallRate: rate,
        duration: seconds,
        timeout: 10,
        requests: [{ setupRequest: (request) => ({ ...request, ...next() }) }],
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => times.push(responseTime));
  });
  if (child.exit()) throw new Error(`the API process exited during the ${route} load: ${child.tail(5)}`);
  return {
    route,
    ...percentiles(times),
    requestsPerSec: times.length / seconds,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    autocannonP99Ms: result.latency.p99,
  };
}
