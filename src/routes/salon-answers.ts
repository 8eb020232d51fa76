/** How the salon's routes answer (PROTOCOL §7): refusals with what is in the way, blocks, field-named 400s. */
import type { FastifyReply } from 'fastify';
import type { Slot } from '../booking/availability.js';
import type { Unavailable } from '../booking/booking-service.js';
import type { Catalog } from '../booking/catalog.js';
import type { InvalidField } from '../booking/front-desk.js';
import type { BlockRecord, ClaimConflicts } from '../booking/ports.js';
import { BrokerError } from '../errors.js';
import { describeAppointmentForAdmin, isoIn, wireAlternative } from '../protocol/records.js';

export function describeBlock(block: BlockRecord, timezone: string) {
  return {
    id: block.id,
    staff: block.staffId,
    start: isoIn(block.start, timezone),
    end: isoIn(block.end, timezone),
    reason: block.reason,
    source: block.source,
  };
}

/** A domain refusal of a field, as the 400 every other bad request gets. */
export function invalidField(refusal: InvalidField): BrokerError {
  const issue = `${refusal.field}: ${refusal.message}`;
  return new BrokerError('INVALID_REQUEST', issue, { issues: [issue] });
}

const REASON_MESSAGES: Record<Unavailable, string> = {
  SLOT_TAKEN: 'the slot is taken',
  OUTSIDE_HOURS: 'the slot is outside opening hours (or the service would run past closing)',
  IN_THE_PAST: 'the slot is in the past',
};

/** 409 `SLOT_TAKEN` with why and up to three free alternatives, as a refused booking tool answers (§4). */
export function slotTaken(reply: FastifyReply, catalog: Catalog, reason: Unavailable, alternatives: Slot[]) {
  return reply.status(409).send({
    error: { code: 'SLOT_TAKEN', message: REASON_MESSAGES[reason] },
    reason,
    alternatives: alternatives.map((slot) => wireAlternative(slot, catalog)),
  });
}

/** 409 `SLOT_TAKEN` for a block: every live claim it would overlap, by kind. Nothing was stored. */
export function blockRefused(reply: FastifyReply, catalog: Catalog, conflicts: ClaimConflicts) {
  const zone = catalog.timezone;
  return reply.status(409).send({
    error: { code: 'SLOT_TAKEN', message: 'the block would overlap what is already booked or held' },
    appointments: conflicts.appointments.map((appointment) => describeAppointmentForAdmin(appointment, zone)),
    holds: conflicts.holds.map((hold) => ({ id: hold.id, service: hold.serviceId, staff: hold.staffId, start: isoIn(hold.start, zone), end: isoIn(hold.end, zone), expires_at: isoIn(hold.expiresAt, zone) })),
    blocks: conflicts.blocks.map((block) => describeBlock(block, zone)),
  });
}
