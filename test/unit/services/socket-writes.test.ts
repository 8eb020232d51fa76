import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { corkUntilTickEnds } from '../../../src/services/socket-writes.js';

/** A real ws pair on loopback; `writes` counts the syscall-level writes of the server's TCP stream. */
async function socketPair() {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const [socket] = await accepted;
  await once(client, 'open');
  const stream = (socket as unknown as { _socket: Duplex & { _write: Function; _writev: Function } })._socket;
  const writes = { count: 0 };
  for (const method of ['_write', '_writev'] as const) {
    const original = stream[method].bind(stream);
    stream[method] = (...args: unknown[]) => {
      writes.count++;
      return original(...args);
    };
  }
  const received: string[] = [];
  client.on('message', (data) => received.push(data.toString()));
  return { server, client, socket, writes, received };
}

let open: Array<{ server: WebSocketServer; client: WebSocket }> = [];
afterEach(async () => {
  for (const { server, client } of open) {
    client.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
  open = [];
});

describe('corkUntilTickEnds', () => {
  it('sends the frames of one tick in one socket write, as separate messages in order', async () => {
    const pair = await socketPair();
    open.push(pair);
    corkUntilTickEnds(pair.socket);
    pair.socket.send('{"type":"tool.result"}');
    corkUntilTickEnds(pair.socket);
    pair.socket.send('{"type":"hold.updated"}');
    pair.socket.send('{"type":"third"}');
    expect(pair.writes.count).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(pair.writes.count).toBe(1);
    await expect.poll(() => pair.received).toEqual(['{"type":"tool.result"}', '{"type":"hold.updated"}', '{"type":"third"}']);
  });

  it('leaves frames of later ticks to later writes', async () => {
    const pair = await socketPair();
    open.push(pair);
    corkUntilTickEnds(pair.socket);
    pair.socket.send('first');
    await new Promise((resolve) => setImmediate(resolve));
    corkUntilTickEnds(pair.socket);
    pair.socket.send('second');
    await new Promise((resolve) => setImmediate(resolve));
    expect(pair.writes.count).toBe(2);
    await expect.poll(() => pair.received).toEqual(['first', 'second']);
  });

  it('does nothing to a socket that has no stream yet', () => {
    const unconnected = new WebSocket('ws://127.0.0.1:9', { autoPong: false });
    unconnected.on('error', () => {});
    expect(() => corkUntilTickEnds(unconnected)).not.toThrow();
    unconnected.terminate();
  });
});
