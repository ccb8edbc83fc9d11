/**
 * The test-controlled TCP proxy (./tcp-proxy.ts) against an echo server on 127.0.0.1: what each
 * mode does to bytes on open and new connections, and what healing does.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wait';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

const opened: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

async function echoServer(): Promise<number> {
  const server: Server = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const sockets = new Set<Socket>();
  server.on('connection', (s) => sockets.add(s));
  opened.push({
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  });
  return (server.address() as { port: number }).port;
}

async function proxyToEcho(): Promise<TcpProxy> {
  const proxy = await startTcpProxy({ target: await echoServer() });
  opened.push(proxy);
  return proxy;
}

/** A client that keeps everything it received and how it ended. */
async function client(proxy: TcpProxy): Promise<{ socket: Socket; received: () => string; ended: () => string | undefined }> {
  const socket = connect({ host: '127.0.0.1', port: proxy.port });
  let received = '';
  let ended: string | undefined;
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  socket.on('error', (error: NodeJS.ErrnoException) => (ended = error.code ?? error.message));
  socket.on('close', () => (ended ??= 'closed'));
  await once(socket, 'connect');
  opened.push({ close: async () => void socket.destroy() });
  return { socket, received: () => received, ended: () => ended };
}

describe('tcp-proxy', () => {
  it('pass forwards both ways', async () => {
    const proxy = await proxyToEcho();
    const c = await client(proxy);
    c.socket.write('hello');
    await waitFor(() => c.received() === 'hello', { what: 'the echo', timeoutMs: 5_000 });
    expect(proxy.stats().forwarded).toBe(10);
  });

  it('stall holds bytes of open and new connections and delivers them in order on pass', async () => {
    const proxy = await proxyToEcho();
    const before = await client(proxy);
    proxy.set('stall');
    const during = await client(proxy);
    before.socket.write('one,');
    before.socket.write('two');
    during.socket.write('three');
    // Once the proxy holds all of it, none of it can have been delivered.
    await waitFor(() => proxy.stats().held === 12, { what: 'the proxy to hold the bytes', timeoutMs: 5_000 });
    expect([before.received(), during.received()]).toEqual(['', '']);
    proxy.set('pass');
    await waitFor(() => before.received() === 'one,two' && during.received() === 'three', { what: 'the held bytes', timeoutMs: 5_000 });
    expect([before.ended(), during.ended()]).toEqual([undefined, undefined]);
  });

  it('blackhole drops bytes and keeps sockets open; on pass the connections that lost bytes are reset, the others go on', async () => {
    const proxy = await proxyToEcho();
    const holed = await client(proxy);
    const quiet = await client(proxy);
    proxy.set('blackhole');
    holed.socket.write('lost');
    await waitFor(() => proxy.stats().dropped === 4, { what: 'the proxy to drop the bytes', timeoutMs: 5_000 });
    expect(holed.received()).toBe('');
    expect(holed.ended(), 'still open while blackholed').toBeUndefined();
    proxy.set('pass');
    await waitFor(() => holed.ended() === 'ECONNRESET', { what: 'the holed connection reset', timeoutMs: 5_000 });
    quiet.socket.write('fine');
    await waitFor(() => quiet.received() === 'fine', { what: 'the untouched connection to go on', timeoutMs: 5_000 });
    expect(proxy.stats().reset).toBe(1);
  });

  it('reset resets open connections and every new one', async () => {
    const proxy = await proxyToEcho();
    const open = await client(proxy);
    proxy.set('reset');
    await waitFor(() => open.ended() === 'ECONNRESET', { what: 'the open connection reset', timeoutMs: 5_000 });
    const late = connect({ host: '127.0.0.1', port: proxy.port });
    const [error] = (await once(late, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNRESET');
  });
});
