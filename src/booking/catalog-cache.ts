/**
 * Catalogs are read on every tool call; this keeps each one in memory. A PUT through this
 * process invalidates at once; another broker instance on the same database sees the
 * change within `maxAgeMs`, when the cached catalog's version (its tenant row's
 * `updated_at`, which every replacement of the catalog moves) is asked again. An unchanged
 * catalog stays the same object, so what is worked out from it per day (opening windows
 * as instants, service layouts) stays worked out: reloading it every two seconds made the
 * next tool call redo all of that, and cost four queries instead of one small one.
 */
import type { Catalog } from './catalog.js';
import type { CatalogStore } from './ports.js';

interface Entry {
  catalog: Promise<Catalog | null>;
  /** The version the catalog was loaded at; null until known. */
  version: string | null;
  checkedAt: number;
}

export class CatalogCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly store: CatalogStore,
    private readonly clock: () => number = Date.now,
    private readonly maxAgeMs = 2000,
  ) {}

  get(tenantId: string): Promise<Catalog | null> {
    const cached = this.entries.get(tenantId);
    if (cached && this.clock() - cached.checkedAt < this.maxAgeMs) return cached.catalog;
    return this.refresh(tenantId, cached).catalog;
  }

  invalidate(tenantId: string): void {
    this.entries.delete(tenantId);
  }

  /** Keeps `previous` if its version is still the stored one, else loads the catalog again. */
  private refresh(tenantId: string, previous: Entry | undefined): Entry {
    const entry: Entry = { catalog: Promise.resolve(null), version: null, checkedAt: this.clock() };
    entry.catalog = (async () => {
      // Read before the catalog: a change committed in between is seen, and loaded, at the next check.
      entry.version = await this.store.catalogVersion(tenantId);
      if (previous && entry.version !== null && entry.version === previous.version) return previous.catalog;
      return this.store.loadCatalog(tenantId);
    })();
    entry.catalog.catch(() => {
      if (this.entries.get(tenantId) === entry) this.entries.delete(tenantId);
    });
    this.entries.set(tenantId, entry);
    return entry;
  }
}
