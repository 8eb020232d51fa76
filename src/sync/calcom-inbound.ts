/**
 * The `calcom` calendar of record, inbound (PROTOCOL §7): bookings made on Cal.com itself
 * become blocks (`source: "calendar"`, id `calcom:<uid>`) through the front desk's block
 * verbs, so the one exclusion constraint keeps the phone line off their time. Cal.com's
 * webhooks bring them in; a reconciliation that lists the coming days' bookings heals a
 * webhook that was lost.
 *
 * - A booking of ours coming back (its uid is in `calendar_links`, or its metadata names
 *   one of our appointments, which also covers the echo that overtakes our own create's
 *   answer) changes nothing.
 * - A booking that overlaps a live claim cannot become a block: it is kept as a conflict
 *   (listed in `/sync`) and never dropped; so is one whose host maps to none of our staff.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Catalog } from '../booking/catalog.js';
import type { FrontDesk } from '../booking/front-desk.js';
import type { SalonStore } from '../booking/ports.js';
import type { CalcomCalendar } from './calendar-settings.js';
import { CalcomClient, toCalcomBooking, type CalcomBooking } from './calcom-client.js';
import type { CalendarStore } from './ports.js';

/** What an inbound booking event did. */
export type InboundOutcome = 'block' | 'conflict' | 'echo' | 'removed' | 'ignored';

/** How far ahead reconciliation lists Cal.com's bookings. */
export const RECONCILE_DAYS = 28;

export const blockIdOf = (uid: string) => `calcom:${uid}`;

/** `X-Cal-Signature-256`: hex HMAC-SHA256 of the raw body, keyed by the webhook secret. */
export function calcomSignatureValid(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header || !/^[0-9a-f]{64}$/i.test(header)) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(header, 'hex'));
}

export interface CalcomInboundOptions {
  store: CalendarStore;
  salonStore: SalonStore;
  frontDesk: FrontDesk;
  calcomBaseUrl: string;
  logger: FastifyBaseLogger;
}

export class CalcomInbound {
  constructor(private readonly options: CalcomInboundOptions) {}

  /** One webhook, already verified: `{triggerEvent, payload}`. */
  async handle(catalog: Catalog, calendar: CalcomCalendar, event: { triggerEvent?: unknown; payload?: unknown }): Promise<InboundOutcome> {
    const payload = event.payload as Record<string, any> | undefined;
    if (!payload || typeof payload !== 'object' || typeof payload.uid !== 'string') return 'ignored';
    const booking = toCalcomBooking(payload);
    switch (event.triggerEvent) {
      case 'BOOKING_CREATED':
        return this.apply(catalog, calendar, booking);
      case 'BOOKING_RESCHEDULED': {
        if (await this.isOurs(catalog.tenantId, booking)) return 'echo';
        const previous = typeof payload.rescheduleUid === 'string' ? payload.rescheduleUid : typeof payload.fromReschedule === 'string' ? payload.fromReschedule : null;
        if (previous && previous !== booking.uid) await this.remove(catalog.tenantId, previous);
        return this.apply(catalog, calendar, booking);
      }
      case 'BOOKING_CANCELLED':
        if (await this.isOurs(catalog.tenantId, booking)) return 'echo';
        return (await this.remove(catalog.tenantId, booking.uid)) ? 'removed' : 'ignored';
      default:
        return 'ignored';
    }
  }

  /**
   * Lists the next `RECONCILE_DAYS` days of Cal.com bookings and makes the blocks match:
   * new ones placed (or kept as conflicts), ones no longer listed (cancelled while a
   * webhook was lost) freed. Only bookings that start from now on are freed.
   */
  async reconcile(catalog: Catalog, calendar: CalcomCalendar, now: Date, signal: AbortSignal): Promise<{ applied: number; removed: number }> {
    const until = new Date(now.getTime() + RECONCILE_DAYS * 86_400_000);
    const client = new CalcomClient(this.options.calcomBaseUrl, calendar.api_key);
    const listed = await client.listBookings({ status: 'upcoming', afterStart: now.toISOString(), beforeEnd: until.toISOString() }, signal);
    const live = listed.filter((booking) => booking.status !== 'cancelled' && booking.status !== 'rejected');
    let applied = 0;
    for (const booking of live) {
      const outcome = await this.apply(catalog, calendar, booking);
      if (outcome === 'block' || outcome === 'conflict') applied++;
    }
    const listedUids = new Set(live.map((booking) => booking.uid));
    const blocks = await this.options.salonStore.listBlocks(catalog.tenantId, { start: now, end: until });
    let removed = 0;
    for (const block of blocks) {
      if (block.source !== 'calendar' || !block.id.startsWith('calcom:') || block.start < now) continue;
      if (listedUids.has(block.id.slice('calcom:'.length))) continue;
      await this.options.frontDesk.deleteBlock(catalog.tenantId, block.id);
      removed++;
    }
    const status = await this.options.store.syncStatus(catalog.tenantId);
    for (const conflict of status.conflicts) {
      if (conflict.start >= now && conflict.start < until && !listedUids.has(conflict.externalId)) {
        await this.options.store.deleteConflict(catalog.tenantId, conflict.externalId);
        removed++;
      }
    }
    return { applied, removed };
  }

  private async apply(catalog: Catalog, calendar: CalcomCalendar, booking: CalcomBooking): Promise<InboundOutcome> {
    const tenantId = catalog.tenantId;
    if (await this.isOurs(tenantId, booking)) return 'echo';
    if (booking.status === 'cancelled' || booking.status === 'rejected') return (await this.remove(tenantId, booking.uid)) ? 'removed' : 'ignored';
    if (!(booking.end > booking.start)) return 'ignored';
    const staffId = this.staffOf(catalog, calendar, booking);
    const conflict = { externalId: booking.uid, staffId, start: booking.start, end: booking.end, appointmentId: null as string | null };
    if (staffId === null) {
      await this.options.store.putConflict(tenantId, conflict);
      return 'conflict';
    }
    const outcome = await this.options.frontDesk.putBlock(catalog, {
      id: blockIdOf(booking.uid),
      staffId,
      start: booking.start,
      end: booking.end,
      reason: 'Cal.com booking',
      source: 'calendar',
    });
    if ('stored' in outcome && outcome.stored) {
      await this.options.store.deleteConflict(tenantId, booking.uid);
      return 'block';
    }
    if ('conflicts' in outcome) conflict.appointmentId = outcome.conflicts.appointments[0]?.id ?? null;
    this.options.logger.warn({ tenant: tenantId, uid: booking.uid, staff: staffId, appointment_id: conflict.appointmentId }, 'Cal.com booking overlaps a claim of ours: kept as a conflict');
    await this.options.store.putConflict(tenantId, conflict);
    return 'conflict';
  }

  /** Frees the block (or conflict) of an external booking; false when there was none. */
  private async remove(tenantId: string, uid: string): Promise<boolean> {
    const freed = await this.options.frontDesk.deleteBlock(tenantId, blockIdOf(uid));
    const dropped = await this.options.store.deleteConflict(tenantId, uid);
    return freed !== null || dropped;
  }

  private async isOurs(tenantId: string, booking: CalcomBooking): Promise<boolean> {
    if (typeof booking.metadata.callhold_appointment_id === 'string') return true;
    return (await this.options.store.findLinkByUid(tenantId, booking.uid)) !== null;
  }

  /** The host's username through `staff`; with one staff member and no map, that one. */
  private staffOf(catalog: Catalog, calendar: CalcomCalendar, booking: CalcomBooking): string | null {
    const byUsername = new Map(Object.entries(calendar.staff ?? {}).map(([staffId, username]) => [username.toLowerCase(), staffId]));
    for (const host of booking.hosts) {
      const staffId = byUsername.get(host.toLowerCase());
      if (staffId && catalog.staff.some((member) => member.id === staffId)) return staffId;
    }
    if (byUsername.size === 0 && catalog.staff.length === 1) return catalog.staff[0]!.id;
    return null;
  }
}
