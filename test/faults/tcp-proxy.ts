/**
 * A TCP proxy the test controls (reliability scenario 4): it listens on 127.0.0.1 and forwards
 * each connection to a target port; its mode decides what happens to the bytes, for every
 * connection open now and every one accepted later:
 *
 *   pass       forwarded both ways as they come (held bytes first, see stall).
 *   stall      accepted and held: nothing is delivered, nothing is lost; back in `pass` the held
 *              bytes (and FINs) are delivered in order — a route that stopped and came back while
 *              TCP kept retransmitting.
 *   blackhole  dropped silently both ways, sockets kept open: the peers see silence, as behind a
 *              dropped route. A connection that lost bytes can never be in sync again — its stream
 *              has a hole no real TCP connection can have: TCP would have retransmitted them, or
 *              given up and reset — so on `pass` such connections are reset (the giving up);
 *              connections that lost nothing go on.
 *   reset      every connection reset (RST) now, and each new one at once.
 *
 * New connections are always accepted (a listener that refuses them would be "down", not a
 * network fault) and are connected to the target at once; what they carry follows the mode.
 * `stats()` counts what was forwarded, held, dropped and reset, so a test can show that its
 * fault met traffic.
 */
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'stall' | 'blackhole' | 'reset';

export interface ProxyStats {
  connections: number;
  /** Bytes delivered to the other side (held ones included once delivered). */
  forwarded: number;
  /** Bytes held in `stall` (cumulative). */
  held: number;
  /** Bytes dropped in `blackhole`. */
  dropped: number;
  /** Connections reset: by `reset`, or on healing because they lost bytes to `blackhole`. */
  reset: number;
}

export interface TcpProxy {
  readonly port: number;
  /** Where clients connect: `127.0.0.1:<port>`. */
  readonly address: string;
  mode(): ProxyMode;
  /** Switches every connection, open or future, to `mode`; back to `pass` it delivers what `stall` held and resets what `blackhole` cut. */
  set(mode: ProxyMode): void;
  /** Sets (or changes) the target port for connections accepted from now on. */
  forwardTo(port: number): void;
  stats(): ProxyStats;
  /** Open connection pairs now. */
  open(): number;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

/** One side's bytes (or its FIN, `null`) waiting for the other side. */
type Held = (Buffer | null)[];

interface Pair {
  client: Socket;
  upstream: Socket;
  toUpstream: Held;
  toClient: Held;
  /** Bytes of this pair were dropped: it is reset on healing. */
  holed: boolean;
}

export async function startTcpProxy(options: { target?: number; port?: number } = {}): Promise<TcpProxy> {
  let target = options.target;
  let current: ProxyMode = 'pass';
  const stats: ProxyStats = { connections: 0, forwarded: 0, held: 0, dropped: 0, reset: 0 };
  const pairs = new Set<Pair>();

  const reset = (pair: Pair) => {
    if (!pairs.delete(pair)) return;
    stats.reset += 1;
    pair.client.resetAndDestroy();
    pair.upstream.resetAndDestroy();
  };

  const deliver = (to: Socket, chunk: Buffer | null) => {
    if (to.destroyed) return;
    if (chunk === null) {
      to.end();
      return;
    }
    stats.forwarded += chunk.length;
    to.write(chunk);
  };

  const flush = (pair: Pair) => {
    for (const chunk of pair.toUpstream.splice(0)) deliver(pair.upstream, chunk);
    for (const chunk of pair.toClient.splice(0)) deliver(pair.client, chunk);
  };

  /** Bytes (or a FIN) from one side of a pair, handled as the mode says. */
  const route = (pair: Pair, chunk: Buffer | null, to: Socket, held: Held) => {
    if (current === 'pass') {
      deliver(to, chunk);
    } else if (current === 'stall') {
      if (chunk) stats.held += chunk.length;
      held.push(chunk);
    } else if (current === 'blackhole') {
      if (chunk) stats.dropped += chunk.length;
      pair.holed = true;
    }
  };

  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    stats.connections += 1;
    if (current === 'reset' || target === undefined) {
      stats.reset += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: target, allowHalfOpen: true });
    const pair: Pair = { client, upstream, toUpstream: [], toClient: [], holed: false };
    pairs.add(pair);
    const drop = () => {
      if (!pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    // A peer going away (the broker stopped, the client gave up) ends the pair; errors are the
    // peers' business — they see the connection close, as they would without a proxy.
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.on('data', (chunk: Buffer) => route(pair, chunk, upstream, pair.toUpstream));
    upstream.on('data', (chunk: Buffer) => route(pair, chunk, client, pair.toClient));
    client.on('end', () => route(pair, null, upstream, pair.toUpstream));
    upstream.on('end', () => route(pair, null, client, pair.toClient));
  });
  server.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;

  return {
    port,
    address: `127.0.0.1:${port}`,
    mode: () => current,
    set(mode) {
      current = mode;
      if (mode === 'reset') for (const pair of [...pairs]) reset(pair);
      if (mode === 'pass') {
        for (const pair of [...pairs]) {
          if (pair.holed) reset(pair);
          else flush(pair);
        }
      }
    },
    forwardTo(port) {
      target = port;
    },
    stats: () => ({ ...stats }),
    open: () => pairs.size,
    async close() {
      const closed = once(server, 'close');
      server.close();
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await closed;
    },
  };
}
