/** Bearer tokens: the admin token for admin and inspector routes, runtime tokens for calls. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { BrokerError } from '../errors.js';

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1] ?? null;
}

/** Constant-time comparison of two secrets of any length (both are hashed to one length first). */
export function sameSecret(given: string, expected: string): boolean {
  const [a, b] = [Buffer.from(hashToken(given)), Buffer.from(hashToken(expected))];
  return timingSafeEqual(a, b);
}

/**
 * A hook that lets only the admin token through; with no admin token configured, nothing
 * gets through (PROTOCOL §1). Register it as `onRequest`: that runs before the body is
 * read, so a caller without the token gets 401 and never makes the broker parse up to
 * 1 MiB (a `preHandler` or `preValidation` would parse first and answer 400 or 413).
 * Browsers cannot set headers on a WebSocket, so the inspector's feed may pass it as `?token=`.
 */
export function requireAdmin(adminToken: string | undefined, options: { allowQueryToken?: boolean } = {}) {
  return async (request: FastifyRequest) => {
    const query = request.query as Record<string, unknown> | undefined;
    const given = bearerToken(request) ?? (options.allowQueryToken && typeof query?.token === 'string' ? query.token : null);
    if (!adminToken || !given || !sameSecret(given, adminToken)) {
      throw new BrokerError('UNAUTHORIZED', 'a valid admin bearer token is required');
    }
  };
}
