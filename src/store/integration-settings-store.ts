/** Integration settings per tenant and kind (PROTOCOL §6), on drizzle. */
import { and, eq, sql } from 'drizzle-orm';
import type { IntegrationKind, IntegrationSettingsStore } from '../integrations/settings.js';
import type { Database } from './database.js';
import { integrationSettings } from './schema.js';

export class DrizzleIntegrationSettingsStore implements IntegrationSettingsStore {
  constructor(private readonly db: Database) {}

  async get(tenantId: string, kind: IntegrationKind): Promise<Record<string, unknown> | null> {
    const [row] = await this.db
      .select({ settings: integrationSettings.settings })
      .from(integrationSettings)
      .where(and(eq(integrationSettings.tenantId, tenantId), eq(integrationSettings.kind, kind)));
    return row?.settings ?? null;
  }

  async put(tenantId: string, kind: IntegrationKind, settings: Record<string, unknown>): Promise<void> {
    await this.db
      .insert(integrationSettings)
      .values({ tenantId, kind, settings })
      .onConflictDoUpdate({ target: [integrationSettings.tenantId, integrationSettings.kind], set: { settings, updatedAt: sql`now()` } });
  }

  async delete(tenantId: string, kind: IntegrationKind): Promise<boolean> {
    const deleted = await this.db
      .delete(integrationSettings)
      .where(and(eq(integrationSettings.tenantId, tenantId), eq(integrationSettings.kind, kind)))
      .returning({ kind: integrationSettings.kind });
    return deleted.length > 0;
  }
}
