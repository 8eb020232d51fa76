/**
 * Runtime tokens (PROTOCOL §2, §3): issued once per request and stored only as a hash; a
 * token opens calls for its tenant alone.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CatalogStore } from '../booking/ports.js';
import { BrokerError } from '../errors.js';
import { withinDeadline } from './deadline.js';

/** Tokens are stored and compared as their SHA-256. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** PROTOCOL §3: while storage is down a call's upgrade is refused with 503 within 2 s. */
const LOOKUP_DEADLINE_MS = 1500;

export class RuntimeAuth {
  constructor(private readonly store: Pick<CatalogStore, 'tenantForToken' | 'addRuntimeToken'>) {}

  /**
   * The tenant a runtime token opens calls for, or null. Not cached: a token known from a
   * cache would let a call in that storage cannot serve (its start needs the database too),
   * which the contract refuses at the door instead.
   * @throws BrokerError `UNAVAILABLE` when storage fails or does not answer in time
   */
  async tenantFor(token: string): Promise<string | null> {
    try {
      return await withinDeadline(this.store.tenantForToken(hashToken(token)), LOOKUP_DEADLINE_MS, 'the token lookup');
    } catch (error) {
      throw new BrokerError('UNAVAILABLE', 'storage is unavailable; try again shortly', { cause: error });
    }
  }

  /** A new runtime token for `tenantId`; only its hash is kept. */
  async issue(tenantId: string): Promise<string> {
    const token = `rt_${randomBytes(24).toString('base64url')}`;
    await this.store.addRuntimeToken(tenantId, hashToken(token));
    return token;
  }
}
