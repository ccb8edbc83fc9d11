/**
 * A schema registry that can be made to fail, for the reliability scenarios (issue 8): an HTTP
 * proxy in front of the real registry that the processors are pointed at (SCHEMA_REGISTRY_URL).
 *
 *   passing (default)   every request is forwarded and the registry's answer returned as is
 *   failing(status)     every request is answered `status` (503 by default) with a Confluent-shaped
 *                       error body {error_code, message}, without reaching the registry: the
 *                       registry is "down" for the processors while the test still registers
 *                       schemas on the real one
 *
 * Every request is recorded (method, path, status answered), so a test can tell that a processor
 * asked for a schema id and was refused, and how often it asked again.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  path: string;
  status: number;
  at: number;
}

export interface RegistryProxy {
  /** Where the processors should send their registry requests. */
  readonly url: string;
  /** Answer every request with `status` (503 by default) until `pass()`. */
  fail(status?: number): void;
  pass(): void;
  requests(): ProxiedRequest[];
  close(): Promise<void>;
}

export async function startRegistryProxy(target: string): Promise<RegistryProxy> {
  const upstream = new URL(target);
  let failing: number | undefined;
  const seen: ProxiedRequest[] = [];

  const forward = (incoming: IncomingMessage, response: ServerResponse, path: string) => {
    const outgoing = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: incoming.method, path, headers: { ...incoming.headers, host: upstream.host } },
      (answer) => {
        seen.push({ method: incoming.method ?? 'GET', path, status: answer.statusCode ?? 0, at: Date.now() });
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    outgoing.on('error', (error) => {
      seen.push({ method: incoming.method ?? 'GET', path, status: 502, at: Date.now() });
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error_code: 50201, message: `proxy: ${error.message}` }));
    });
    incoming.pipe(outgoing);
  };

  const server: Server = createServer((incoming, response) => {
    const path = incoming.url ?? '/';
    const status = failing;
    if (status === undefined) return forward(incoming, response, path);
    // Drain the body so the connection stays usable, then refuse as a registry in trouble would.
    incoming.resume();
    incoming.on('end', () => {
      seen.push({ method: incoming.method ?? 'GET', path, status, at: Date.now() });
      response.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      response.end(JSON.stringify({ error_code: status * 100 + 1, message: 'registry unavailable (test proxy)' }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    fail: (status = 503) => void (failing = status),
    pass: () => void (failing = undefined),
    requests: () => [...seen],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
