/** @module HTTP/1.x record → SpanRecord (DeepFlow's field mapping for HTTP). */
import { redactQuery } from '../../../model/index.js';
import type { SpanRecord } from '../../../model/index.js';
import { finishStatus, spanBase, spanName, truncate } from '../../spans/span-base.js';
import { extractTraceContext } from '../../spans/trace-context.js';
import type { ConnInfo } from '../protocol.js';
import type { HttpRecord } from './stitch.js';

/** Path segments kept in `endpoint`: `/api/v1/users/42` → `/api/v1` (low cardinality). */
const ENDPOINT_SEGMENTS = 2;

/** The first two segments of a request-target's path, without the query. */
export function httpEndpoint(target: string): string {
  let path = target;
  // absolute-form (proxies): drop scheme://authority.
  if (!path.startsWith('/')) {
    const schemeEnd = path.indexOf('://');
    if (schemeEnd < 0) return path === '*' ? '*' : '';
    const slash = path.indexOf('/', schemeEnd + 3);
    path = slash < 0 ? '/' : path.slice(slash);
  }
  let end = path.length;
  const q = path.indexOf('?');
  if (q >= 0) end = q;
  const h = path.indexOf('#');
  if (h >= 0 && h < end) end = h;
  let seen = 0;
  for (let i = 1; i < end; i++) {
    if (path.charCodeAt(i) === 0x2f) {
      seen++;
      if (seen === ENDPOINT_SEGMENTS) return path.slice(0, i);
    }
  }
  return path.slice(0, end);
}

export function httpToSpan(rec: HttpRecord, conn: ConnInfo): SpanRecord {
  const span = spanBase(conn, rec.request?.meta ?? null, rec.response?.meta ?? null);
  span.protocol = 'http';
  const req = rec.request?.frame;
  const resp = rec.response?.frame;
  if (req) {
    span.requestType = req.method;
    span.requestDomain = req.host;
    // Secret query parameters (?token=…) never reach a span (src/model/url-redaction).
    span.requestResource = truncate(redactQuery(req.target));
    span.endpoint = httpEndpoint(req.target);
    span.xRequestIdReq = req.xRequestId;
    span.attributes['network.protocol.version'] = req.version;
    if (req.partial) span.attributes['weft.payload_truncated'] = true;
  }
  const ctx = (req ? extractTraceContext(req.trace) : null) ?? (resp ? extractTraceContext(resp.trace) : null);
  if (ctx) {
    span.traceId = ctx.traceId;
    span.parentSpanId = ctx.parentSpanId;
  }
  if (resp) {
    span.responseCode = resp.status;
    span.xRequestIdResp = resp.xRequestId;
    if (resp.status >= 500) span.responseStatus = 'server_error';
    else if (resp.status >= 400) span.responseStatus = 'client_error';
    else span.responseStatus = 'ok';
    if (resp.status >= 400) span.responseException = resp.reason;
  }
  span.name = spanName(span);
  finishStatus(span);
  return span;
}
