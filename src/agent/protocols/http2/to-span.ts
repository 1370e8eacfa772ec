/**
 * @module HTTP/2 and gRPC record → SpanRecord. The stream id is `requestId`, so spans of
 * concurrent streams on one connection never match each other in assembly. A request is gRPC
 * when its content-type says so (RFC: application/grpc[+proto|+json…]); then service and
 * method come from the path `/package.Service/Method`, and the status from the trailers.
 */
import { redactQuery } from '../../../model/index.js';
import type { SpanRecord } from '../../../model/index.js';
import { finishStatus, spanBase, spanName, truncate } from '../../spans/span-base.js';
import { extractTraceContext } from '../../spans/trace-context.js';
import { httpEndpoint } from '../http1/to-span.js';
import type { ConnInfo } from '../protocol.js';
import type { Http2Fields } from './parse.js';
import type { Http2Record } from './stitch.js';

/** gRPC status codes the caller caused (its input or its credentials), not the server. */
const GRPC_CLIENT_CODES = new Set([1, 3, 5, 6, 7, 9, 11, 16]);

const GRPC_CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** `/pkg.Service/Method` → ['pkg.Service', 'Method'], or null when the path is not that shape. */
export function grpcServiceMethod(path: string): [string, string] | null {
  if (!path.startsWith('/')) return null;
  const slash = path.indexOf('/', 1);
  if (slash <= 1 || slash === path.length - 1 || path.indexOf('/', slash + 1) >= 0) return null;
  return [path.slice(1, slash), path.slice(slash + 1)];
}

/** grpc-message is percent-encoded UTF-8 (gRPC over HTTP/2 spec); a bad escape leaves it as sent. */
function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function isGrpc(f: Http2Fields | null | undefined): boolean {
  return !!f && f.contentType.startsWith('application/grpc');
}

/** HTTP/2 RST_STREAM error codes (RFC 9113 §7). */
const H2_ERRORS = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];

export function http2ToSpan(rec: Http2Record, conn: ConnInfo): SpanRecord {
  const req = rec.request?.frame.fields ?? null;
  const resp = rec.response?.frame.fields ?? null;
  const trailers = rec.trailers?.frame.fields ?? null;
  const span = spanBase(conn, rec.request?.meta ?? null, rec.response?.meta ?? rec.last?.meta ?? null);
  // A stream's exchange ends with its last response event (a streamed reply's trailers), not its first byte.
  if (rec.last && rec.last.meta.startUnixNano > span.endTimeUnixNano) span.endTimeUnixNano = rec.last.meta.startUnixNano;
  const grpcStatus = rec.trailers?.frame.fields?.grpcStatus ?? resp?.grpcStatus ?? null;
  const grpc = isGrpc(req) || isGrpc(resp) || isGrpc(rec.trailers?.frame.fields) || grpcStatus !== null;
  const unknownFields = (req?.unknown ?? 0) + (resp?.unknown ?? 0) + (rec.trailers?.frame.fields?.unknown ?? 0);
  const http1 = rec.response?.frame.http1 === true || rec.request?.frame.http1 === true;
  span.protocol = grpc ? 'grpc' : http1 ? 'http' : 'http2';
  span.requestId = http1 ? null : rec.streamId;
  span.attributes['network.protocol.name'] = 'http';
  span.attributes['network.protocol.version'] = http1 ? '1.1' : '2';
  let unknown = 0;
  if (req) {
    unknown += req.unknown;
    span.requestType = req.method;
    span.requestDomain = req.authority;
    // Secret query parameters (?token=…) never reach a span (src/model/url-redaction).
    span.requestResource = truncate(redactQuery(req.path));
    span.xRequestIdReq = req.xRequestId;
    if (rec.request?.frame.upgrade) span.attributes['weft.h2c_upgrade'] = true;
    if (rec.request?.frame.kind === 'promise') span.attributes['weft.h2_push'] = true;
    const sm = grpc ? grpcServiceMethod(req.path) : null;
    if (sm) {
      span.endpoint = req.path;
      span.attributes['rpc.system'] = 'grpc';
      span.attributes['rpc.service'] = sm[0];
      span.attributes['rpc.method'] = sm[1];
    } else if (req.path) {
      span.endpoint = httpEndpoint(req.path);
    }
  }
  const ctx = (req ? extractTraceContext(req.trace) : null) ?? (resp ? extractTraceContext(resp.trace) : null);
  if (ctx) {
    span.traceId = ctx.traceId;
    span.parentSpanId = ctx.parentSpanId;
  }
  if (resp) {
    unknown += resp.unknown;
    span.xRequestIdResp = resp.xRequestId;
    if (resp.status !== null) span.attributes['http.response.status_code'] = resp.status;
  }
  if (trailers) unknown += trailers.unknown;
  const grpcMessage = percentDecode(trailers?.grpcMessage || resp?.grpcMessage || '');
  if (grpc && grpcStatus !== null) {
    span.responseCode = grpcStatus;
    span.attributes['rpc.grpc.status_code'] = grpcStatus;
    if (grpcStatus === 0) span.responseStatus = 'ok';
    else {
      span.responseStatus = GRPC_CLIENT_CODES.has(grpcStatus) ? 'client_error' : 'server_error';
      span.responseException = grpcMessage || GRPC_CODE_NAMES[grpcStatus] || `grpc-status ${grpcStatus}`;
    }
  } else if (grpc && (unknownFields > 0 || resp?.status === 200)) {
    // A gRPC answer without a known grpc-status (trailers unknown, or not seen): :status 200
    // says nothing about the call's outcome.
    span.responseStatus = 'unknown';
  } else if (!grpc && unknownFields > 0) {
    // Some fields were unknown (joined late): content-type and grpc-status may be among them,
    // so this may be a gRPC call whose code is not :status. Say nothing rather than guess.
    span.responseStatus = 'unknown';
  } else if (resp && resp.status !== null) {
    span.responseCode = resp.status;
    if (resp.status >= 500) span.responseStatus = 'server_error';
    else if (resp.status >= 400) span.responseStatus = 'client_error';
    else span.responseStatus = 'ok';
  } else if (rec.response || rec.last) {
    // Answered, but the status referred to HPACK entries we never saw.
    span.responseStatus = 'unknown';
  }
  if (rec.resetCode !== null && rec.resetCode !== 0 && span.responseStatus !== 'client_error' && span.responseStatus !== 'server_error') {
    span.responseStatus = 'server_error';
    span.responseException = `RST_STREAM ${H2_ERRORS[rec.resetCode] ?? rec.resetCode}`;
  }
  if (unknown > 0) {
    // Joined mid-connection: these fields named HPACK entries inserted before we were watching.
    span.attributes['weft.hpack_unknown_fields'] = unknown;
  }
  span.name = spanName(span);
  finishStatus(span);
  return span;
}
