/**
 * Every frame in and out of a session, written in batches: one multi-row insert per
 * flush instead of one per frame, so a talking caller costs the database little.
 * Tool answers ride in the same writes (see `ToolAnswers`). A crash loses at most the
 * last `flushIntervalMs` of log, never a hold or appointment (those are written before
 * their answer is sent).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { DrizzleSessionStore, SessionEventRecord } from '../store/session-store.js';

export class EventLog {
  private buffer: SessionEventRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: DrizzleSessionStore,
    private readonly logger: FastifyBaseLogger,
    private readonly flushIntervalMs = 50,
    private readonly maxBatch = 500,
  ) {}

  record(event: SessionEventRecord): void {
    this.buffer.push(event);
    if (this.buffer.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs);
  }

  /** Writes what is buffered; resolves when everything recorded so far is stored. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.store.appendEvents(batch);
      } catch (error) {
        this.logger.error({ err: error, events: batch.length }, 'session event log write failed');
      }
    });
    return this.flushing;
  }
}
