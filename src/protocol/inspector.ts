/**
 * Queries and parameters of the inspector API (PROTOCOL §5), validated field by field.
 * @see ../../docs/PROTOCOL.md §5
 */
import { z } from 'zod';
import { sessionOutcomes, sessionStatuses } from '../sessions/ports.js';

const tenantId = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1-64 characters of [A-Za-z0-9_.:-]');
const callId = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'expected 1-128 characters of [A-Za-z0-9_.:-]');
const instant = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time with offset' }).transform((value) => new Date(value));

export const listQuery = z.object({
  tenant: tenantId.optional(),
  status: z.enum(sessionStatuses).optional(),
  outcome: z.enum(sessionOutcomes).optional(),
  from: instant.optional(),
  to: instant.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export const statsQuery = z.object({ tenant: tenantId.optional(), from: instant.optional(), to: instant.optional() });
export const sessionParams = z.object({ tenant: tenantId, call_id: callId });
export const feedQuery = z.object({ tenant: tenantId.optional() });

