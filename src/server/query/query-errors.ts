/**
 * @module Query API errors: the TRC_QUERY_* codes and the one mapper from an error to a status.
 *
 * Every query plugin formats errors in its own API's envelope (Weft, Jaeger, api_v3, Tempo),
 * but the status and the logging decision come from `queryErrorOf` alone, so one thrown
 * TracingError means the same thing on every API. Only 5xx are logged: a 4xx is the client's
 * mistake, answered with a message that says what to fix.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isTracingError, TracingError } from '../../model/index.js';

/** A bad query parameter: names the parameter, the rule and the value. */
export function badParam(name: string, value: string, rule: string): TracingError {
  const shown = value.length > 200 ? `${value.slice(0, 200)}…` : value;
  return new TracingError('TRC_QUERY_BAD_PARAM', `invalid value for parameter '${name}': ${rule} (actual: ${JSON.stringify(shown)})`, { httpStatus: 400 });
}

/** A query the API understands but Weft cannot serve (e.g. a TraceQL feature). */
export function unsupportedQuery(message: string): TracingError {
  return new TracingError('TRC_QUERY_UNSUPPORTED', message, { httpStatus: 400 });
}

export function traceNotFound(id: string): TracingError {
  return new TracingError('TRC_QUERY_TRACE_NOT_FOUND', `trace not found: ${JSON.stringify(id.slice(0, 200))}`, { httpStatus: 404 });
}

export function noTracesFound(): TracingError {
  return new TracingError('TRC_QUERY_NO_TRACES', 'No traces found', { httpStatus: 404 });
}

/** What a failed query request answers: status, stable code, and a message safe to show. */
export interface QueryError {
  status: number;
  code: string;
  message: string;
}

/** Maps anything thrown inside a query route to a status, code and client-safe message. */
export function queryErrorOf(err: unknown): QueryError {
  if (isTracingError(err)) {
    const status = err.httpStatus >= 400 && err.httpStatus < 600 ? err.httpStatus : 500;
    // A 5xx message may hold internals (paths, SQL); clients get a generic one, the log the rest.
    return { status, code: err.code, message: status >= 500 ? `internal error (${err.code})` : err.message };
  }
  const fe = err as Partial<FastifyError>;
  const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : 500;
  if (status >= 500) return { status, code: 'TRC_QUERY_INTERNAL', message: 'internal error' };
  return { status, code: status === 404 ? 'TRC_QUERY_NOT_FOUND' : 'TRC_QUERY_BAD_REQUEST', message: fe.message ?? 'bad request' };
}

/**
 * Installs the error handler of one API's encapsulated context: `envelope` renders the body
 * in that API's shape; 5xx are logged with the original error, nothing else is.
 */
export function installQueryErrorHandler(app: FastifyInstance, envelope: (e: QueryError) => unknown): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const e = queryErrorOf(err);
    if (e.status >= 500) req.log.error({ err }, 'query request failed');
    void reply.code(e.status).type('application/json; charset=utf-8').send(envelope(e));
  });
}
