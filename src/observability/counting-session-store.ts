/**
 * The session store with its background writes counted when they fail. The event log
 * and the snapshot writer catch and log such failures themselves (a call goes on while
 * storage hiccups), so this is where an operator's counter can see them without the
 * sessions code knowing about metrics. Errors still reach the caller unchanged.
 */
import type { Database } from '../store/database.js';
import type { SessionWrite } from '../sessions/ports.js';
import { DrizzleSessionStore, type SessionEventRecord, type ToolAnswerRecord } from '../store/session-store.js';
import type { BrokerMetrics } from './metrics.js';

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

  override async saveSessions(writes: SessionWrite[]): Promise<string[]> {
    try {
      return await super.saveSessions(writes);
    } catch (error) {
      this.metrics.storageFailed('snapshot');
      throw error;
    }
  }
}
