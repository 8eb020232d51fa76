/** Tenants, their catalogs, customers and runtime tokens, on drizzle. */
import { and, asc, eq, notInArray, sql } from 'drizzle-orm';
import type { Catalog, Customer } from '../booking/catalog.js';
import type { CatalogStore } from '../booking/ports.js';
import type { Database } from './database.js';
import { customers, runtimeTokens, services, staff, staffServices, tenants } from './schema.js';

export class DrizzleCatalogStore implements CatalogStore {
  constructor(private readonly db: Database) {}

  putCatalog(catalog: Catalog, knownCustomers: Customer[]): Promise<void> {
    const tenantId = catalog.tenantId;
    return this.db.transaction(async (tx) => {
      const tenantRow = {
        name: catalog.name,
        timezone: catalog.timezone,
        slotStepMin: catalog.slotStepMin,
        openingHours: catalog.openingHours,
        closedDates: catalog.closedDates,
        updatedAt: sql`now()`,
      };
      await tx.insert(tenants).values({ id: tenantId, ...tenantRow }).onConflictDoUpdate({ target: tenants.id, set: tenantRow });

      // Dropped staff and services become inactive rather than deleted: appointments still name them.
      const staffIds = catalog.staff.map((member) => member.id);
      await tx.update(staff).set({ active: false }).where(and(eq(staff.tenantId, tenantId), notInArray(staff.id, staffIds)));
      for (const [position, member] of catalog.staff.entries()) {
        const row = { name: member.name, openingHours: member.openingHours, position, active: true };
        await tx.insert(staff).values({ tenantId, id: member.id, ...row }).onConflictDoUpdate({ target: [staff.tenantId, staff.id], set: row });
      }
      const serviceIds = catalog.services.map((service) => service.id);
      await tx.update(services).set({ active: false }).where(and(eq(services.tenantId, tenantId), notInArray(services.id, serviceIds)));
      for (const [position, service] of catalog.services.entries()) {
        const row = { name: service.name, aliases: service.aliases, phases: service.phases, position, active: true };
        await tx.insert(services).values({ tenantId, id: service.id, ...row }).onConflictDoUpdate({ target: [services.tenantId, services.id], set: row });
      }

      await tx.delete(staffServices).where(eq(staffServices.tenantId, tenantId));
      const offers = catalog.staff.flatMap((member) => member.services.map((serviceId) => ({ tenantId, staffId: member.id, serviceId })));
      if (offers.length > 0) await tx.insert(staffServices).values(offers);

      for (const customer of knownCustomers) {
        await tx
          .insert(customers)
          .values({ tenantId, ...customer })
          .onConflictDoUpdate({ target: [customers.tenantId, customers.phone], set: { name: customer.name } });
      }
    });
  }

  /** `updated_at` to the microsecond: `putCatalog` sets it in its transaction. */
  async catalogVersion(tenantId: string): Promise<string | null> {
    const [tenant] = await this.db.select({ version: sql<string>`${tenants.updatedAt}::text` }).from(tenants).where(eq(tenants.id, tenantId));
    return tenant?.version ?? null;
  }

  async loadCatalog(tenantId: string): Promise<Catalog | null> {
    const [tenant] = await this.db.select().from(tenants).where(eq(tenants.id, tenantId));
    if (!tenant) return null;
    const [staffRows, serviceRows, offerRows] = await Promise.all([
      this.db.select().from(staff).where(and(eq(staff.tenantId, tenantId), eq(staff.active, true))).orderBy(asc(staff.position)),
      this.db.select().from(services).where(and(eq(services.tenantId, tenantId), eq(services.active, true))).orderBy(asc(services.position)),
      this.db.select().from(staffServices).where(eq(staffServices.tenantId, tenantId)),
    ]);
    return {
      tenantId,
      name: tenant.name,
      timezone: tenant.timezone,
      slotStepMin: tenant.slotStepMin,
      openingHours: tenant.openingHours,
      closedDates: tenant.closedDates,
      staff: staffRows.map((member) => ({
        id: member.id,
        name: member.name,
        openingHours: member.openingHours,
        services: offerRows.filter((offer) => offer.staffId === member.id).map((offer) => offer.serviceId),
      })),
      services: serviceRows.map((service) => ({ id: service.id, name: service.name, aliases: service.aliases, phases: service.phases })),
    };
  }

  async tenantExists(tenantId: string): Promise<boolean> {
    const [row] = await this.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
    return row !== undefined;
  }

  async addRuntimeToken(tenantId: string, tokenHash: string): Promise<void> {
    await this.db.insert(runtimeTokens).values({ tenantId, tokenHash });
  }

  async tenantForToken(tokenHash: string): Promise<string | null> {
    const [row] = await this.db.select({ tenantId: runtimeTokens.tenantId }).from(runtimeTokens).where(eq(runtimeTokens.tokenHash, tokenHash));
    return row?.tenantId ?? null;
  }

  async findCustomer(tenantId: string, phone: string): Promise<Customer | null> {
    const [row] = await this.db
      .select({ name: customers.name, phone: customers.phone })
      .from(customers)
      .where(and(eq(customers.tenantId, tenantId), eq(customers.phone, phone)));
    return row ?? null;
  }
}
