/**
 * /livez (alias /healthz), /readyz and /metrics for a process that runs processors without the
 * API (`tributary run orders`), so Prometheus and an orchestrator can watch it too. Plain
 * node:http: three routes do not need a framework. A port already taken is a warning, not a
 * failure: a second instance on one host still processes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { ReadinessCheck } from '../processor/runner';

export interface HealthServerOptions {
  port: number;
  host?: string;
  metrics: Metrics;
  readiness: () => ReadinessCheck[];
  log: Logger;
}

export async function startHealthServer(options: HealthServerOptions): Promise<{ url: string; close(): Promise<void> } | undefined> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'GET') return json(405, { error: { code: 'TRB_USAGE', message: 'only GET is served here' } });
    if (path === '/livez' || path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz') {
      const checks = options.readiness();
      const ready = checks.every((c) => c.ok);
      return json(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
    }
    if (path === '/metrics') {
      options.metrics.registry
        .metrics()
        .then((text) => {
          response.writeHead(200, { 'content-type': options.metrics.registry.contentType });
          response.end(text);
        })
        .catch((error: Error) => json(500, { error: { code: 'TRB_PROCESSING', message: error.message } }));
      return;
    }
    return json(404, { error: { code: 'TRB_USAGE', message: `no route ${path}: try /livez, /readyz or /metrics` } });
  });
  const host = options.host ?? '0.0.0.0';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, host, () => resolve());
    });
  } catch (error) {
    options.log.warn({ err: error, port: options.port }, 'health and metrics server not started (port taken?); set --metrics-port');
    return undefined;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
