/**
 * Catalogs are read on every tool call; this keeps each one in memory for a short while.
 * A PUT through this process invalidates at once; another broker instance on the same
 * database sees the change within `maxAgeMs`.
 */
import type { Catalog } from './catalog.js';
import type { CatalogStore } from './ports.js';

export class CatalogCache {
  private readonly entries = new Map<string, { catalog: Promise<Catalog | null>; loadedAt: number }>();

  constructor(
    private readonly store: CatalogStore,
    private readonly clock: () => number = Date.now,
    private readonly maxAgeMs = 2000,
  ) {}

  get(tenantId: string): Promise<Catalog | null> {
    const cached = this.entries.get(tenantId);
    if (cached && this.clock() - cached.loadedAt < this.maxAgeMs) return cached.catalog;
    const catalog = this.store.loadCatalog(tenantId);
    this.entries.set(tenantId, { catalog, loadedAt: this.clock() });
    catalog.catch(() => this.entries.delete(tenantId));
    return catalog;
  }

  invalidate(tenantId: string): void {
    this.entries.delete(tenantId);
  }
}
