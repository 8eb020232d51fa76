/** Opening many calls at once, and the small helpers the bench phases share. */
import { RuntimeClient } from '../src/harness/runtime-client.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Where a call connects: a broker's URL and a runtime token for its tenant. */
export interface CallTarget {
  url: string;
  token: string;
}

/** Connects and starts `count` calls, `batch` at a time; returns them in order. */
export async function openCalls(url: string, token: string, prefix: string, count: number, batch = 100, onProgress?: (opened: number) => void): Promise<RuntimeClient[]> {
  return openCallsAcross([{ url, token }], prefix, count, batch, onProgress);
}

/**
 * Like `openCalls`, over several brokers round-robin: call i connects to
 * `targets[i % targets.length]` (so with one target it is `openCalls`).
 */
export async function openCallsAcross(targets: readonly CallTarget[], prefix: string, count: number, batch = 100, onProgress?: (opened: number) => void): Promise<RuntimeClient[]> {
  const clients: RuntimeClient[] = [];
  for (let from = 0; from < count; from += batch) {
    const size = Math.min(batch, count - from);
    const opened = await Promise.all(
      Array.from({ length: size }, async (_, offset) => {
        const index = from + offset;
        const { url, token } = targets[index % targets.length]!;
        const client = await RuntimeClient.connect(url, `${prefix}-${index}`, token);
        await client.start({ from: `+4917${String(index).padStart(9, '0')}`, locale: 'de-DE' });
        return client;
      }),
    );
    clients.push(...opened);
    onProgress?.(clients.length);
  }
  return clients;
}

/** Hangs up every call (session.end, waiting for session.ended), `batch` at a time; failures are counted, not thrown. */
export async function hangUp(clients: RuntimeClient[], batch = 200): Promise<number> {
  let failed = 0;
  for (let from = 0; from < clients.length; from += batch) {
    await Promise.all(
      clients.slice(from, from + batch).map(async (client) => {
        try {
          await client.end('bench done');
        } catch {
          failed++;
        } finally {
          client.close();
        }
      }),
    );
  }
  return failed;
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
