/**
 * The booking domain's verbs: hold a slot the moment it is confirmed free, turn a hold
 * into an appointment, and answer every refusal with alternatives in the same breath.
 * No transport here and no SQL: storage is the `BookingStore` port.
 */
import type { Catalog, Customer, Service, StaffMember } from './catalog.js';
import { staffOffering } from './catalog.js';
import { alternatives, alternativesWindow, judgeSlot, localDays, type Slot, type SlotQuery } from './availability.js';
import type { AppointmentRecord, BookingDetails, BookingStore, CatalogStore, HoldRecord, InstantRange, SessionFence } from './ports.js';

export type Unavailable = 'SLOT_TAKEN' | 'OUTSIDE_HOURS' | 'IN_THE_PAST';

/** A slot the caller asked for, already resolved to the catalog and an instant. */
export interface SlotRequest {
  catalog: Catalog;
  service: Service;
  date: string;
  start: Date | null;
  staff: StaffMember | null;
}

export type HoldOutcome =
  | { available: true; hold: HoldRecord; staff: StaffMember }
  | { available: false; reason: Unavailable; alternatives: Slot[] };

export type MoveOutcome =
  | { moved: true; appointment: AppointmentRecord }
  | { moved: false; code: 'SLOT_TAKEN'; reason: Unavailable; alternatives: Slot[] }
  | { moved: false; code: 'NOT_BOOKED' };

export type BookOutcome =
  | { booked: true; appointment: AppointmentRecord; replayed: boolean }
  | { booked: false; code: 'SLOT_TAKEN' | 'NO_HOLD'; reason: Unavailable | null; alternatives: Slot[] };

/** The session's hold as the session knows it; storage decides whether it is still held. */
export interface HeldSlot {
  id: string;
  serviceId: string;
  staffId: string;
  start: Date;
}

export interface BookingServiceOptions {
  store: BookingStore;
  /** Who the salon's customers are (the catalog's customer list). */
  customers: Pick<CatalogStore, 'findCustomer'>;
  clock: () => Date;
  holdTtlMs: number;
  holdMaxMs: number;
}

export class BookingService {
  constructor(private readonly options: BookingServiceOptions) {}

  findCustomer(tenantId: string, phone: string): Promise<Customer | null> {
    return this.options.customers.findCustomer(tenantId, phone);
  }

  /** Every appointment of the tenant starting in `window`, cancelled ones included. */
  appointmentsIn(tenantId: string, window: InstantRange): Promise<AppointmentRecord[]> {
    return this.options.store.listAppointments(tenantId, window);
  }

  /** Booked appointments under `phone` from `from` on, soonest first. */
  upcomingAppointments(tenantId: string, phone: string, from: Date): Promise<AppointmentRecord[]> {
    return this.options.store.upcomingAppointments(tenantId, phone, from);
  }

  /** Gives a hold up; false when it was no longer held. */
  releaseHold(tenantId: string, holdId: string, fence: SessionFence | null = null): Promise<boolean> {
    return this.options.store.releaseHold(tenantId, holdId, fence);
  }

  /** Cancels an appointment for a caller: only one booked under their number; null when there is none. */
  cancelForCaller(tenantId: string, appointmentId: string, phone: string, fence: SessionFence | null = null): Promise<AppointmentRecord | null> {
    return this.options.store.cancelAppointment(tenantId, appointmentId, phone, fence);
  }

  /**
   * Holds the requested slot if it is free, releasing `currentHoldId` only when the new
   * hold is placed. The session's own current hold never counts against it.
   */
  async hold(request: SlotRequest, owner: { sessionId: string | null; callId: string | null; currentHoldId: string | null; epoch?: number | null }): Promise<HoldOutcome> {
    const { store, holdTtlMs, holdMaxMs } = this.options;
    const verdict = await this.judge(request, owner.currentHoldId);
    if (verdict.free) {
      for (const slot of verdict.slots) {
        const placed = await store.placeHold({
          ...this.claimOf(request, slot),
          sessionId: owner.sessionId,
          epoch: owner.epoch ?? null,
          callId: owner.callId,
          ttlMs: holdTtlMs,
          maxMs: holdMaxMs,
          replacesHoldId: owner.currentHoldId,
        });
        if (placed.placed) return { available: true, hold: placed.hold, staff: slot.staff };
      }
    }
    const reason = verdict.free ? 'SLOT_TAKEN' : verdict.reason;
    return { available: false, reason, alternatives: await this.alternatives(request, owner.currentHoldId) };
  }

  /**
   * Books the session's hold, or the requested slot at once when there is no usable hold
   * (none, expired, or for another slot). `request` is what the caller asked to book: the
   * slot named in the tool call, else the slot of the session's hold. A retried key
   * returns the first appointment (converting a hold looks the key up in the same step).
   */
  async book(tenantId: string, hold: HeldSlot | null, request: SlotRequest | null, details: BookingDetails): Promise<BookOutcome> {
    const { store } = this.options;
    if (hold && (request === null || holdCovers(hold, request))) {
      const converted = await store.convertHold(tenantId, hold.id, details);
      if (converted.booked) return { booked: true, appointment: converted.appointment, replayed: converted.replayed };
    }
    if (details.idempotencyKey) {
      const earlier = await store.findAppointmentByKey(tenantId, details.idempotencyKey);
      if (earlier) return { booked: true, appointment: earlier, replayed: true };
    }
    if (!request) return { booked: false, code: 'NO_HOLD', reason: null, alternatives: [] };

    const holdId = hold?.id ?? null;
    const verdict = await this.judge(request, holdId);
    if (verdict.free) {
      for (const slot of verdict.slots) {
        const booked = await store.bookDirect(this.claimOf(request, slot), details, holdId);
        if (booked.booked) return { booked: true, appointment: booked.appointment, replayed: booked.replayed ?? false };
      }
    }
    return {
      booked: false,
      code: 'SLOT_TAKEN',
      reason: verdict.free ? 'SLOT_TAKEN' : verdict.reason,
      alternatives: await this.alternatives(request, holdId),
    };
  }

  /**
   * Moves a booked appointment to the requested slot (`request.staff` set: that staff
   * member) in one transaction. Its own claims never count against the new slot; when
   * the new slot is not free the old one stays booked, and the answer carries
   * alternatives as a refused booking does.
   */
  async move(appointment: AppointmentRecord, request: SlotRequest): Promise<MoveOutcome> {
    const verdict = await this.judge(request, null, appointment.id);
    if (verdict.free) {
      for (const slot of verdict.slots) {
        const moved = await this.options.store.moveAppointment(appointment.id, this.claimOf(request, slot));
        if (moved.moved) return { moved: true, appointment: moved.appointment };
        if (moved.gone) return { moved: false, code: 'NOT_BOOKED' };
      }
    }
    return {
      moved: false,
      code: 'SLOT_TAKEN',
      reason: verdict.free ? 'SLOT_TAKEN' : verdict.reason,
      alternatives: await this.alternatives(request, null, appointment.id),
    };
  }

  /** Free slots near the request, read fresh so each is free at the moment of answering. */
  async alternatives(request: SlotRequest, ignoreHoldId: string | null, ignoreAppointmentId: string | null = null): Promise<Slot[]> {
    const query = this.queryOf(request);
    const claims = await this.options.store.liveClaims(
      request.catalog.tenantId,
      staffOffering(request.catalog, request.service.id).map((member) => member.id),
      alternativesWindow(request.catalog, request.date, this.options.clock()),
      ignoreHoldId,
      ignoreAppointmentId,
    );
    return alternatives(query, claims);
  }

  private async judge(request: SlotRequest, ignoreHoldId: string | null, ignoreAppointmentId: string | null = null) {
    const query = this.queryOf(request);
    if (!request.start) return judgeSlot(query, []);
    const staffIds = (request.staff ? [request.staff] : staffOffering(request.catalog, request.service.id)).map((member) => member.id);
    const day = localDays(request.catalog, request.date);
    const claims = await this.options.store.liveClaims(request.catalog.tenantId, staffIds, day, ignoreHoldId, ignoreAppointmentId);
    return judgeSlot(query, claims);
  }

  private queryOf(request: SlotRequest): SlotQuery {
    return { ...request, now: this.options.clock() };
  }

  private claimOf(request: SlotRequest, slot: Slot) {
    return { tenantId: request.catalog.tenantId, staffId: slot.staff.id, serviceId: request.service.id, span: slot.span, busy: slot.busy };
  }
}

function holdCovers(hold: HeldSlot, request: SlotRequest): boolean {
  return (
    hold.serviceId === request.service.id &&
    hold.start.getTime() === request.start?.getTime() &&
    (request.staff === null || request.staff.id === hold.staffId)
  );
}
