/**
 * Writes one session's persisted machine snapshot when something a restart must know has
 * changed: the hold (by id: a later deadline is re-read from the database on restore), the
 * appointment, what was asked, the connection, or the end. Passing states such as a
 * running tool or an extension in flight are not written. A session's writes never
 * overlap: changes made during a write collapse into one more write of whatever is latest
 * then.
 *
 * The writes of all sessions go through one `SnapshotWrites`, which stores every session
 * that changed within `GATHER_MS` in one statement, and while that is under way gathers
 * the next: the 99 callers refused one slot at the same moment are one round trip, not
 * 99, and at 500 live calls (166 tool calls/s) a statement carries several sessions
 * instead of one per tool call (measured: 1,819 snapshot statements for ~2,500 tool calls
 * when each turn of the event loop wrote its own). A restart loses at most that much of a
 * snapshot, never a hold or appointment: those are restored from their own rows.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { AnyActorRef } from 'xstate';
import type { CallSessionContext, SessionOutcome } from '../../machines/call-session.types.js';
import type { SessionFence } from '../booking/ports.js';
import { refusedForItsData } from '../store/postgres-errors.js';
import type { SessionOwnership } from './ownership.js';
import type { SessionChanges, SessionStore } from './ports.js';

interface Persisted {
  holdId: string | null;
  appointment: unknown;
  request: unknown;
  disconnectedAt: unknown;
}

const persistedOf = (context: CallSessionContext): Persisted => ({
  holdId: context.hold?.id ?? null,
  appointment: context.appointment,
  request: context.request,
  disconnectedAt: context.disconnectedAt,
});

/** Sessions written per statement: a shutdown of thousands of calls is a few statements, none huge. */
const MAX_SESSIONS_PER_WRITE = 250;

/** How long changes are gathered into one write: well inside the event log's 50 ms, far below a caller's pace. */
const GATHER_MS = 20;

const gathered = () => new Promise<void>((resolve) => setTimeout(resolve, GATHER_MS));

export class SnapshotWriter {
  private last: Persisted | null = null;
  /** A write was refused: another instance owns the session, and nothing more is written. */
  takenOver = false;

  constructor(
    /** The fence of the copy being written, read at each write (an open here may have raised its epoch). */
    readonly fence: () => SessionFence,
    private readonly actor: AnyActorRef,
    private readonly writes: SnapshotWrites,
  ) {}

  /** Called with every snapshot; starts a write if something a restart needs changed. */
  observe(context: CallSessionContext): void {
    const last = this.last;
    const next = persistedOf(context);
    const changed =
      !last || last.holdId !== next.holdId || last.appointment !== next.appointment || last.request !== next.request || last.disconnectedAt !== next.disconnectedAt;
    if (changed) void this.write();
  }

  /**
   * Writes the latest snapshot; settles once the state current at the call is stored.
   * A done machine is written as ended with its outcome: the host awaits that write before
   * it tells anyone the call ended.
   */
  write(): Promise<void> {
    if (this.takenOver) return Promise.resolve();
    this.last = persistedOf(this.actor.getSnapshot().context as CallSessionContext);
    return this.writes.add(this);
  }

  /** What to store now: the snapshot as it is at the moment of writing. */
  changes(): SessionChanges {
    const snapshot = this.actor.getSnapshot();
    const done = snapshot.status === 'done';
    const outcome = (snapshot.context as CallSessionContext).outcome as SessionOutcome | null;
    return {
      state: snapshot.value,
      snapshot: this.actor.getPersistedSnapshot(),
      ...(done ? { status: 'ended' as const, outcome, ended: true } : {}),
    };
  }
}

/** The snapshot writes of every session of this broker, gathered into one statement (see above). */
export class SnapshotWrites {
  private queued = new Set<SnapshotWriter>();
  /** The write that takes what is queued now; it starts once the one in flight is done. */
  private upcoming: Promise<void> | null = null;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: SessionStore,
    private readonly ownership: SessionOwnership,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /** Queues `writer` for the next write (once, however often it changes meanwhile); settles when that is stored or given up. */
  add(writer: SnapshotWriter): Promise<void> {
    this.queued.add(writer);
    this.upcoming ??= this.inFlight.then(gathered).then(() => this.writeQueued());
    return this.upcoming;
  }

  private writeQueued(): Promise<void> {
    const writers = [...this.queued].filter((writer) => !writer.takenOver);
    this.queued = new Set();
    this.upcoming = null;
    this.inFlight = this.writeAll(writers);
    return this.inFlight;
  }

  private async writeAll(writers: SnapshotWriter[]): Promise<void> {
    for (let index = 0; index < writers.length; index += MAX_SESSIONS_PER_WRITE) {
      await this.write(writers.slice(index, index + MAX_SESSIONS_PER_WRITE));
    }
  }

  private async write(writers: SnapshotWriter[]): Promise<void> {
    const writes = writers.map((writer) => ({ writer, fence: writer.fence(), changes: writer.changes() }));
    try {
      const refused = new Set(await this.store.saveSessions(writes.map(({ fence, changes }) => ({ fence, changes }))));
      for (const { writer, fence } of writes) {
        // Taken over: the new owner's snapshot is the one that counts.
        if (!refused.has(fence.sessionId)) continue;
        writer.takenOver = true;
        this.ownership.lost(fence);
      }
    } catch (error) {
      // One session's snapshot that storage cannot take (text it refuses) must not cost the others theirs.
      if (writers.length > 1 && refusedForItsData(error)) {
        for (const writer of writers) await this.write([writer]);
        return;
      }
      this.logger.error({ err: error, sessions: writers.length, session_id: writes.length === 1 ? writes[0]!.fence.sessionId : undefined }, 'session snapshot write failed');
    }
  }
}
