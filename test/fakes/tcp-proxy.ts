/**
 * A TCP proxy that a test puts between the broker and PostgreSQL (or any TCP server) to
 * make real network faults on real sockets: the driver under test is never mocked.
 *
 * ```ts
 * const proxy = await TcpFaultProxy.start({ port: 5432 });     // target: 127.0.0.1:5432
 * const database = await openPostgres(proxy.urlFor(databaseUrl));
 * proxy.stall();   // the database "hangs": connections stay open, no byte moves
 * proxy.cut();     // the database "is gone": every connection is reset, new ones too
 * proxy.restore(); // back to normal
 * await proxy.close();
 * ```
 *
 * Modes (one at a time; each call switches from whatever the mode was):
 * - `forward` (initial, and after {@link TcpFaultProxy.restore}): bytes flow both ways.
 * - `stall`: open connections stay open and new ones are accepted, but nothing is
 *   forwarded in either direction: the proxy stops reading, so bytes wait in the kernel's
 *   socket buffers (not in the proxy). A connection accepted during a stall is connected
 *   to the target only on restore. This is a network that silently drops packets (a dead
 *   link, a hung server, a firewall that drops): no error, no FIN, no RST.
 * - `cut`: every open connection is reset (RST to both the client and the target, via
 *   `socket.resetAndDestroy()`), and every new connection is reset as soon as it is
 *   accepted. This is a restarted or failed-over server, or a connection-tracking box
 *   that rejects: errors come at once.
 *
 * Restoring after a stall *resumes* the held connections: whatever was held in the
 * buffers is delivered late and in order, as TCP retransmission does after a short
 * blip. (A stall longer than the peers' own timeouts ends the way those peers decide,
 * e.g. a driver giving up on a connection; the proxy itself never drops one.) Restoring
 * after a cut leaves nothing to resume: the reset connections are gone, and new ones are
 * forwarded.
 */
import net from 'node:net';

export type ProxyMode = 'forward' | 'stall' | 'cut';

export interface TcpFaultProxyOptions {
  /** Where connections are forwarded to. */
  target?: { host?: string; port: number } | undefined;
  /** Shorthand for `target.port` (host 127.0.0.1). */
  port?: number | undefined;
  /** The port the proxy listens on (default: any free port on 127.0.0.1). */
  listenPort?: number | undefined;
}

/** One accepted connection and its twin towards the target. */
class Link {
  upstream: net.Socket | null = null;
  private closed = false;

  constructor(
    readonly client: net.Socket,
    private readonly target: { host: string; port: number },
    private readonly mode: () => ProxyMode,
    private readonly onClosed: (link: Link) => void,
  ) {
    client.on('error', () => this.reset());
    client.on('close', () => this.finish());
    client.pause();
  }

  /** Connects to the target (once) and lets bytes flow both ways. */
  flow(): void {
    if (this.closed) return;
    if (!this.upstream) {
      const upstream = net.connect({ host: this.target.host, port: this.target.port });
      this.upstream = upstream;
      upstream.on('error', () => this.reset());
      upstream.on('close', () => this.finish());
      upstream.setNoDelay(true);
      this.client.setNoDelay(true);
      relay(this.client, upstream, this);
      relay(upstream, this.client, this);
    }
    this.client.resume();
    this.upstream.resume();
  }

  /** Stops forwarding: nothing more is read from either side. */
  hold(): void {
    this.client.pause();
    this.upstream?.pause();
  }

  /** RST both ways. */
  reset(): void {
    if (this.closed) return;
    this.closed = true;
    resetQuietly(this.client);
    if (this.upstream) resetQuietly(this.upstream);
    this.onClosed(this);
  }

  /** One side closed: let the other flush what it was given, then close it too. */
  finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.destroySoon();
    this.upstream?.destroySoon();
    this.onClosed(this);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
    this.upstream?.destroy();
    this.onClosed(this);
  }

  get isHeld(): boolean {
    return this.mode() !== 'forward';
  }
}

/** Copies `from` into `to` with backpressure, never resuming `from` while the link is held. */
function relay(from: net.Socket, to: net.Socket, link: Link) {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => {
        if (!link.isHeld) from.resume();
      });
    }
  });
  from.on('end', () => to.end());
}

function resetQuietly(socket: net.Socket) {
  socket.on('error', () => {});
  if (socket.destroyed) return;
  if (socket.connecting) {
    socket.destroy();
    return;
  }
  socket.resetAndDestroy();
}

/**
 * A controllable TCP proxy on 127.0.0.1. Start it with {@link TcpFaultProxy.start}; point
 * the client at {@link TcpFaultProxy.port} (or {@link TcpFaultProxy.urlFor} a URL).
 */
export class TcpFaultProxy {
  private currentMode: ProxyMode = 'forward';
  private readonly links = new Set<Link>();

  private constructor(
    private readonly server: net.Server,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on 127.0.0.1 and forwards to `target` (default host 127.0.0.1). */
  static async start(options: TcpFaultProxyOptions): Promise<TcpFaultProxy> {
    const port = options.target?.port ?? options.port;
    if (port === undefined) throw new Error('TcpFaultProxy.start: a target port is required');
    const server = net.createServer({ pauseOnConnect: true });
    const proxy = new TcpFaultProxy(server, { host: options.target?.host ?? '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listenPort ?? 0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** Starts a proxy in front of the host and port of a `postgres://` (or any) URL. */
  static forUrl(url: string): Promise<TcpFaultProxy> {
    const parsed = new URL(url);
    return TcpFaultProxy.start({ target: { host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || 5432) } });
  }

  /** The port the proxy listens on (host 127.0.0.1). */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get mode(): ProxyMode {
    return this.currentMode;
  }

  /** Connections currently open through the proxy (held ones included). */
  get connections(): number {
    return this.links.size;
  }

  /** `url` with its host and port replaced by the proxy's, so a client connects through it. */
  urlFor(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  /** Resets every open connection and every new one until {@link restore}. */
  cut(): void {
    this.currentMode = 'cut';
    for (const link of [...this.links]) link.reset();
  }

  /** Holds every open and new connection open without forwarding a byte until {@link restore}. */
  stall(): void {
    this.currentMode = 'stall';
    for (const link of this.links) link.hold();
  }

  /** Forwards again: held connections resume (late bytes delivered in order), new ones flow. */
  restore(): void {
    this.currentMode = 'forward';
    for (const link of this.links) link.flow();
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    for (const link of [...this.links]) link.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket) {
    if (this.currentMode === 'cut') {
      resetQuietly(socket);
      return;
    }
    const link = new Link(socket, this.target, () => this.currentMode, (closed) => this.links.delete(closed));
    this.links.add(link);
    if (this.currentMode === 'forward') link.flow();
  }
}
