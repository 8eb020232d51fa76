/**
 * Keeps secrets out of the logs. Runtimes that cannot set headers pass their token as
 * `?token=` (PROTOCOL §3), and the inspector's feed passes the admin token the same way,
 * so every request line would carry one in clear. The request serializer writes URLs
 * with such values replaced, and headers are never serialized (a redact path guards the
 * Authorization header should anyone log them anyway).
 */
import type { FastifyRequest, FastifyServerOptions } from 'fastify';

export const REDACTED = '[REDACTED]';

/** Query parameters whose values are secrets, compared after decoding and lower-casing. */
const SECRET_PARAMETERS = new Set(['token', 'access_token', 'api_key', 'secret']);

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return name.toLowerCase();
  }
}

/**
 * `url` with the value of every secret query parameter replaced by `[REDACTED]`. Names are
 * decoded first, as fastify's query parser does, so `?%74oken=` is caught like `?token=`.
 */
export function redactUrl(url: string): string {
  const start = url.indexOf('?');
  if (start < 0) return url;
  const query = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals < 0 ? pair : pair.slice(0, equals);
      return SECRET_PARAMETERS.has(decodedName(name)) ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
  return `${url.slice(0, start)}?${query}`;
}

/** fastify's own request serializer, with the URL redacted. */
function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    version: request.headers?.['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

type LoggerOption = FastifyServerOptions['logger'];

/** The app's logger options: whatever was given (or `level`), with secrets kept out. */
export function redactingLoggerOptions(given: LoggerOption, level: string): LoggerOption {
  if (given === false) return false;
  const base = given === undefined || given === true ? { level } : given;
  const redact = Array.isArray(base.redact) ? base.redact : (base.redact?.paths ?? []);
  return {
    ...base,
    serializers: { ...base.serializers, req: serializeRequest as never },
    redact: { paths: [...redact, 'req.headers.authorization', 'headers.authorization', 'request.headers.authorization'], censor: REDACTED },
  };
}
