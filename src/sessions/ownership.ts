/**
 * Which sessions this broker instance owns, at which epoch (PROTOCOL §3). The host
 * records each session it opens, restores or adopts; every write made for a session
 * takes its fence from here, so it carries the epoch this instance holds and storage can
 * refuse it once another instance has taken the session over. A refused write reports
 * the loss here, and the host lets the session go.
 */
import type { SessionFence } from '../booking/ports.js';
import { BrokerError, isTakenOver } from '../errors.js';

export class SessionOwnership {
  private readonly epochs = new Map<string, { tenantId: string; epoch: number }>();
  private onLost: (fence: SessionFence) => void = () => {};

  constructor(readonly instanceId: string) {}

  /** The tenant goes into every fence: the session's rows are keyed by (tenant, id). */
  own(tenantId: string, sessionId: string, epoch: number): void {
    this.epochs.set(sessionId, { tenantId, epoch });
  }

  /** Forgets the session if it is still held at `epoch` (a newer copy of it here keeps its own). */
  disown(sessionId: string, epoch: number): void {
    if (this.epochs.get(sessionId)?.epoch === epoch) this.epochs.delete(sessionId);
  }

  /**
   * The fence of a write for the session.
   * @throws BrokerError `TAKEN_OVER` when this instance no longer owns it: nothing is written
   */
  fence(sessionId: string): SessionFence {
    const owned = this.epochs.get(sessionId);
    if (owned === undefined) throw new BrokerError('TAKEN_OVER', 'this broker instance no longer owns the session');
    return { tenantId: owned.tenantId, sessionId, epoch: owned.epoch };
  }

  /** Runs a write for the session under its fence; a refusal by storage reports the loss. */
  async write<T>(sessionId: string, write: (fence: SessionFence) => Promise<T>): Promise<T> {
    const fence = this.fence(sessionId);
    try {
      return await write(fence);
    } catch (error) {
      if (isTakenOver(error)) this.lost(fence);
      throw error;
    }
  }

  /** Storage refused a write under `fence`: another instance owns the session now. */
  lost(fence: SessionFence): void {
    if (this.epochs.get(fence.sessionId)?.epoch !== fence.epoch) return;
    this.onLost(fence);
  }

  /** The host's hook: called once per loss noticed through a refused write. */
  whenLost(listener: (fence: SessionFence) => void): void {
    this.onLost = listener;
  }
}
