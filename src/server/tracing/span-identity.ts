/**
 * @module A canonical, input-order-free ordering of spans, so assembly is deterministic.
 *
 * Every choice assembly makes ("the nearest candidate", "the first one") breaks ties by this
 * order, so shuffling the input never changes the tree.
 */
import type { SpanRecord } from '../../model/index.js';

/** A string that differs whenever two spans differ in any field assembly or a viewer reads. */
export function canonicalKey(s: SpanRecord): string {
  return JSON.stringify([
    s.startTimeUnixNano.toString(),
    s.endTimeUnixNano.toString(),
    s.source,
    s.observationPoint,
    s.hostId,
    s.processId,
    s.traceId,
    s.spanId,
    s.parentSpanId,
    s.reqTcpSeq,
    s.respTcpSeq,
    s.syscallTraceIdReq,
    s.syscallTraceIdResp,
    s.xRequestIdReq,
    s.xRequestIdResp,
    s.clientIp,
    s.clientPort,
    s.serverIp,
    s.serverPort,
    s.protocol,
    s.requestType,
    s.requestResource,
    s.responseCode,
    s.name,
    s.service,
    s.origin,
    s.threadIdReq,
    s.threadIdResp,
    s.interfaceName,
    s.statusCode,
    Object.entries(s.attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  ]);
}

/** Spans sorted by start time, then by canonical key; duplicates (same key) removed. */
export function sortAndDedupe(spans: readonly SpanRecord[]): { spans: SpanRecord[]; duplicates: number } {
  const keyed = spans.map((span) => ({ span, key: canonicalKey(span) }));
  keyed.sort((a, b) => {
    if (a.span.startTimeUnixNano !== b.span.startTimeUnixNano) {
      return a.span.startTimeUnixNano < b.span.startTimeUnixNano ? -1 : 1;
    }
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
  const out: SpanRecord[] = [];
  let last = '';
  let duplicates = 0;
  for (const k of keyed) {
    if (out.length > 0 && k.key === last) {
      duplicates++;
      continue;
    }
    out.push(k.span);
    last = k.key;
  }
  return { spans: out, duplicates };
}
