/**
 * The `calcom` calendar of record, outbound (PROTOCOL §7): a booked appointment becomes a
 * Cal.com booking on its service's event type, a cancelled one is cancelled there, a moved
 * one is cancelled at the old time and booked at the new. The returned `uid` is stored
 * (`calendar_links`) to cancel it later and to recognise its webhook echo.
 *
 * Cal.com has no idempotency header, so a retry must not book twice: an attempt after an
 * earlier one of the same change (whose outcome we may not know: a timeout, a crash before
 * the uid was stored) first looks for the booking by the attendee address, which is the
 * appointment's own, and by `metadata.callhold_appointment_id`, and adopts it if found.
 */
import type { CalcomCalendar } from './calendar-settings.js';
import { CalcomClient, CalcomError, type CalcomBooking } from './calcom-client.js';
import type { DeliveryResult } from './outbox-worker.js';
import type { CalendarStore, OutboxRow } from './ports.js';

/**
 * Callers leave a phone number, not an email, and Cal.com requires one. Each appointment
 * gets its own address under the reserved `.invalid` domain (RFC 2606): nothing is ever
 * mailed to anybody, and the address finds the booking again.
 */
export const attendeeEmail = (appointmentId: string) => `appointment-${appointmentId}@callhold.invalid`;

export class CalcomDelivery {
  constructor(
    private readonly store: CalendarStore,
    private readonly baseUrl: string,
  ) {}

  async deliver(calendar: CalcomCalendar, row: OutboxRow, signal: AbortSignal): Promise<DeliveryResult> {
    const client = new CalcomClient(this.baseUrl, calendar.api_key);
    if (row.hold) return this.mirrorHold(client, calendar, row, row.hold, signal);
    const appointment = row.appointment;
    const link = await this.store.getLink(row.tenantId, appointment.id);

    if (row.type === 'appointment.cancelled') {
      const uids = new Set<string>(link ? [link.externalUid] : []);
      if (!link || row.attempts > 1) for (const found of await this.ours(client, row, signal)) uids.add(found.uid);
      for (const uid of uids) await client.cancelBooking(uid, 'cancelled in callhold', signal);
      return { delivered: true };
    }

    if (link && link.start.getTime() === appointment.start.getTime()) return { delivered: true };
    const eventTypeId = calendar.event_types[appointment.serviceId];
    if (eventTypeId === undefined) return { delivered: false, discarded: `service "${appointment.serviceId}" has no Cal.com event type` };
    // A move: the booking at the old time goes first (cancelling twice is harmless).
    if (link) await client.cancelBooking(link.externalUid, 'moved in callhold', signal);

    let booking: CalcomBooking | undefined;
    if (row.attempts > 1 || row.type === 'appointment.moved') {
      booking = (await this.ours(client, row, signal)).find((found) => found.start.getTime() === appointment.start.getTime());
    }
    booking ??= await client.createBooking(
      {
        start: appointment.start,
        eventTypeId,
        attendee: {
          name: appointment.customerName,
          email: attendeeEmail(appointment.id),
          timeZone: row.timezone,
          ...(appointment.phone ? { phoneNumber: appointment.phone } : {}),
        },
        metadata: { callhold_appointment_id: appointment.id, callhold_change_id: row.id },
      },
      signal,
    );
    await this.store.putLink(row.tenantId, { appointmentId: appointment.id, externalUid: booking.uid, start: appointment.start });
    return { delivered: true };
  }

  /**
   * A caller's hold as a Cal.com slot reservation: made when the hold is placed, freed when
   * it ends. A reservation is a courtesy to Cal.com's own page, never a condition of the
   * booking: one Cal.com refuses (4xx), or one still failing when its hold has ended, is
   * discarded rather than retried, so the appointment's booking queued behind it goes on.
   */
  private async mirrorHold(client: CalcomClient, calendar: CalcomCalendar, row: OutboxRow, hold: NonNullable<OutboxRow['hold']>, signal: AbortSignal): Promise<DeliveryResult> {
    if (row.type === 'hold.ended') {
      const uid = await this.store.getReservation(row.tenantId, hold.id);
      if (uid) {
        await client.releaseSlot(uid, signal);
        await this.store.deleteReservation(row.tenantId, hold.id);
      }
      return { delivered: true };
    }
    const eventTypeId = calendar.event_types[hold.serviceId];
    if (eventTypeId === undefined) return { delivered: false, discarded: `service "${hold.serviceId}" has no Cal.com event type` };
    if (!(await this.store.holdIsLive(row.tenantId, hold.id))) return { delivered: false, discarded: 'the hold ended before its slot was reserved' };
    try {
      const uid = await client.reserveSlot(
        {
          eventTypeId,
          start: hold.start,
          durationMin: Math.max(1, Math.round((hold.end.getTime() - hold.start.getTime()) / 60_000)),
          reserveMin: Math.max(1, Math.ceil((hold.until.getTime() - Date.now()) / 60_000)),
        },
        signal,
      );
      await this.store.putReservation(row.tenantId, hold.id, uid);
      return { delivered: true };
    } catch (error) {
      const status = error instanceof CalcomError ? error.status : null;
      if (status !== null && status >= 400 && status < 500 && status !== 408 && status !== 429) {
        return { delivered: false, discarded: `Cal.com refused to reserve the slot: ${(error as Error).message}` };
      }
      if (!(await this.store.holdIsLive(row.tenantId, hold.id))) return { delivered: false, discarded: 'the hold ended before its slot was reserved' };
      throw error;
    }
  }

  /** Live Cal.com bookings of this appointment, found by its attendee address and metadata. */
  private async ours(client: CalcomClient, row: OutboxRow, signal: AbortSignal): Promise<CalcomBooking[]> {
    const found = await client.listBookings({ attendeeEmail: attendeeEmail(row.appointment.id) }, signal);
    return found.filter((booking) => booking.metadata.callhold_appointment_id === row.appointment.id && booking.status !== 'cancelled' && booking.status !== 'rejected');
  }
}
