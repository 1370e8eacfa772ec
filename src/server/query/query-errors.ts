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

/** Weft's own error body (`/api/v1`, and Tempo, which answers errors the same way). */
export const weftErrorEnvelope = (e: QueryError): unknown => ({ error: { code: e.code, message: e.message } });

/** Jaeger's internal API envelope with the error in `errors`. */
export const jaegerErrorEnvelope = (e: QueryError): unknown => ({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: e.status, msg: e.message }] });

const HTTP_STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  414: 'URI Too Long',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};
/** gRPC codes api_v3's gateway reports next to the HTTP status. */
const GRPC_CODE_OF: Record<number, number> = { 400: 3, 401: 16, 404: 5, 414: 3, 429: 8, 431: 3, 500: 13, 503: 14 };

/** api_v3's grpc-gateway error body. */
export const v3ErrorEnvelope = (e: QueryError): unknown => ({
  error: { grpcCode: GRPC_CODE_OF[e.status] ?? 2, httpCode: e.status, message: e.message, httpStatus: HTTP_STATUS_TEXT[e.status] ?? 'Error' },
});

/** The error shape of the API a path belongs to. */
export function errorEnvelopeForPath(url: string): (e: QueryError) => unknown {
  const path = url.split('?')[0] ?? '';
  if (path.startsWith('/api/v3/')) return v3ErrorEnvelope;
  if (path.startsWith('/api/') && !path.startsWith('/api/v1/')) return jaegerErrorEnvelope;
  return weftErrorEnvelope;
}

/**
 * Fastify's `frameworkErrors`: refusals the router makes before any route runs (a path
 * parameter longer than maxParamLength → 414, an undecodable URL → 400), answered in the shape
 * of the API the path belongs to instead of Fastify's own.
 */
export function queryFrameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const e: QueryError = tooLong
    ? { status: 414, code: 'TRC_QUERY_URI_TOO_LONG', message: 'a path parameter is too long (an id is at most 256 characters)' }
    : { status: 400, code: 'TRC_QUERY_BAD_REQUEST', message: `malformed request URL (${err.message})` };
  void reply.code(e.status).type('application/json; charset=utf-8').send(errorEnvelopeForPath(req.url)(e));
}
