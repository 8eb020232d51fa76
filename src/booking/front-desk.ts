/**
 * The salon's own bookings (PROTOCOL §7): the front desk books, cancels and moves
 * appointments and marks staff busy with blocks. Every claim goes through the same
 * `BookingService` verbs and the same storage functions as a phone booking, so the one
 * exclusion constraint decides for all of them; refusals carry the same alternatives.
 * Changes to an appointment are published as `AppointmentChanges` after they commit.
 */
import { localDateOf, localDays, localInstant } from './availability.js';
import { dayBoard, type BoardColumn } from './day-board.js';
import type { AppointmentChanges, AppointmentChangeType } from './appointment-changes.js';
import type { BookingService, BookOutcome, MoveOutcome, SlotRequest } from './booking-service.js';
import type { Catalog } from './catalog.js';
import type { AppointmentRecord, BlockRecord, BlockSource, PutBlockResult, SalonStore } from './ports.js';

/** A request the domain cannot take, naming the field at fault. */
export interface InvalidField {
  invalid: true;
  field: string;
  message: string;
}

/** When an appointment starts: an instant, or a local date and time in the tenant's zone. */
export type StartSpec = { start: Date } | { date: string; time: string };

export interface FrontDeskBooking {
  serviceId: string;
  staffId: string | null;
  when: StartSpec;
  customerName: string;
  phone: string | null;
  /** The salon's own key: a retried request returns the first appointment. */
  idempotencyKey: string | null;
}

export interface BlockRequest {
  id: string;
  staffId: string;
  start: Date;
  end: Date;
  reason: string | null;
  source: BlockSource;
}

/** A block longer than this is refused: each UTC day it touches is one lock to take. */
export const MAX_BLOCK_DAYS = 31;

export interface FrontDeskOptions {
  booking: BookingService;
  store: SalonStore;
  changes: AppointmentChanges;
  clock: () => Date;
}

const invalid = (field: string, message: string): InvalidField => ({ invalid: true, field, message });

export class FrontDesk {
  constructor(private readonly options: FrontDeskOptions) {}

  /** The day board (PROTOCOL §5): each staff member's windows, appointments with their phases, live holds and blocks. */
  async day(catalog: Catalog, date: string): Promise<BoardColumn[]> {
    const { store, booking } = this.options;
    const window = localDays(catalog, date);
    const [appointments, holds, blocks] = await Promise.all([
      booking.appointmentsIn(catalog.tenantId, window),
      store.liveHolds(catalog.tenantId, window),
      store.listBlocks(catalog.tenantId, window),
    ]);
    const claims = await store.appointmentClaims(catalog.tenantId, appointments.filter((appointment) => appointment.status === 'booked').map((appointment) => appointment.id));
    return dayBoard(catalog, date, { appointments, claims, holds, blocks });
  }

  /** The blocks of a local day. */
  blocksOn(catalog: Catalog, date: string): Promise<BlockRecord[]> {
    return this.options.store.listBlocks(catalog.tenantId, localDays(catalog, date));
  }

  /** Books directly for the front desk; a refusal carries alternatives as in PROTOCOL §4. */
  async book(catalog: Catalog, booking: FrontDeskBooking): Promise<BookOutcome | InvalidField> {
    const request = this.slotRequest(catalog, booking.serviceId, booking.staffId, booking.when);
    if ('invalid' in request) return request;
    const outcome = await this.options.booking.book(catalog.tenantId, null, request, {
      customerName: booking.customerName,
      phone: booking.phone,
      callId: null,
      sessionId: null,
      // Keys are global in storage; the salon's are its own, apart from other tenants' and the calls'.
      idempotencyKey: booking.idempotencyKey ? `front_desk:${catalog.tenantId}:${booking.idempotencyKey}` : null,
      source: 'front_desk',
    });
    if (outcome.booked && !outcome.replayed) this.publish('appointment.booked', outcome.appointment, null);
    return outcome;
  }

  appointment(tenantId: string, appointmentId: string): Promise<AppointmentRecord | null> {
    return this.options.store.getAppointment(tenantId, appointmentId);
  }

  /** Cancels whoever booked it; cancelling a cancelled appointment again changes nothing. Null when unknown. */
  async cancel(tenantId: string, appointmentId: string): Promise<AppointmentRecord | null> {
    const cancelled = await this.options.store.cancelAppointment(tenantId, appointmentId);
    if (cancelled?.changed) this.publish('appointment.cancelled', cancelled.appointment, null);
    return cancelled?.appointment ?? null;
  }

  /**
   * Moves an appointment to a new start and/or staff member in one transaction; what is
   * not given stays as it is. Null when the appointment is unknown.
   */
  async move(catalog: Catalog, appointmentId: string, change: { start?: Date | undefined; staffId?: string | undefined }): Promise<MoveOutcome | InvalidField | null> {
    const current = await this.options.store.getAppointment(catalog.tenantId, appointmentId);
    if (!current) return null;
    if (current.status !== 'booked') return { moved: false, code: 'NOT_BOOKED' };
    const start = change.start ?? current.start;
    const staffId = change.staffId ?? current.staffId;
    if (start.getTime() === current.start.getTime() && staffId === current.staffId) return { moved: true, appointment: current };
    const request = this.slotRequest(catalog, current.serviceId, staffId, { start });
    if ('invalid' in request) return request;
    const outcome = await this.options.booking.move(current, request);
    if (outcome.moved) this.publish('appointment.moved', outcome.appointment, current);
    return outcome;
  }

  /** Places or moves a block; refused (nothing stored) when it would overlap any live claim. */
  async putBlock(catalog: Catalog, block: BlockRequest): Promise<PutBlockResult | InvalidField> {
    if (!catalog.staff.some((member) => member.id === block.staffId)) return invalid('staff', `unknown staff "${block.staffId}"`);
    if (block.end <= block.start) return invalid('end', 'a block must end after it starts');
    if (block.end.getTime() - block.start.getTime() > MAX_BLOCK_DAYS * 86_400_000) return invalid('end', `a block may last at most ${MAX_BLOCK_DAYS} days`);
    return this.options.store.putBlock({ ...block, tenantId: catalog.tenantId });
  }

  deleteBlock(tenantId: string, blockId: string): Promise<BlockRecord | null> {
    return this.options.store.deleteBlock(tenantId, blockId);
  }

  /** Resolves ids and the start against the catalog; a local time in a DST gap is left for the verdict (OUTSIDE_HOURS). */
  private slotRequest(catalog: Catalog, serviceId: string, staffId: string | null, when: StartSpec): SlotRequest | InvalidField {
    const service = catalog.services.find((candidate) => candidate.id === serviceId);
    if (!service) return invalid('service', `unknown service "${serviceId}"`);
    const staff = staffId === null ? null : (catalog.staff.find((member) => member.id === staffId) ?? null);
    if (staffId !== null && !staff) return invalid('staff', `unknown staff "${staffId}"`);
    if (staff && !staff.services.includes(service.id)) return invalid('staff', `${staff.name} does not offer "${service.id}"`);
    if ('start' in when) return { catalog, service, staff, date: localDateOf(when.start, catalog.timezone), start: when.start };
    return { catalog, service, staff, date: when.date, start: localInstant(when.date, when.time, catalog.timezone) };
  }

  private publish(type: AppointmentChangeType, appointment: AppointmentRecord, previous: AppointmentRecord | null): void {
    this.options.changes.publish({ type, tenantId: appointment.tenantId, callId: appointment.callId, appointment, previous, at: this.options.clock() });
  }
}
