/**
 * @module Error mapping shared by the receivers: decode, body and sink failures → HTTP/gRPC answers.
 */
import { gunzipSync } from 'node:zlib';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { FastifyError, FastifyInstance } from 'fastify';
import { BODY_MEMORY_FACTOR, memoryRefusal, reserveForRequest } from './memory-budget.js';
import type { MemoryBudget } from './memory-budget.js';
import { isTracingError, TracingError } from '../../model/index.js';
import { isRetryStatus, retryAfterHeader, retryAfterMsOf } from './retry-hints.js';

export function bodyTooLarge(maxBodyBytes: number, cause?: unknown): TracingError {
  return new TracingError('TRC_INGEST_TOO_LARGE', `request body exceeds ${maxBodyBytes} bytes`, { httpStatus: 413, cause });
}

/**
 * The body as sent, gunzipped when Content-Encoding says gzip. The decompressed size is capped
 * at maxBodyBytes, so a small gzip bomb cannot blow up memory.
 */
export function decodeContentEncoding(encoding: string | undefined, body: Buffer, maxBodyBytes: number): Buffer {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return body;
  if (enc !== 'gzip' && enc !== 'x-gzip') {
    throw new TracingError('TRC_INGEST_ENCODING', `unsupported Content-Encoding ${JSON.stringify(enc.slice(0, 40))}; use gzip or none`, { httpStatus: 415 });
  }
  try {
    return gunzipSync(body, { maxOutputLength: maxBodyBytes });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) throw bodyTooLarge(maxBodyBytes, err);
    throw new TracingError('TRC_INGEST_MALFORMED', `invalid gzip body: ${err instanceof Error ? err.message : String(err)}`, { httpStatus: 400, cause: err });
  }
}

/**
 * A sink failure as the receiver reports it: overload keeps 429 (retry later) and a batch that
 * can never fit keeps 413; anything else (a store that is down, full or failing) becomes 503
 * TRC_INGEST_UNAVAILABLE, retryable, the batch not stored, with the cause's retry hint if it
 * gave one. Any store can throw any error here and clients get a retryable answer.
 */
export function sinkFailure(err: unknown): TracingError {
  if (isTracingError(err) && (err.httpStatus === 429 || err.httpStatus === 413)) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new TracingError('TRC_INGEST_UNAVAILABLE', `storing spans failed: ${detail}`, { httpStatus: 503, retryable: true, retryAfterMs: retryAfterMsOf(err), cause: err });
}

/** The HTTP status and stable code for any error a receiver route raises. */
export function httpErrorOf(err: unknown): { status: number; code: string; message: string } {
  if (isTracingError(err)) return { status: err.httpStatus, code: err.code, message: err.message };
  const fe = err as Partial<FastifyError>;
  const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : 500;
  const code =
    status === 413 ? 'TRC_INGEST_TOO_LARGE' : status === 415 ? 'TRC_INGEST_CONTENT_TYPE' : status === 400 ? 'TRC_INGEST_MALFORMED' : 'TRC_INGEST_INTERNAL';
  return { status, code, message: fe.message ?? 'internal error' };
}

/**
 * One error handler per receiver context: a fixed JSON body `{error, message}`, 5xx logged.
 * A 415 names the media types this receiver accepts.
 */
export function installErrorHandler(app: FastifyInstance, acceptedTypes: readonly string[]): void {
  app.setErrorHandler((err, req, reply) => {
    const mapped = httpErrorOf(err);
    const { status, code } = mapped;
    const message =
      status === 415 && !isTracingError(err)
        ? `unsupported Content-Type ${JSON.stringify(String(req.headers['content-type'] ?? '').slice(0, 80))}; send ${acceptedTypes.join(' or ')}`
        : mapped.message;
    if (status >= 500) req.log.error({ err }, 'ingest request failed');
    if (isRetryStatus(status)) void reply.header('retry-after', retryAfterHeader(retryAfterMsOf(err)));
    void reply.code(status).type('application/json').send({ error: code, message });
  });
}

/**
 * Registers the accepted media types as raw-buffer parsers (after removing Fastify's defaults,
 * so anything else is 415), with the wire body limit and gunzip applied.
 */
export function installBodyParsers(app: FastifyInstance, mediaTypes: string[], maxBodyBytes: number, budget?: MemoryBudget): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(mediaTypes, { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (req, body, done) => {
    try {
      const decoded = decodeContentEncoding(req.headers['content-encoding'], body as Buffer, maxBodyBytes);
      // A small gzip body can expand to --max-body-bytes: its decoded size joins the budget too.
      if (budget && decoded !== body && !reserveForRequest(budget, req, decoded.length * BODY_MEMORY_FACTOR)) throw memoryRefusal(`a gzip body of ${decoded.length} bytes decoded`);
      done(null, decoded);
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/** gRPC status for an error raised while handling a call. */
export function grpcStatusOf(err: unknown): GrpcStatus {
  if (!isTracingError(err)) return GrpcStatus.INTERNAL;
  switch (err.httpStatus) {
    case 400:
    case 415:
      return GrpcStatus.INVALID_ARGUMENT;
    case 413:
    case 429:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case 404:
      return GrpcStatus.NOT_FOUND;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    default:
      return GrpcStatus.UNAVAILABLE;
  }
}
