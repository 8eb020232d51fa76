/**
 * Every frame in and out of a session, written in batches: one multi-row insert per
 * flush instead of one per frame, so a talking caller costs the database little.
 * Answers of read-only tools ride in the same writes (see `ToolAnswers`), stored ahead of
 * the frames of the same flush. A crash loses at most the
 * last `flushIntervalMs` of log, never a hold or appointment (those are written before
 * their answer is sent).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { DrizzleSessionStore, SessionEventRecord, ToolAnswerRecord } from '../store/session-store.js';

export class EventLog {
  private events: SessionEventRecord[] = [];
  private answers: ToolAnswerRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: DrizzleSessionStore,
    private readonly logger: FastifyBaseLogger,
    private readonly flushIntervalMs = 50,
    private readonly maxBatch = 500,
  ) {}

  record(event: SessionEventRecord): void {
    this.events.push(event);
    this.scheduleFlush();
  }

  recordAnswer(answer: ToolAnswerRecord): void {
    this.answers.push(answer);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.events.length + this.answers.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs);
  }

  /** Writes what is buffered; resolves when everything recorded so far is stored. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const events = this.events;
    const answers = this.answers;
    this.events = [];
    this.answers = [];
    this.flushing = this.flushing.then(async () => {
      if (events.length === 0 && answers.length === 0) return;
      try {
        await this.store.appendLog(events, answers);
      } catch (error) {
        this.logger.error({ err: error, events: events.length, answers: answers.length }, 'session event log write failed');
      }
    });
    return this.flushing;
  }
}
