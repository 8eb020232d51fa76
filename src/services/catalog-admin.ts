/**
 * The salon's catalog as the admin API manages it (PROTOCOL §2): replaced as a whole,
 * read back as stored, and served to calls from a short cache that a replacement clears
 * at once, so a new catalog is what the next call sees.
 */
import type { CatalogCache } from '../booking/catalog-cache.js';
import type { Catalog, Customer } from '../booking/catalog.js';
import type { AppointmentRecord, CatalogStore, InstantRange } from '../booking/ports.js';
import type { BookingService } from '../booking/booking-service.js';
import { BrokerError } from '../errors.js';

export class CatalogAdmin {
  constructor(
    private readonly store: CatalogStore,
    private readonly cache: CatalogCache,
    private readonly booking: BookingService,
  ) {}

  async put(catalog: Catalog, customers: Customer[]): Promise<void> {
    await this.store.putCatalog(catalog, customers);
    this.cache.invalidate(catalog.tenantId);
  }

  /** The catalog as last stored, bypassing the cache; null for an unknown tenant. */
  readBack(tenantId: string): Promise<Catalog | null> {
    return this.store.loadCatalog(tenantId);
  }

  /** The catalog calls work with (cached); null for an unknown tenant. */
  catalog(tenantId: string): Promise<Catalog | null> {
    return this.cache.get(tenantId);
  }

  /**
   * The catalog calls work with, for a request about a tenant that must exist.
   * @throws BrokerError `NOT_FOUND` for an unknown tenant
   */
  async known(tenantId: string): Promise<Catalog> {
    const catalog = await this.cache.get(tenantId);
    if (!catalog) throw new BrokerError('NOT_FOUND', `unknown tenant "${tenantId}"`);
    return catalog;
  }

  exists(tenantId: string): Promise<boolean> {
    return this.store.tenantExists(tenantId);
  }

  appointments(tenantId: string, window: InstantRange): Promise<AppointmentRecord[]> {
    return this.booking.appointmentsIn(tenantId, window);
  }
}
