/**
 * Every frame in and out of a session, written in batches: one multi-row insert per
 * flush instead of one per frame, so a talking caller costs the database little.
 * Tool answers ride in the same writes unless the change they report could not be found
 * again by a retry (see `ToolAnswers`), stored ahead of the frames of the same flush. A
 * crash loses at most the last `flushIntervalMs` of log, never a hold or appointment
 * (those are written, under their tool call's id, before their answer is sent).
 *
 * One call's rows can never cost another's: text PostgreSQL cannot store is made storable
 * when recorded, and a batch refused for its data is written again row by row, so only a
 * row that still fails is lost. A batch that failed because storage is away is kept for
 * the next flush, up to `maxBacklog` rows.
 */
import type { FastifyBaseLogger } from 'fastify';
import { findJsonProblem, storableJson } from '../protocol/json-walk.js';
import { storableText, UNSTORABLE_TEXT } from '../protocol/storable-text.js';
import { refusedForItsData } from '../store/postgres-errors.js';
import type { SessionEventRecord, SessionStore, ToolAnswerRecord } from './ports.js';

/** A record whose every text PostgreSQL can store; untouched (no copy) when it already is. */
function storable<T extends SessionEventRecord | ToolAnswerRecord>(record: T): T {
  const payload = 'payload' in record ? record.payload : record.response;
  const texts = 'type' in record ? [record.type, record.toolCallId ?? ''] : [record.toolCallId, record.name];
  if (!findJsonProblem(payload) && !texts.some((text) => UNSTORABLE_TEXT.test(text))) return record;
  if ('payload' in record) {
    return { ...record, type: storableText(record.type), toolCallId: record.toolCallId && storableText(record.toolCallId), payload: storableJson(payload) };
  }
  return { ...record, toolCallId: storableText(record.toolCallId), name: storableText(record.name), response: storableJson(payload) };
}

export class EventLog {
  private events: SessionEventRecord[] = [];
  private answers: ToolAnswerRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: SessionStore,
    private readonly logger: FastifyBaseLogger,
    private readonly flushIntervalMs = 50,
    private readonly maxBatch = 500,
    private readonly maxBacklog = 10_000,
  ) {}

  record(event: SessionEventRecord): void {
    this.events.push(storable(event));
    this.scheduleFlush();
  }

  recordAnswer(answer: ToolAnswerRecord): void {
    this.answers.push(storable(answer));
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.events.length + this.answers.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs);
  }

  /** Writes what is buffered; resolves when everything recorded so far is stored (or given up). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const events = this.events;
    const answers = this.answers;
    this.events = [];
    this.answers = [];
    this.flushing = this.flushing.then(() => this.write(events, answers));
    return this.flushing;
  }

  private async write(events: SessionEventRecord[], answers: ToolAnswerRecord[]): Promise<void> {
    if (events.length === 0 && answers.length === 0) return;
    try {
      await this.store.appendLog(events, answers);
    } catch (error) {
      if (refusedForItsData(error)) return this.writeOneByOne(events, answers);
      this.keepForLater(events, answers, error);
    }
  }

  private async writeOneByOne(events: SessionEventRecord[], answers: ToolAnswerRecord[]): Promise<void> {
    const rows = [...answers.map((answer) => [[], [answer]] as const), ...events.map((event) => [[event], []] as const)];
    let lost = 0;
    for (const [event, answer] of rows) {
      try {
        await this.store.appendLog([...event], [...answer]);
      } catch (error) {
        lost++;
        this.logger.error({ err: error, session_id: (event[0] ?? answer[0])?.sessionId }, 'session event log row refused');
      }
    }
    if (lost > 0) this.logger.error({ lost, written: rows.length - lost }, 'session event log: rows refused by storage were dropped');
  }

  private keepForLater(events: SessionEventRecord[], answers: ToolAnswerRecord[], error: unknown): void {
    const room = this.maxBacklog - this.events.length - this.answers.length;
    const kept = Math.max(0, Math.min(events.length + answers.length, room));
    this.answers = [...answers.slice(0, kept), ...this.answers];
    this.events = [...events.slice(0, Math.max(0, kept - answers.length)), ...this.events];
    const dropped = events.length + answers.length - kept;
    this.logger.error({ err: error, kept, dropped }, 'session event log write failed; kept for the next flush');
    if (kept > 0) this.timer ??= setTimeout(() => void this.flush(), Math.max(this.flushIntervalMs, 1000)).unref();
  }
}
