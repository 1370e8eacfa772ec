/**
 * @module SkyWalking GraphQL `queryTrace` response → APP spans, through the ingest helper's
 * segment converter.
 *
 * The query API returns flat spans (`segmentId`, `spanId`, `parentSpanId`, `refs`,
 * `serviceCode`, …). They are regrouped into SegmentObjects (the reporting shape) and passed to
 * `convertSkyWalkingSegments`, so ids (`{segmentId}-{spanId}`, parents from refs), the trace id
 * derivation (`skywalkingTraceIdToHex`) and the tag mapping are the same as for ingested
 * segments — a span fetched from the OAP and the same span reported by its agent are one span.
 */
import { convertSkyWalkingSegments } from '../skywalking/index.js';
import { asArray, asObject, readString } from '../wire-values.js';
import { finishApiSpans, isPlainObject, parseJsonBody, traceApiFailure } from './trace-api-result.js';
import type { TraceApiResult } from './trace-api-result.js';

/** The fields deepflow and the SkyWalking UI ask for (wire-apis.md §3.3). */
export const SKYWALKING_QUERY_TRACE = `query queryTrace($traceId: ID!) {
  trace: queryTrace(traceId: $traceId) {
    spans {
      traceId segmentId spanId parentSpanId
      refs { traceId parentSegmentId parentSpanId type }
      serviceCode serviceInstanceName startTime endTime endpointName
      type peer component isError layer
      tags { key value }
      logs { time data { key value } }
    }
  }
}`;

const REF_TYPES: Record<string, string> = { CROSS_PROCESS: 'CrossProcess', CROSS_THREAD: 'CrossThread' };

function toSegments(spans: unknown[]): unknown[] {
  const segments = new Map<string, { traceId: string; traceSegmentId: string; service: string; serviceInstance: string; spans: unknown[] }>();
  for (const raw of spans) {
    const s = asObject(raw);
    const segmentId = readString(s.segmentId);
    let seg = segments.get(segmentId);
    if (!seg) {
      seg = { traceId: readString(s.traceId), traceSegmentId: segmentId, service: readString(s.serviceCode), serviceInstance: readString(s.serviceInstanceName), spans: [] };
      segments.set(segmentId, seg);
    }
    const tags = asArray(s.tags).slice();
    const component = readString(s.component);
    if (component !== '') tags.push({ key: 'sw.component', value: component });
    seg.spans.push({
      spanId: s.spanId,
      parentSpanId: s.parentSpanId,
      startTime: s.startTime,
      endTime: s.endTime,
      operationName: s.endpointName,
      peer: s.peer,
      spanType: s.type,
      spanLayer: s.layer,
      isError: s.isError,
      tags,
      logs: s.logs,
      refs: asArray(s.refs).map((r) => {
        const ro = asObject(r);
        return {
          refType: REF_TYPES[readString(ro.type)] ?? 'CrossProcess',
          traceId: ro.traceId,
          parentTraceSegmentId: ro.parentSegmentId,
          parentSpanId: ro.parentSpanId,
        };
      }),
    });
  }
  return [...segments.values()];
}

/** `{data: {trace: {spans: [...]}}}` or `{errors: [...]}` → APP spans. */
export function convertSkyWalkingQueryTrace(body: unknown): TraceApiResult {
  if (!isPlainObject(body)) return traceApiFailure('SkyWalking GraphQL body is not a JSON object');
  const errors = asArray(body.errors);
  const data = asObject(body.data);
  if (errors.length > 0 && !isPlainObject(data.trace)) {
    return traceApiFailure(`SkyWalking GraphQL error: ${readString(asObject(errors[0]).message) || JSON.stringify(errors[0]).slice(0, 200)}`);
  }
  if (!('data' in body)) return traceApiFailure('SkyWalking GraphQL body has no "data"');
  if (data.trace === null || data.trace === undefined) return finishApiSpans({ spans: [], rejected: 0, errors: [] }, () => false);
  const spans = asObject(data.trace).spans;
  if (!Array.isArray(spans)) return traceApiFailure('SkyWalking GraphQL body has no data.trace.spans array');
  return finishApiSpans(convertSkyWalkingSegments(toSegments(spans)), () => false);
}

export function parseSkyWalkingQueryTraceBody(text: string | Uint8Array): TraceApiResult {
  const p = parseJsonBody(text);
  return p.ok ? convertSkyWalkingQueryTrace(p.value) : traceApiFailure(p.error);
}
