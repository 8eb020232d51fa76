/**
 * The body parser of the integration routes: keeps the raw bytes on `request.rawBody`
 * (signatures are computed over them, PROTOCOL §6) and parses them as JSON with fastify's
 * own parser (prototype-poisoning checks included), whatever content type the runtime
 * sends. Registered inside the integrations' encapsulation context only, so every other
 * route keeps fastify's default parser.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BrokerError } from '../../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
    /** Why the body is not JSON: told (400) only after the signature was checked, so a forged request learns nothing more than 401. */
    bodyProblem?: string;
  }
}

/** The parsed body, or 400 `INVALID_REQUEST` if it was not JSON. */
export function jsonBody(request: FastifyRequest): unknown {
  if (request.bodyProblem) throw new BrokerError('INVALID_REQUEST', request.bodyProblem);
  return request.body;
}

export function keepRawBody(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer;
    request.rawBody = raw;
    if (raw.length === 0) return done(null, {});
    parseJson(request, raw.toString('utf8'), (error, parsed) => {
      if (error) request.bodyProblem = `body: ${error.message}`;
      done(null, error ? {} : parsed);
    });
  });
}
