/**
 * Writes one session's persisted machine snapshot when something a restart must know has
 * changed: the hold (by id: a later deadline is re-read from the database on restore), the
 * appointment, what was asked, the connection, or the end. Passing states such as a
 * running tool or an extension in flight are not written. Writes never overlap: changes
 * made during a write collapse into one more write of whatever is latest then.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { AnyActorRef } from 'xstate';
import type { CallSessionContext, SessionOutcome } from '../../machines/call-session.types.js';
import { isTakenOver } from '../errors.js';
import type { SessionFence } from '../booking/ports.js';
import type { SessionOwnership } from './ownership.js';
import type { SessionStore } from './ports.js';

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

export class SnapshotWriter {
  private last: Persisted | null = null;
  private dirty = false;
  private writing: Promise<void> | null = null;
  /** A write was refused: another instance owns the session, and nothing more is written. */
  takenOver = false;

  constructor(
    /** The fence of the copy being written, read at each write (an open here may have raised its epoch). */
    private readonly fence: () => SessionFence,
    private readonly actor: AnyActorRef,
    private readonly store: SessionStore,
    private readonly ownership: SessionOwnership,
    private readonly logger: FastifyBaseLogger,
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
   * Writes the latest snapshot now; settles once the state current at the call is stored.
   * A done machine is written as ended with its outcome: the host awaits that write before
   * it tells anyone the call ended.
   */
  write(): Promise<void> {
    if (this.takenOver) return Promise.resolve();
    this.last = persistedOf(this.actor.getSnapshot().context as CallSessionContext);
    this.dirty = true;
    this.writing ??= this.writeLatest();
    return this.writing;
  }

  private async writeLatest(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      const snapshot = this.actor.getSnapshot();
      const done = snapshot.status === 'done';
      const outcome = (snapshot.context as CallSessionContext).outcome as SessionOutcome | null;
      const fence = this.fence();
      try {
        await this.store.saveSession(fence, {
          state: snapshot.value,
          snapshot: this.actor.getPersistedSnapshot(),
          ...(done ? { status: 'ended' as const, outcome, ended: true } : {}),
        });
      } catch (error) {
        // Taken over: the new owner's snapshot is the one that counts.
        if (isTakenOver(error)) {
          this.takenOver = true;
          this.ownership.lost(fence);
          break;
        }
        this.logger.error({ err: error }, 'session snapshot write failed');
      }
    }
    // Cleared in the same tick as the last dirty check, so no change can slip between them.
    this.writing = null;
  }
}
