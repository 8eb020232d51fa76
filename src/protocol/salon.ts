/**
 * Request bodies and queries of the salon's side of the admin API (PROTOCOL §2, §5, §7),
 * validated field by field so a 400 names every bad one.
 * @see ../../../shared/PROTOCOL.md §7
 */
import { z } from 'zod';

const id = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1-64 characters of [A-Za-z0-9_.:-]');

export const tenantParams = z.object({ tenant: id });
