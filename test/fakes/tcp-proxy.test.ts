/** The fault proxy on real sockets, in front of a plain TCP echo server. */
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TcpFaultProxy } from './tcp-proxy.js';

/** A client socket that collects what it reads and remembers how it ended. */
function dial(port: number) {
  const socket = net.connect({ host: '127.0.0.1', port });
  let received = '';
  const ended = new Promise<string>((resolve) => {
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.on('close', () => resolve('closed'));
  });
  socket.on('data', (chunk) => (received += chunk.toString()));
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const receive = async (expected: string, timeoutMs = 2000) => {
    const until = Date.now() + timeoutMs;
    while (received !== expected && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
    return received;
  };
  return { socket, connected, ended, receive, received: () => received };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('TcpFaultProxy', () => {
  let echo: net.Server;
  let proxy: TcpFaultProxy;
  const sockets: net.Socket[] = [];

  beforeEach(async () => {
    echo = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
    proxy = await TcpFaultProxy.start({ port: (echo.address() as net.AddressInfo).port });
  });
  afterEach(async () => {
    await proxy.close();
    for (const socket of sockets.splice(0)) socket.destroy();
    await new Promise((resolve) => echo.close(resolve));
  });

  it('forwards both ways, and rewrites a URL to go through it', async () => {
    const client = dial(proxy.port);
    client.socket.write('hello');
    expect(await client.receive('hello')).toBe('hello');
    expect(proxy.connections).toBe(1);
    expect(proxy.urlFor('postgres://u@db.example:5432/name?x=1')).toBe(`postgres://u@127.0.0.1:${proxy.port}/name?x=1`);
    client.socket.destroy();
  });

  it('cut resets open connections and new ones until restore', async () => {
    const open = dial(proxy.port);
    open.socket.write('a');
    await open.receive('a');
    proxy.cut();
    expect(await open.ended).toBe('ECONNRESET');
    expect(proxy.connections).toBe(0);

    const refused = dial(proxy.port);
    expect(await refused.ended).toBe('ECONNRESET');

    proxy.restore();
    const again = dial(proxy.port);
    again.socket.write('b');
    expect(await again.receive('b')).toBe('b');
    again.socket.destroy();
  });

  it('stall forwards nothing, keeps connections open, and resumes them on restore', async () => {
    const open = dial(proxy.port);
    await open.connected;
    proxy.stall();
    open.socket.write('held');
    const late = dial(proxy.port);
    await late.connected;
    late.socket.write('late');
    await pause(150);
    expect(open.received()).toBe('');
    expect(late.received()).toBe('');
    expect(open.socket.destroyed || late.socket.destroyed).toBe(false);
    expect(proxy.connections).toBe(2);

    proxy.restore();
    expect(await open.receive('held')).toBe('held');
    expect(await late.receive('late')).toBe('late');
    open.socket.destroy();
    late.socket.destroy();
  });

  it('close ends every connection', async () => {
    const open = dial(proxy.port);
    await open.connected;
    await proxy.close();
    expect(await open.ended).toBe('closed');
    proxy = await TcpFaultProxy.start({ port: (echo.address() as net.AddressInfo).port });
  });
});
