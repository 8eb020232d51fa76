/**
 * A voice runtime's side of the call WebSocket, speaking only the public contract
 * (PROTOCOL §3). Used by the simulated caller harness, the benchmark and the end-to-end
 * tests alike: frames are collected in order and can be awaited by type or predicate.
 */
import WebSocket from 'ws';

export type Frame = Record<string, unknown> & { type: string };

export interface ToolResultFrame extends Frame {
  type: 'tool.result';
  id: string;
  ok: boolean;
  result: Record<string, unknown>;
  error?: { code: string; message: string };
}

/**
 * What a simulated caller needs of its call, in our frames: `RuntimeClient` over our own
 * WebSocket, or an adapter that plays another runtime (openai-call-client.ts).
 */
export interface CallClient {
  /** False when the runtime passes none of the caller's speech on (only tool requests reach the broker); default true. */
  readonly carriesSpeech?: boolean;
  onFrame(listener: (frame: Frame) => void): () => void;
  start(options?: { from?: string; locale?: string }): Promise<Frame>;
  tool(name: string, args?: Record<string, unknown>, id?: string, timeoutMs?: number): Promise<ToolResultFrame>;
  send(frame: Record<string, unknown>): void;
  next<T extends Frame = Frame>(match: string | ((frame: Frame) => boolean), options?: { timeoutMs?: number; fromStart?: boolean; after?: number }): Promise<T>;
  end(reason?: string): Promise<Frame>;
  waitClosed(): Promise<{ code: number; reason: string }>;
  drop(): void;
}

/**
 * The frames a call client has seen, in order, and a way to await the next that matches:
 * the one piece every `CallClient` shares, whatever carries its call.
 */
export abstract class FrameInbox {
  readonly frames: Frame[] = [];
  private waiters: Array<{ match: (frame: Frame) => boolean; resolve: (frame: Frame) => void; from: number }> = [];
  private listeners: Array<(frame: Frame) => void> = [];

  /** Calls `listener` with every frame as it arrives (after it is appended to `frames`); returns an unsubscribe. */
  onFrame(listener: (frame: Frame) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((candidate) => candidate !== listener);
    };
  }

  /** The next frame (after those already seen, unless `fromStart`) that matches. */
  next<T extends Frame = Frame>(match: string | ((frame: Frame) => boolean), options: { timeoutMs?: number; fromStart?: boolean; after?: number } = {}): Promise<T> {
    const predicate = typeof match === 'string' ? (frame: Frame) => frame.type === match : match;
    const from = options.fromStart ? 0 : (options.after ?? this.frames.length);
    const seen = this.frames.slice(from).find(predicate);
    if (seen) return Promise.resolve(seen as T);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${typeof match === 'string' ? match : 'matching'} frame within ${options.timeoutMs ?? 5000} ms; got ${JSON.stringify(this.frames.slice(from))}`)), options.timeoutMs ?? 5000);
      this.waiters.push({ match: predicate, from, resolve: (frame) => (clearTimeout(timer), resolve(frame as T)) });
    });
  }

  /** Appends a frame, tells the listeners, and resolves whoever waits for it. */
  protected receive(frame: Frame): void {
    this.frames.push(frame);
    for (const listener of this.listeners) listener(frame);
    const index = this.frames.length - 1;
    this.waiters = this.waiters.filter((waiter) => (index >= waiter.from && waiter.match(frame) ? (waiter.resolve(frame), false) : true));
  }
}

export class RuntimeClient extends FrameInbox implements CallClient {
  private readonly closed: Promise<{ code: number; reason: string }>;
  private toolCounter = 0;

  private constructor(readonly socket: WebSocket) {
    super();
    socket.on('message', (data) => this.receive(JSON.parse(data.toString()) as Frame));
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Opens `ws(s)://…/v1/calls/{callId}`; rejects with the HTTP status when the upgrade is refused. */
  static connect(baseUrl: string, callId: string, token: string | null, options: { tokenInQuery?: boolean } = {}): Promise<RuntimeClient> {
    const url = new URL(`/v1/calls/${encodeURIComponent(callId)}`, baseUrl.replace(/^http/, 'ws'));
    if (token && options.tokenInQuery) url.searchParams.set('token', token);
    const headers = token && !options.tokenInQuery ? { authorization: `Bearer ${token}` } : undefined;
    const socket = new WebSocket(url, { headers });
    const client = new RuntimeClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_request, response) => reject(Object.assign(new Error(`upgrade refused: ${response.statusCode}`), { status: response.statusCode })));
      socket.once('error', reject);
    });
  }

  send(frame: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(frame));
  }

  sendRaw(data: string | Buffer): void {
    this.socket.send(data);
  }

  async start(options: { from?: string; locale?: string } = {}): Promise<Frame> {
    const mark = this.frames.length;
    this.send({ type: 'session.start', call: { from_number: options.from ?? '+4915112345678', to_number: '+49301234567', direction: 'inbound' }, locale: options.locale ?? 'de-DE' });
    return this.next('session.ready', { after: mark });
  }

  /** Calls a tool and waits for its answer (matched by id). */
  async tool(name: string, args: Record<string, unknown> = {}, id = `t${++this.toolCounter}`, timeoutMs = 5000): Promise<ToolResultFrame> {
    const mark = this.frames.length;
    this.send({ type: 'tool.call', id, name, arguments: args });
    return this.next<ToolResultFrame>((frame) => frame.type === 'tool.result' && frame.id === id, { after: mark, timeoutMs });
  }

  async end(reason = 'caller hung up'): Promise<Frame> {
    const mark = this.frames.length;
    this.send({ type: 'session.end', reason });
    return this.next('session.ended', { after: mark });
  }

  waitClosed(): Promise<{ code: number; reason: string }> {
    return this.closed;
  }

  /** Drops the connection without `session.end`, as a lost network would. */
  drop(): void {
    this.socket.terminate();
  }

  close(): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(1000);
  }
}
