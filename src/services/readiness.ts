/** Readiness (`/readyz`): does storage answer a trivial query in time? */
import { sql } from 'drizzle-orm';
import type { DatabaseHandle } from '../store/database.js';
import { withinDeadline } from './deadline.js';

export const READY_TIMEOUT_MS = 1000;

export class Readiness {
  constructor(private readonly database: DatabaseHandle) {}

  /** Resolves when storage answers `select 1` within `READY_TIMEOUT_MS`; rejects with the reason otherwise. */
  async check(): Promise<void> {
    await withinDeadline(this.database.db.execute(sql`select 1`), READY_TIMEOUT_MS, 'storage');
  }
}
