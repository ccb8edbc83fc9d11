/**
 * The API's own Prometheus metrics, on the process registry (runtime/metrics.ts):
 *   tributary_http_requests_total{route,method,status}
 *   tributary_http_request_seconds{route,method}      (histogram, sub-millisecond buckets)
 * `route` is the route pattern (`/atp/:sku`), or `unmatched` for unknown paths: never a sku,
 * order id or raw URL, so the label set stays bounded. Label children are cached so recording a
 * request costs two map lookups, not a label-hashing pass per metric.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

const REQUESTS = 'tributary_http_requests_total';
const SECONDS = 'tributary_http_request_seconds';
// The target is a p99 of 2 ms; the upper buckets show Redis stalls and timeouts.
const BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export type RecordRequest = (route: string, method: string, status: number, seconds: number) => void;

export function httpMetrics(registry: Registry): RecordRequest {
  // A second API on the same registry (tests, or a restart in-process) shares the metrics.
  const requests =
    (registry.getSingleMetric(REQUESTS) as Counter<'route' | 'method' | 'status'> | undefined) ??
    new Counter({ name: REQUESTS, help: 'HTTP requests answered by the API, by route pattern, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const seconds =
    (registry.getSingleMetric(SECONDS) as Histogram<'route' | 'method'> | undefined) ??
    new Histogram({ name: SECONDS, help: 'Time to answer an API request, by route pattern and method', labelNames: ['route', 'method'], buckets: BUCKETS, registers: [registry] });

  const counters = new Map<string, { inc(): void }>();
  const timers = new Map<string, { observe(value: number): void }>();
  return (route, method, status, elapsed) => {
    const timerKey = `${method} ${route}`;
    let timer = timers.get(timerKey);
    if (!timer) {
      timer = seconds.labels(route, method);
      timers.set(timerKey, timer);
    }
    timer.observe(elapsed);
    const counterKey = `${timerKey} ${status}`;
    let counter = counters.get(counterKey);
    if (!counter) {
      counter = requests.labels(route, method, String(status));
      counters.set(counterKey, counter);
    }
    counter.inc();
  };
}
