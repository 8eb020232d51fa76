/**
 * Request bodies and queries of the salon's side of the admin API (PROTOCOL §2, §5, §7),
 * validated field by field so a 400 names every bad one.
 * @see ../../docs/PROTOCOL.md §7
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import { blockSources } from '../booking/ports.js';
import { UNSTORABLE_TEXT, UNSTORABLE_TEXT_MESSAGE } from './storable-text.js';

const id = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1-64 characters of [A-Za-z0-9_.:-]');
const storable = (max: number) => z.string().min(1).max(max).refine((text) => !UNSTORABLE_TEXT.test(text), UNSTORABLE_TEXT_MESSAGE);
const instant = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time with offset' }).transform((value) => new Date(value));
export const localDate = z
  .string()
  .refine((value) => /^\d{4}-\d{2}-\d{2}$/.test(value) && DateTime.fromISO(value).isValid, 'expected a calendar date YYYY-MM-DD');
const localTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a local time HH:MM');
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'expected an appointment id');

export const tenantParams = z.object({ tenant: id });
export const appointmentParams = z.object({ tenant: id, id: uuid });
export const blockParams = z.object({ tenant: id, block_id: id });
export const dateQuery = z.object({ date: localDate });

/** `POST /v1/admin/tenants/{tenant}/appointments`: `start`, or `date` and `time` in the tenant's zone. */
export const frontDeskBookingBody = z
  .object({
    service: id,
    staff: id.optional(),
    start: instant.optional(),
    date: localDate.optional(),
    time: localTime.optional(),
    customer_name: storable(200),
    phone: z.string().min(3).max(32).refine((text) => !UNSTORABLE_TEXT.test(text), UNSTORABLE_TEXT_MESSAGE).optional(),
    idempotency_key: storable(200).optional(),
  })
  .superRefine((body, context) => {
    if (body.start !== undefined && (body.date !== undefined || body.time !== undefined)) {
      context.addIssue({ code: 'custom', path: ['start'], message: 'give start, or date and time, not both' });
    } else if (body.start === undefined) {
      if (body.date === undefined) context.addIssue({ code: 'custom', path: body.time === undefined ? ['start'] : ['date'], message: body.time === undefined ? 'give start (ISO 8601 with offset), or date and time' : 'required with time' });
      if (body.date !== undefined && body.time === undefined) context.addIssue({ code: 'custom', path: ['time'], message: 'required with date' });
    }
  });

/** `PATCH /v1/admin/tenants/{tenant}/appointments/{id}`: a new start, a new staff member, or both. */
export const moveBody = z
  .object({ start: instant.optional(), staff: id.optional() })
  .refine((body) => body.start !== undefined || body.staff !== undefined, { path: ['start'], message: 'give start or staff (or both)' });

/** `PUT /v1/admin/tenants/{tenant}/blocks/{block_id}`. */
export const blockBody = z
  .object({
    staff: id,
    start: instant,
    end: instant,
    reason: storable(200).nullable().optional(),
    source: z.enum(blockSources).default('front_desk'),
  })
  .refine((body) => body.start < body.end, { path: ['end'], message: 'must be after start' });
