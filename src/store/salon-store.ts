/**
 * The salon's own side of storage (PROTOCOL §7): appointments by id whoever booked them,
 * blocks, and what the day board reads. Blocks claim time through
 * `callhold_put_block` (drizzle/0004_salon_claim_functions.sql): the same per-staff-day
 * locks and the same exclusion constraint as every hold and appointment.
 */
import { and, asc, eq, gt, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import type { AppointmentRecord, BlockRecord, ClaimConflicts, HoldRecord, InstantRange, PutBlockResult, SalonStore } from '../booking/ports.js';
import { claimLockKeys, claimRows, rangeLiteral, textArray, toAppointment, toHold } from './booking-store.js';
import type { Database } from './database.js';
import { appointments, blocks, holds, staffClaims } from './schema.js';

function toBlock(row: typeof blocks.$inferSelect): BlockRecord {
  return { id: row.id, tenantId: row.tenantId, staffId: row.staffId, start: row.startAt, end: row.endAt, reason: row.reason, source: row.source };
}

export class DrizzleSalonStore implements SalonStore {
  constructor(private readonly db: Database) {}

  async getAppointment(tenantId: string, appointmentId: string): Promise<AppointmentRecord | null> {
    const [row] = await this.db.select().from(appointments).where(and(eq(appointments.tenantId, tenantId), eq(appointments.id, appointmentId)));
    return row ? toAppointment(row) : null;
  }

  cancelAppointment(tenantId: string, appointmentId: string): Promise<{ appointment: AppointmentRecord; changed: boolean } | null> {
    return this.db.transaction(async (tx) => {
      const [cancelled] = await tx
        .update(appointments)
        .set({ status: 'cancelled', cancelledAt: sql`now()` })
        .where(and(eq(appointments.tenantId, tenantId), eq(appointments.id, appointmentId), eq(appointments.status, 'booked')))
        .returning();
      if (cancelled) {
        await tx.delete(staffClaims).where(and(eq(staffClaims.tenantId, tenantId), eq(staffClaims.appointmentId, appointmentId)));
        return { appointment: toAppointment(cancelled), changed: true };
      }
      const [current] = await tx.select().from(appointments).where(and(eq(appointments.id, appointmentId), eq(appointments.tenantId, tenantId)));
      return current ? { appointment: toAppointment(current), changed: false } : null;
    });
  }

  async putBlock(block: BlockRecord): Promise<PutBlockResult> {
    const during = { start: block.start, end: block.end };
    const rows = await claimRows<typeof blocks.$inferSelect>(
      this.db,
      sql`SELECT * FROM callhold_put_block(${block.tenantId}, ${block.id}, ${block.staffId},
        ${textArray(claimLockKeys(block.tenantId, block.staffId, during))}::text[], ${rangeLiteral(during)}::tstzrange,
        ${block.reason}, ${block.source})`,
    );
    if (rows) return { stored: true, block: toBlock(rows[0]!) };
    return { stored: false, conflicts: await this.conflicts(block.tenantId, block.staffId, during, block.id) };
  }

  async deleteBlock(tenantId: string, blockId: string): Promise<BlockRecord | null> {
    const [row] = await this.db.delete(blocks).where(and(eq(blocks.tenantId, tenantId), eq(blocks.id, blockId))).returning();
    return row ? toBlock(row) : null;
  }

  async listBlocks(tenantId: string, window: InstantRange): Promise<BlockRecord[]> {
    const rows = await this.db
      .select()
      .from(blocks)
      .where(and(eq(blocks.tenantId, tenantId), lt(blocks.startAt, window.end), gt(blocks.endAt, window.start)))
      .orderBy(asc(blocks.startAt), asc(blocks.staffId), asc(blocks.id));
    return rows.map(toBlock);
  }

  async appointmentClaims(tenantId: string, appointmentIds: string[]): Promise<Array<{ appointmentId: string; during: InstantRange }>> {
    if (appointmentIds.length === 0) return [];
    const rows = await this.db
      .select({ appointmentId: staffClaims.appointmentId, during: staffClaims.during })
      .from(staffClaims)
      .where(and(eq(staffClaims.tenantId, tenantId), inArray(staffClaims.appointmentId, appointmentIds)));
    return rows.map((row) => ({ appointmentId: row.appointmentId!, during: row.during }));
  }

  async liveHolds(tenantId: string, window: InstantRange): Promise<Array<HoldRecord & { callId: string | null }>> {
    const rows = await this.db
      .select()
      .from(holds)
      .where(
        and(
          eq(holds.tenantId, tenantId),
          eq(holds.status, 'held'),
          sql`${holds.expiresAt} > now()`,
          lt(holds.startAt, window.end),
          gt(holds.endAt, window.start),
        ),
      )
      .orderBy(asc(holds.startAt));
    return rows.map((row) => ({ ...toHold(row), callId: row.callId }));
  }

  /** The owners of live claims of `staffId` overlapping `during`, other than block `exceptBlockId`. */
  private async conflicts(tenantId: string, staffId: string, during: InstantRange, exceptBlockId: string): Promise<ClaimConflicts> {
    const overlapping = and(
      eq(staffClaims.tenantId, tenantId),
      eq(staffClaims.staffId, staffId),
      sql`${staffClaims.during} && ${rangeLiteral(during)}::tstzrange`,
    );
    const [appointmentRows, holdRows, blockRows] = await Promise.all([
      this.db
        .selectDistinct({ appointment: appointments })
        .from(staffClaims)
        .innerJoin(appointments, and(eq(appointments.tenantId, staffClaims.tenantId), eq(appointments.id, staffClaims.appointmentId)))
        .where(and(overlapping, eq(appointments.status, 'booked'))),
      this.db
        .selectDistinct({ hold: holds })
        .from(staffClaims)
        .innerJoin(holds, and(eq(holds.tenantId, staffClaims.tenantId), eq(holds.id, staffClaims.holdId)))
        .where(and(overlapping, eq(holds.status, 'held'), sql`${holds.expiresAt} > now()`)),
      this.db
        .selectDistinct({ block: blocks })
        .from(staffClaims)
        .innerJoin(blocks, and(eq(blocks.tenantId, staffClaims.tenantId), eq(blocks.id, staffClaims.blockId)))
        .where(and(overlapping, isNotNull(staffClaims.blockId), sql`${staffClaims.blockId} <> ${exceptBlockId}`)),
    ]);
    const byStart = <T extends { start: Date }>(list: T[]) => list.sort((a, b) => a.start.getTime() - b.start.getTime());
    return {
      appointments: byStart(appointmentRows.map((row) => toAppointment(row.appointment))),
      holds: byStart(holdRows.map((row) => toHold(row.hold))),
      blocks: byStart(blockRows.map((row) => toBlock(row.block))),
    };
  }
}
