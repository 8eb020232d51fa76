/**
 * What an operator watches, as Prometheus metrics on one registry per app (never the
 * global one, never module state). Whatever the session feed tells is derived from it:
 * tool latencies, holds, storage timeouts, ended sessions. Frames and socket closes are
 * the transport's to report, through the methods below.
 * @see ../../README.md "Metrics and probes"
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SessionFeed, SessionFeedEvent } from '../sessions/session-feed.js';
import { isToolName } from '../tools/definitions.js';

/** Where a storage write that failed came from; read paths fail into tool answers or HTTP errors. */
export type StorageOperation = 'event_log' | 'snapshot';

/** `hold.updated` statuses (PROTOCOL §3) as an operator counts them. */
const HOLD_COUNTS: Record<string, string> = {
  held: 'placed',
  extended: 'extended',
  booked: 'converted',
  expired: 'expired',
  lost: 'lost',
  released: 'released',
};

/**
 * Close codes kept as their own label value; any other (a client may send any of
 * 3000-4999) is counted as `other`, so a peer cannot grow the label set without end.
 */
const CLOSE_CODES = new Set([1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, 1012, 1013, 4000, 4001, 4008]);
const OUTCOMES = new Set(['booked', 'no_booking', 'dropped']);

/** Up to the tool timeout (1.8 s) in fine steps, then a few for the late ones. */
const TOOL_LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.8, 2.5, 5];

export interface BrokerMetricsOptions {
  /** Sessions this broker holds in memory, read at each scrape. */
  liveSessions: () => number;
  /** Process metrics (CPU, memory, event loop); on by default. */
  processMetrics?: boolean;
}

export class BrokerMetrics {
  readonly registry = new Registry();
  private readonly toolLatency: Histogram<'tool' | 'ok'>;
  private readonly frames: Counter<'direction'>;
  private readonly rateLimited: Counter;
  private readonly socketCloses: Counter<'code'>;
  private readonly holds: Counter<'status'>;
  private readonly storageTimeouts: Counter<'tool'>;
  private readonly storageErrors: Counter<'operation'>;
  private readonly sessionsEnded: Counter<'outcome'>;

  constructor(options: BrokerMetricsOptions) {
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'callhold_live_sessions',
      help: 'Call sessions held in memory by this broker',
      registers,
      collect() {
        this.set(options.liveSessions());
      },
    });
    this.toolLatency = new Histogram({
      name: 'callhold_tool_latency_seconds',
      help: 'Time from a tool call to its answer, by tool and whether it succeeded',
      labelNames: ['tool', 'ok'],
      buckets: TOOL_LATENCY_BUCKETS_S,
      registers,
    });
    this.frames = new Counter({ name: 'callhold_frames_total', help: 'Call socket frames, by direction (in, out)', labelNames: ['direction'], registers });
    this.rateLimited = new Counter({ name: 'callhold_frames_rate_limited_total', help: 'Inbound call frames dropped as RATE_LIMITED', registers });
    this.socketCloses = new Counter({ name: 'callhold_socket_closes_total', help: 'Call sockets closed, by close code', labelNames: ['code'], registers });
    this.holds = new Counter({
      name: 'callhold_holds_total',
      help: 'Hold changes: placed, extended, converted (booked), expired, lost, released',
      labelNames: ['status'],
      registers,
    });
    this.storageTimeouts = new Counter({
      name: 'callhold_storage_timeouts_total',
      help: 'Tool calls answered UNAVAILABLE because storage failed or did not answer in time',
      labelNames: ['tool'],
      registers,
    });
    this.storageErrors = new Counter({
      name: 'callhold_storage_errors_total',
      help: 'Storage writes that failed outside a tool answer, by operation (event_log, snapshot)',
      labelNames: ['operation'],
      registers,
    });
    this.sessionsEnded = new Counter({ name: 'callhold_sessions_ended_total', help: 'Sessions ended, by outcome', labelNames: ['outcome'], registers });
    // Zero series up front, so rates and alerts work before the first event of a kind.
    for (const status of Object.values(HOLD_COUNTS)) this.holds.inc({ status }, 0);
    for (const direction of ['in', 'out']) this.frames.inc({ direction }, 0);
    for (const operation of ['event_log', 'snapshot'] as const) this.storageErrors.inc({ operation }, 0);
  }

  /** Counts what the feed tells from now on; returns the unsubscribe. */
  observe(feed: SessionFeed): () => void {
    return feed.subscribe((event) => this.record(event));
  }

  /** One inbound call frame, whatever became of it. */
  frameReceived(): void {
    this.frames.inc({ direction: 'in' });
  }

  /** One frame written to a call socket. */
  frameSent(): void {
    this.frames.inc({ direction: 'out' });
  }

  /** One inbound frame answered `RATE_LIMITED` and dropped (count it as received too). */
  frameRateLimited(): void {
    this.rateLimited.inc();
  }

  /** A call socket closed with `code` (by either side; 1005/1006 when there was none). */
  socketClosed(code: number): void {
    this.socketCloses.inc({ code: CLOSE_CODES.has(code) ? String(code) : 'other' });
  }

  /** A storage write that failed; the caller still handles the error. */
  storageFailed(operation: StorageOperation): void {
    this.storageErrors.inc({ operation });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text for `/metrics`. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  private record(event: SessionFeedEvent): void {
    switch (event.type) {
      case 'tool.answered': {
        // A runtime names tools as it likes; unknown names share one label value.
        const tool = isToolName(event.tool) ? event.tool : 'unknown';
        this.toolLatency.observe({ tool, ok: String(event.ok) }, event.latency_ms / 1000);
        if (event.error_code === 'UNAVAILABLE') this.storageTimeouts.inc({ tool });
        break;
      }
      case 'hold.changed': {
        const status = HOLD_COUNTS[event.status];
        if (status) this.holds.inc({ status });
        break;
      }
      case 'session.ended':
        this.sessionsEnded.inc({ outcome: OUTCOMES.has(event.outcome) ? event.outcome : 'other' });
        break;
    }
  }
}
