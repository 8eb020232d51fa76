/**
 * The session store with its background writes counted when they fail. The event log
 * and the snapshot writer catch and log such failures themselves (a call goes on while
 * storage hiccups), so this is where an operator's counter can see them without the
 * sessions code knowing about metrics. Errors still reach the caller unchanged.
 */
import type { SessionFence } from '../booking/ports.js';
import { isTakenOver } from '../errors.js';
import type { Database } from '../store/database.js';
import { DrizzleSessionStore, type SessionEventRecord, type ToolAnswerRecord } from '../store/session-store.js';
import type { BrokerMetrics } from './metrics.js';

type SessionChanges = Parameters<DrizzleSessionStore['saveSession']>[1];

export class CountingSessionStore extends DrizzleSessionStore {
  constructor(
    db: Database,
    private readonly metrics: BrokerMetrics,
  ) {
    super(db);
  }

  override async appendLog(events: SessionEventRecord[], answers: ToolAnswerRecord[]): Promise<void> {
    try {
      await super.appendLog(events, answers);
    } catch (error) {
      this.metrics.storageFailed('event_log');
      throw error;
    }
  }

  override async saveSession(fence: SessionFence, changes: SessionChanges): Promise<void> {
    try {
      await super.saveSession(fence, changes);
    } catch (error) {
      // A write refused because another instance owns the session is not a storage failure.
      if (!isTakenOver(error)) this.metrics.storageFailed('snapshot');
      throw error;
    }
  }
}
