/**
 * The limits of PROTOCOL §1/§3 over real sockets: a socket that never starts is closed
 * with 4001, a flood is answered RATE_LIMITED and dropped, a client that stops reading is
 * closed with 4008 and its session waits for a reconnect, and past MAX_LIVE_SESSIONS a new
 * call's upgrade is refused with 503.
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/harness/runtime-client.js';
import { startBroker, type TestBroker } from '../fixtures/broker.js';
import { drivers } from '../fixtures/database.js';

/** Waits until `condition` holds, checking every 20 ms, for at most `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  for (const started = Date.now(); !condition(); ) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(drivers)('call limits on %s', (driver) => {
  let calls = 0;
  const callId = () => `limits-${driver}-${++calls}-${Date.now()}`;

  describe('start timeout and rate limit', () => {
    let broker: TestBroker;
    let token: string;
    beforeAll(async () => {
      broker = await startBroker(driver, { START_TIMEOUT_S: '1', MAX_FRAMES_PER_S: '5' });
      token = await broker.tenant('sonnenschein');
    });
    afterAll(() => broker.close());

    it('closes a socket that sends no session.start in time with 4001, and keeps one that did', async () => {
      const silent = await RuntimeClient.connect(broker.url, callId(), token);
      const started = await RuntimeClient.connect(broker.url, callId(), token);
      await started.start();
      expect(await silent.waitClosed()).toMatchObject({ code: 4001 });
      started.send({ type: 'ping', id: 'still-here' });
      expect(await started.next('pong')).toMatchObject({ id: 'still-here' });
      started.close();
      // The broker counts the close when its side of the socket has closed, which may come just after the client's.
      let metrics = '';
      for (let attempt = 0; attempt < 100 && !/code="4001"/.test(metrics); attempt++) {
        metrics = await (await fetch(new URL('/metrics', broker.url))).text();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(metrics).toMatch(/^callhold_socket_closes_total\{code="4001"\} 1$/m);
    });

    it('answers frames past the burst with RATE_LIMITED, drops them, and keeps the connection', async () => {
      const client = await RuntimeClient.connect(broker.url, callId(), token);
      await client.start();
      for (let i = 0; i < 60; i++) client.send({ type: 'ping', id: i });
      await until(() => client.frames.filter((frame) => frame.type === 'pong' || frame.type === 'error').length >= 60);
      const pongs = client.frames.filter((frame) => frame.type === 'pong');
      const limited = client.frames.filter((frame) => frame.type === 'error' && frame.code === 'RATE_LIMITED');
      // The bucket starts full with 4 × 5 tokens (one went to session.start) and refills at 5/s.
      expect(pongs.length).toBeGreaterThanOrEqual(19);
      expect(pongs.length).toBeLessThan(40);
      expect(pongs.length + limited.length).toBe(60);
      expect(limited[0]).toMatchObject({ message: expect.stringMatching(/more than 5 frames per second/) });
      const metrics = await (await fetch(new URL('/metrics', broker.url))).text();
      expect(metrics).toMatch(new RegExp(`^callhold_frames_rate_limited_total ${limited.length}$`, 'm'));
      await broker.app.broker.flushEvents();
      const detail = await broker.admin('GET', `/v1/sessions/sonnenschein/${client.frames[0]!.call_id}`);
      expect(detail.body.events.filter((event: { type: string }) => event.type === 'ping')).toHaveLength(pongs.length);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      client.send({ type: 'ping', id: 'after' });
      expect(await client.next((frame) => frame.type === 'pong' && frame.id === 'after')).toBeTruthy();
      client.close();
    });
  });

  describe('slow readers and the live-session limit', () => {
    let broker: TestBroker;
    let token: string;
    beforeAll(async () => {
      broker = await startBroker(driver, { MAX_BUFFERED_KB: '64', MAX_FRAMES_PER_S: '1000000', MAX_LIVE_SESSIONS: '2', RESUME_GRACE_S: '30' });
      token = await broker.tenant('sonnenschein');
    });
    afterAll(() => broker.close());

    it('closes a client that stops reading with 4008, and its session resumes on a reconnect', async () => {
      const id = callId();
      const reader = await RuntimeClient.connect(broker.url, id, token);
      await reader.start();
      const held = await reader.tool('check_availability', { service: 'Herrenschnitt', date: 'morgen', time: '10:00' });
      const tcp = (reader.socket as unknown as { _socket: Socket })._socket;
      tcp.pause();
      const bigId = 'p'.repeat(256);
      for (let i = 0; i < 20_000; i++) reader.send({ type: 'ping', id: bigId });
      // Once the broker has given up on it, read again: the close frame comes behind the buffered pongs.
      await until(() => broker.app.broker.sessions.inspect('sonnenschein', id)?.connected === false);
      tcp.resume();
      expect(await reader.waitClosed()).toMatchObject({ code: 4008 });
      expect(reader.frames.filter((frame) => frame.type === 'pong').length).toBeLessThan(20_000);

      const again = await RuntimeClient.connect(broker.url, id, token);
      const ready = await again.start();
      expect(ready).toMatchObject({ resumed: true });
      if (held.result.available) expect(ready.hold).toMatchObject({ id: (held.result.hold as { id: string }).id });
      again.close();
      await again.waitClosed();
    });

    it('refuses a new call past MAX_LIVE_SESSIONS with 503, and still lets a live call reconnect', async () => {
      // The call of the test above waits out its grace and counts as one of the two.
      const first = await RuntimeClient.connect(broker.url, callId(), token);
      await first.start();
      expect(broker.app.broker.sessions.size).toBe(2);
      await expect(RuntimeClient.connect(broker.url, callId(), token)).rejects.toMatchObject({ status: 503 });
      const firstId = first.frames[0]!.call_id as string;
      const takeover = await RuntimeClient.connect(broker.url, firstId, token);
      expect(await takeover.start()).toMatchObject({ resumed: true });
      expect(await first.waitClosed()).toMatchObject({ code: 4000 });
      await takeover.end();
    });
  });
});
