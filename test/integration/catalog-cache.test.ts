/**
 * The catalog cache against real storage: an unchanged catalog stays the same object past
 * its age (one small version read, no reload), a change made elsewhere (another broker
 * instance's PUT) is seen within the age, a local PUT at once.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../../src/booking/catalog.js';
import { CatalogCache } from '../../src/booking/catalog-cache.js';
import { DrizzleCatalogStore } from '../../src/store/catalog-store.js';
import { demoCatalog } from '../fixtures/catalogs.js';
import { drivers, openTestDatabase, type TestDatabase } from '../fixtures/database.js';

/** The store, counting full catalog loads. */
class CountingCatalogStore extends DrizzleCatalogStore {
  loads = 0;
  override async loadCatalog(tenantId: string): Promise<Catalog | null> {
    this.loads++;
    return super.loadCatalog(tenantId);
  }
}

const MAX_AGE_MS = 2000;

describe.each(drivers)('catalog cache on %s', (driver) => {
  let database: TestDatabase;
  let store: CountingCatalogStore;
  /** Another broker instance on the same database. */
  let elsewhere: DrizzleCatalogStore;

  beforeAll(async () => {
    database = await openTestDatabase(driver);
    store = new CountingCatalogStore(database.db);
    elsewhere = new DrizzleCatalogStore(database.db);
  });
  afterAll(() => database.close());

  async function cachedSalon() {
    const demo = demoCatalog(`salon-${randomUUID().slice(0, 8)}`);
    await elsewhere.putCatalog(demo.catalog, demo.customers);
    let now = 1_000_000;
    const cache = new CatalogCache(store, () => now, MAX_AGE_MS);
    return { demo, cache, tenantId: demo.catalog.tenantId, pass: (ms: number) => (now += ms) };
  }

  it('keeps an unchanged catalog as the same object past its age, without loading it again', async () => {
    const { cache, tenantId, pass } = await cachedSalon();
    const first = await cache.get(tenantId);
    const loads = store.loads;
    pass(MAX_AGE_MS + 1);
    expect(await cache.get(tenantId)).toBe(first);
    pass(MAX_AGE_MS + 1);
    expect(await cache.get(tenantId)).toBe(first);
    expect(store.loads).toBe(loads);
  });

  it('sees a catalog replaced elsewhere once its age has passed', async () => {
    const { demo, cache, tenantId, pass } = await cachedSalon();
    expect((await cache.get(tenantId))!.name).toBe(demo.catalog.name);
    await elsewhere.putCatalog({ ...demo.catalog, name: 'Salon Neu' }, []);
    expect((await cache.get(tenantId))!.name).toBe(demo.catalog.name);
    pass(MAX_AGE_MS + 1);
    expect((await cache.get(tenantId))!.name).toBe('Salon Neu');
  });

  it('loads again at once after a local invalidation, and answers null for an unknown tenant', async () => {
    const { demo, cache, tenantId } = await cachedSalon();
    await cache.get(tenantId);
    await elsewhere.putCatalog({ ...demo.catalog, name: 'Salon Sofort' }, []);
    cache.invalidate(tenantId);
    expect((await cache.get(tenantId))!.name).toBe('Salon Sofort');
    expect(await cache.get(`unknown-${randomUUID()}`)).toBeNull();
  });
});
