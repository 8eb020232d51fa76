/**
 * A stand-in for OpenAI's Realtime service on loopback (the tests' fake, re-exported from
 * test/fakes/openai-realtime.ts, and the harness's `--runtime openai`): a real HTTP server with the call
 * accept endpoint and a real WebSocket server with the sideband, as far as PROTOCOL §6.1
 * uses them. It records everything the broker sends, lets a test script server events
 * (speech, transcripts, function calls, responses), and enforces the rule the real
 * service enforces: a `response.create` while a response is active is answered with an
 * `error` event `conversation_already_has_active_response`, and is kept in `violations`
 * for the test to fail on.
 *
 * ```ts
 * const fake = await FakeRealtime.start({ apiKey: 'sk-test' });
 * // broker: OPENAI_BASE_URL=fake.baseUrl, OPENAI_REALTIME_URL=fake.realtimeUrl
 * const call = await fake.waitForSideband('rtc_1');
 * await call.functionCall('check_availability', { service: 'Herrenschnitt', … });
 * const output = await call.waitFor((event) => event.item?.type === 'function_call_output');
 * call.hangUp();
 * ```
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

export type ClientEventRecord = Record<string, any> & { type: string };

export interface AcceptRecord {
  callId: string;
  authorization: string | undefined;
  body: any;
}

export interface FakeRealtimeOptions {
  apiKey: string;
  /** How long a response the broker asks for runs before `response.done` (default 30 ms). */
  responseMs?: number;
}

let counter = 0;
const nextId = (prefix: string) => `${prefix}_${++counter}`;

/** One call's sideband on the fake: every connection to it, what came in, and the response in progress. */
export class FakeCall {
  /** Every client event the broker sent, over all connections, in order. */
  readonly received: ClientEventRecord[] = [];
  connections = 0;
  socket: WebSocket | null = null;
  /** The response running now, if any (only one at a time, as on the real service). */
  activeResponse: string | null = null;
  private finishTimer: NodeJS.Timeout | null = null;
  /** Set by `vadOnNextOutput`: the next function_call_output is followed at once by a response of the service's own. */
  private vadAfterOutputMs: number | null = null;
  private waiters: Array<{ match: (event: ClientEventRecord) => boolean; resolve: (event: ClientEventRecord) => void; from: number }> = [];
  private listeners: Array<(event: ClientEventRecord) => void> = [];
  private closeListeners: Array<(code: number) => void> = [];
  private connectionWaiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(
    readonly callId: string,
    private readonly fake: FakeRealtime,
  ) {}

  attach(socket: WebSocket): void {
    this.socket = socket;
    this.connections++;
    this.activeResponse = null;
    socket.on('message', (data) => this.receive(JSON.parse(data.toString()) as ClientEventRecord));
    socket.on('close', (code) => {
      if (this.socket === socket) for (const listener of this.closeListeners) listener(code);
    });
    this.connectionWaiters = this.connectionWaiters.filter((waiter) => (this.connections >= waiter.count ? (waiter.resolve(), false) : true));
  }

  private receive(event: ClientEventRecord): void {
    this.received.push(event);
    if (this.vadAfterOutputMs !== null && event.type === 'conversation.item.create' && event.item?.type === 'function_call_output' && !this.activeResponse) {
      const id = this.startResponse();
      this.finishIn(id, this.vadAfterOutputMs);
      this.vadAfterOutputMs = null;
    }
    if (event.type === 'response.create') {
      if (this.activeResponse) {
        this.fake.violations.push({ callId: this.callId, event, activeResponse: this.activeResponse });
        this.send({
          type: 'error',
          event_id: nextId('event'),
          error: { type: 'invalid_request_error', code: 'conversation_already_has_active_response', message: `Conversation already has an active response in progress: ${this.activeResponse}.`, event_id: null },
        });
      } else {
        const id = this.startResponse();
        this.finishIn(id, this.fake.responseMs);
      }
    }
    for (const listener of this.listeners) listener(event);
    const index = this.received.length - 1;
    this.waiters = this.waiters.filter((waiter) => (index >= waiter.from && waiter.match(event) ? (waiter.resolve(event), false) : true));
  }

  /**
   * Server VAD starts a response of its own the moment the next function_call_output
   * arrives, before the broker's `response.create` (the caller spoke just then): the one
   * race the broker cannot avoid, only recover from. That `response.create` is refused and
   * counted in `violations`; the broker must send it again after this response is done.
   */
  vadOnNextOutput(runMs = 100): void {
    this.vadAfterOutputMs = runMs;
  }

  /** Calls `listener` with every client event the broker sends from now on; returns an unsubscribe. */
  onEvent(listener: (event: ClientEventRecord) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((candidate) => candidate !== listener);
    };
  }

  /** Calls `listener` with the close code whenever the current sideband closes; returns an unsubscribe. */
  onClose(listener: (code: number) => void): () => void {
    this.closeListeners.push(listener);
    return () => {
      this.closeListeners = this.closeListeners.filter((candidate) => candidate !== listener);
    };
  }

  /** Sends a server event as the service would. */
  send(event: Record<string, unknown>): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ event_id: nextId('event'), ...event }));
  }

  /** A response starts (the model talks, or server VAD started one): until `finishResponse`, no other may start. */
  startResponse(): string {
    const id = nextId('resp');
    this.activeResponse = id;
    this.send({ type: 'response.created', response: { id, status: 'in_progress' } });
    return id;
  }

  private finishIn(id: string, ms: number): void {
    if (this.finishTimer) clearTimeout(this.finishTimer);
    this.finishTimer = setTimeout(() => this.finishResponse(id), ms);
    this.finishTimer.unref();
  }

  finishResponse(id = this.activeResponse): void {
    if (!id || this.activeResponse !== id) return;
    this.activeResponse = null;
    this.send({ type: 'response.done', response: { id, status: 'completed' } });
  }

  /**
   * The model calls a function: inside the response running now (the one the broker asked
   * for with `response.create`, say), else in a new one; either way the response ends
   * `runMs` (default 50 ms) later, so the broker's answer usually arrives while it is still
   * active and has to wait for `response.done`. Returns the function call's id.
   */
  functionCall(name: string, args: Record<string, unknown> | string, options: { callId?: string; runMs?: number } = {}): string {
    const callId = options.callId ?? nextId('call');
    const response = this.activeResponse ?? this.startResponse();
    this.send({
      type: 'response.function_call_arguments.done',
      response_id: response,
      item_id: nextId('item'),
      output_index: 0,
      call_id: callId,
      name,
      arguments: typeof args === 'string' ? args : JSON.stringify(args),
    });
    this.finishIn(response, options.runMs ?? 50);
    return callId;
  }

  speech(started: boolean): void {
    this.send({ type: started ? 'input_audio_buffer.speech_started' : 'input_audio_buffer.speech_stopped', audio_start_ms: 0, item_id: nextId('item') });
  }

  callerSaid(transcript: string): void {
    this.send({ type: 'conversation.item.input_audio_transcription.completed', item_id: nextId('item'), content_index: 0, transcript });
  }

  agentSaid(transcript: string): void {
    this.send({ type: 'response.output_audio_transcript.done', response_id: this.activeResponse ?? nextId('resp'), item_id: nextId('item'), transcript });
  }

  /** The next client event (counting from `fromIndex`, default: from now) that matches. */
  waitFor(match: (event: ClientEventRecord) => boolean, options: { timeoutMs?: number; fromIndex?: number } = {}): Promise<ClientEventRecord> {
    const from = options.fromIndex ?? this.received.length;
    const seen = this.received.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching client event within ${options.timeoutMs ?? 5000} ms; got ${JSON.stringify(this.received.slice(from))}`)), options.timeoutMs ?? 5000);
      this.waiters.push({ match, from, resolve: (event) => (clearTimeout(timer), resolve(event)) });
    });
  }

  /** The function_call_output the broker sent for `callId`, parsed. */
  async output(callId: string, options: { timeoutMs?: number; fromIndex?: number } = {}): Promise<any> {
    const event = await this.waitFor((candidate) => candidate.type === 'conversation.item.create' && candidate.item?.type === 'function_call_output' && candidate.item.call_id === callId, { fromIndex: 0, ...options });
    return JSON.parse(event.item.output);
  }

  /** Resolves once the broker has connected `count` times in all. */
  waitForConnections(count: number, timeoutMs = 10_000): Promise<void> {
    if (this.connections >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.connections} sideband connections within ${timeoutMs} ms`)), timeoutMs);
      this.connectionWaiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  /** The call ends: the service closes the sideband normally. */
  hangUp(): void {
    this.socket?.close(1000, 'call ended');
  }

  /** The connection breaks (no close frame). */
  drop(): void {
    this.socket?.terminate();
  }
}

export class FakeRealtime {
  readonly accepts: AcceptRecord[] = [];
  readonly calls = new Map<string, FakeCall>();
  /** Every `response.create` the broker sent while a response was active. A test fails on any. */
  readonly violations: Array<{ callId: string; event: ClientEventRecord; activeResponse: string }> = [];
  /** Status the accept endpoint answers with (default 200). */
  acceptStatus = 200;
  /** How long the accept endpoint takes to answer (default 0). */
  acceptDelayMs = 0;
  /** Accepts answered so far (a slow accept is recorded when it arrives, answered later). */
  acceptsAnswered = 0;
  /** While set, sideband connections are refused with this status. */
  refuseSideband: number | null = null;
  readonly responseMs: number;
  private sidebandWaiters: Array<{ callId: string; resolve: (call: FakeCall) => void }> = [];
  private acceptWaiters: Array<{ callId: string; resolve: (record: AcceptRecord) => void }> = [];

  private constructor(
    private readonly server: http.Server,
    private readonly wss: WebSocketServer,
    readonly apiKey: string,
    options: FakeRealtimeOptions,
  ) {
    this.responseMs = options.responseMs ?? 30;
  }

  static async start(options: FakeRealtimeOptions & { port?: number; host?: string }): Promise<FakeRealtime> {
    const server = http.createServer();
    const wss = new WebSocketServer({ noServer: true });
    const fake = new FakeRealtime(server, wss, options.apiKey, options);
    server.on('request', (request, response) => fake.handle(request, response));
    server.on('upgrade', (request, socket, head) => fake.upgrade(request, socket, head));
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  get realtimeUrl(): string {
    return `ws://127.0.0.1:${this.port}/v1/realtime`;
  }

  acceptsOf(callId: string): AcceptRecord[] {
    return this.accepts.filter((record) => record.callId === callId);
  }

  waitForAccept(callId: string, timeoutMs = 5000): Promise<AcceptRecord> {
    const done = this.accepts.find((record) => record.callId === callId);
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no accept of ${callId} within ${timeoutMs} ms`)), timeoutMs);
      this.acceptWaiters.push({ callId, resolve: (record) => (clearTimeout(timer), resolve(record)) });
    });
  }

  /** Resolves with the call once the broker has opened its sideband. */
  waitForSideband(callId: string, timeoutMs = 5000): Promise<FakeCall> {
    const call = this.calls.get(callId);
    if (call && call.connections > 0) return Promise.resolve(call);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no sideband for ${callId} within ${timeoutMs} ms`)), timeoutMs);
      this.sidebandWaiters.push({ callId, resolve: (opened) => (clearTimeout(timer), resolve(opened)) });
    });
  }

  private authorized(request: http.IncomingMessage): boolean {
    return request.headers.authorization === `Bearer ${this.apiKey}`;
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const match = /^\/v1\/realtime\/calls\/([^/]+)\/accept$/.exec(request.url ?? '');
    if (request.method !== 'POST' || !match) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found' } }));
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const callId = decodeURIComponent(match[1]!);
      if (!this.authorized(request)) {
        response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'Incorrect API key provided' } }));
        return;
      }
      let body: unknown = null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        response.writeHead(400).end();
        return;
      }
      const record = { callId, authorization: request.headers.authorization, body };
      this.accepts.push(record);
      this.acceptWaiters = this.acceptWaiters.filter((waiter) => (waiter.callId === callId ? (waiter.resolve(record), false) : true));
      const status = this.acceptStatus;
      setTimeout(() => {
        if (status === 200 && !this.calls.has(callId)) this.calls.set(callId, new FakeCall(callId, this));
        this.acceptsAnswered++;
        response.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '' : JSON.stringify({ error: { message: `status ${status}` } }));
      }, this.acceptDelayMs);
    });
  }

  private upgrade(request: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://fake');
    const callId = url.searchParams.get('call_id') ?? '';
    const call = this.calls.get(callId);
    const refuse = (status: number) => {
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== '/v1/realtime') return refuse(404);
    if (!this.authorized(request)) return refuse(401);
    if (!call) return refuse(404);
    if (this.refuseSideband) return refuse(this.refuseSideband);
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      call.attach(ws);
      ws.send(JSON.stringify({ type: 'session.created', event_id: nextId('event'), session: { type: 'realtime', id: nextId('sess') } }));
      this.sidebandWaiters = this.sidebandWaiters.filter((waiter) => (waiter.callId === callId ? (waiter.resolve(call), false) : true));
    });
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
