/**
 * @module Assembly step 1: join the request-only and response-only rows of one message.
 *
 * A capture point that saw a request but flushed before the response (or saw only the
 * response) stores two rows. They are one message when they share the host, process,
 * observation point, 5-tuple and protocol, the response comes after the request, and an
 * in-message id (DNS id, HTTP/2 stream) agrees when both have one. Requests are answered in
 * order on one flow (HTTP/1 pipelining, Redis, MySQL), so each response joins the earliest
 * unanswered request (FIFO), not the latest as DeepFlow does.
 */
import type { SpanRecord } from '../../model/index.js';

function isRequestOnly(s: SpanRecord): boolean {
  return (
    s.source !== 'app' &&
    s.respTcpSeq === 0 &&
    s.syscallTraceIdResp === 0 &&
    s.xRequestIdResp === '' &&
    s.responseCode === null &&
    (s.responseStatus === 'unknown' || s.responseStatus === 'timeout')
  );
}

function isResponseOnly(s: SpanRecord): boolean {
  return (
    s.source !== 'app' &&
    s.reqTcpSeq === 0 &&
    s.syscallTraceIdReq === 0 &&
    s.xRequestIdReq === '' &&
    s.requestType === '' &&
    s.requestResource === '' &&
    (s.respTcpSeq !== 0 || s.syscallTraceIdResp !== 0 || s.responseCode !== null || s.responseStatus !== 'unknown')
  );
}

function flowKey(s: SpanRecord): string {
  return [s.hostId, s.processId, s.observationPoint, s.clientIp, s.clientPort, s.serverIp, s.serverPort, s.transport].join('|');
}

function joinHalves(req: SpanRecord, resp: SpanRecord): SpanRecord {
  return {
    ...req,
    endTimeUnixNano: resp.endTimeUnixNano > req.endTimeUnixNano ? resp.endTimeUnixNano : req.endTimeUnixNano,
    respTcpSeq: resp.respTcpSeq,
    syscallTraceIdResp: resp.syscallTraceIdResp,
    xRequestIdResp: resp.xRequestIdResp,
    threadIdResp: resp.threadIdResp,
    responseCode: resp.responseCode,
    responseStatus: resp.responseStatus,
    responseException: resp.responseException,
    statusCode: req.statusCode === 'unset' ? resp.statusCode : req.statusCode,
    statusMessage: req.statusMessage || resp.statusMessage,
    spanId: req.spanId || resp.spanId,
    traceId: req.traceId || resp.traceId,
    parentSpanId: req.parentSpanId || resp.parentSpanId,
    warnings: [...req.warnings, ...resp.warnings],
  };
}

/**
 * Joins halves. Input must be in canonical order (start time first); output keeps that order
 * (a joined span takes the request's place). Pure: input spans are not mutated.
 */
export function mergeHalves(spans: readonly SpanRecord[]): { spans: SpanRecord[]; merged: number } {
  const pending = new Map<string, number[]>();
  const joined = new Map<number, SpanRecord>();
  const dropped = new Set<number>();
  spans.forEach((s, i) => {
    if (isRequestOnly(s)) {
      const k = flowKey(s);
      const q = pending.get(k);
      if (q) q.push(i);
      else pending.set(k, [i]);
      return;
    }
    if (!isResponseOnly(s)) return;
    const q = pending.get(flowKey(s));
    if (!q) return;
    const at = q.findIndex((ri) => {
      const r = spans[ri] as SpanRecord;
      if (r.protocol && s.protocol && r.protocol !== s.protocol) return false;
      if (r.requestId !== null && s.requestId !== null && r.requestId !== s.requestId) return false;
      return s.endTimeUnixNano >= r.startTimeUnixNano;
    });
    if (at < 0) return;
    const [ri] = q.splice(at, 1) as [number];
    joined.set(ri, joinHalves(spans[ri] as SpanRecord, s));
    dropped.add(i);
  });
  const out: SpanRecord[] = [];
  spans.forEach((s, i) => {
    if (dropped.has(i)) return;
    out.push(joined.get(i) ?? s);
  });
  return { spans: out, merged: dropped.size };
}
