/**
 * A webhook receiver on a loopback port, as a salon's own system would run it: it keeps
 * every request (headers, raw body, when it came) and answers as the test scripts it —
 * a status, after a delay — so tests can make it fail, hang or succeed.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  body: any;
  receivedAt: number;
  /** When the answer went out (after the scripted delay). */
  answeredAt: number | null;
  status: number;
}

export interface Answer {
  status: number;
  delayMs?: number;
  body?: unknown;
}

/** Decides the answer to the n-th request (0-based) and the request itself. */
export type Script = (request: Omit<ReceivedRequest, 'answeredAt' | 'status'>, n: number) => Answer;

export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  script: Script = () => ({ status: 200 });
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(path = '/hooks/calendar'): Promise<WebhookReceiver> {
    let receiver!: WebhookReceiver;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        let body: unknown = null;
        try {
          body = rawBody ? JSON.parse(rawBody) : null;
        } catch {
          body = null;
        }
        const seen = { method: request.method ?? '', path: request.url ?? '', headers: request.headers, rawBody, body, receivedAt: Date.now() };
        const answer = receiver.script(seen, receiver.requests.length);
        const record: ReceivedRequest = { ...seen, answeredAt: null, status: answer.status };
        receiver.requests.push(record);
        const send = () => {
          if (response.destroyed) return;
          record.answeredAt = Date.now();
          response.writeHead(answer.status, { 'content-type': 'application/json' });
          response.end(JSON.stringify(answer.body ?? {}));
          receiver.notify();
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs);
        else send();
        receiver.notify();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}${path}`);
    return receiver;
  }

  /** Waits until `predicate` holds over the requests seen so far (checked on each request and answer). */
  async until(predicate: (requests: ReceivedRequest[]) => boolean, timeoutMs = 20_000): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.requests)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`receiver: condition not met within ${timeoutMs} ms; saw ${this.requests.length} requests: ${JSON.stringify(this.requests.map((r) => [r.status, r.body?.type, r.body?.appointment?.id]))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.requests;
  }

  /** Answered requests about one appointment, in the order they came. */
  about(appointmentId: string): ReceivedRequest[] {
    return this.requests.filter((request) => request.body?.appointment?.id === appointmentId);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
