/**
 * @module Jaeger's internal `GET /api/traces/{id}` body (the UI model) → APP spans.
 *
 * Envelope `{data: [Trace], errors}`; Trace `{traceID, spans, processes}`; times in µs; tags
 * are typed KVs. The OTel span kind and status travel as the tags `span.kind`,
 * `otel.status_code`, `otel.status_description` and `error` (Jaeger's OTLP translation), so
 * they are read back from there. The parent is the first CHILD_OF reference (else the first
 * reference) within the same trace, or the legacy `parentSpanID` field. Remaining tags go
 * through the shared semantic-convention mapping.
 */
import { emptySpan, normalizeHexId, observationPointForKind } from '../../model/index.js';
import type { AttributeValue, SpanKind } from '../../model/index.js';
import { ConvertCollector, timeProblem } from '../convert-result.js';
import { applySemanticConventions } from '../semconv.js';
import { asArray, asObject, readBigInt, readString, setOwn } from '../wire-values.js';
import { WEFT_SOURCE_KEY } from '../otlp/index.js';
import { finishApiSpans, isPlainObject, parseJsonBody, traceApiFailure } from './trace-api-result.js';
import type { TraceApiResult } from './trace-api-result.js';

const NS_PER_US = 1000n;
const KINDS: Record<string, SpanKind> = {
  client: 'client',
  server: 'server',
  producer: 'producer',
  consumer: 'consumer',
  internal: 'internal',
};

/** A Jaeger KV value as an attribute value; int64 beyond 2^53 stays a decimal string. */
function kvValue(kv: Record<string, unknown>): AttributeValue {
  const v = kv.value;
  switch (kv.type) {
    case 'bool':
      return v === true || v === 'true';
    case 'int64': {
      const b = readBigInt(v);
      if (b === null) return String(v);
      const n = Number(b);
      return Number.isSafeInteger(n) ? n : b.toString();
    }
    case 'float64':
      return typeof v === 'number' ? v : Number(v);
    default:
      return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v);
  }
}

function kvsToRecord(kvs: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const raw of asArray(kvs)) {
    const kv = asObject(raw);
    const key = readString(kv.key);
    if (key !== '') setOwn(out, key, kvValue(kv));
  }
  return out;
}

/** A reference into another trace (a link, in OTel terms) is not a parent; prefer CHILD_OF. */
function parentOf(span: Record<string, unknown>, traceId: string): string {
  const refs = asArray(span.references).map(asObject);
  const same = refs.filter((r) => normalizeHexId(readString(r.traceID), 32) === traceId);
  const ref = same.find((r) => r.refType === 'CHILD_OF') ?? same[0];
  const raw = ref ? readString(ref.spanID) : readString(span.parentSpanID);
  return raw === '' ? '' : normalizeHexId(raw, 16);
}

/** Converts one UI-model Trace object (an element of `data[]`). */
function convertTrace(trace: Record<string, unknown>, c: ConvertCollector): void {
  const processes = asObject(trace.processes);
  for (const raw of asArray(trace.spans)) {
    if (!isPlainObject(raw)) {
      c.reject('span is not an object');
      continue;
    }
    const rawId = readString(raw.spanID);
    const label = `span ${JSON.stringify(rawId.slice(0, 40))}`;
    const traceId = normalizeHexId(readString(raw.traceID) || readString(trace.traceID), 32);
    const spanId = normalizeHexId(rawId, 16);
    if (traceId === '') {
      c.reject(`${label}: traceID is not 16 or 32 hex characters`);
      continue;
    }
    if (spanId === '') {
      c.reject(`${label}: spanID is not 16 hex characters`);
      continue;
    }
    const startUs = readBigInt(raw.startTime);
    const durUs = readBigInt(raw.duration) ?? 0n;
    const start = startUs === null ? 0n : startUs * NS_PER_US;
    const end = start + durUs * NS_PER_US;
    const bad = timeProblem(start, end);
    if (bad !== null) {
      c.reject(`${label}: ${bad}`);
      continue;
    }
    const tags = kvsToRecord(raw.tags);
    const kindTag = tags['span.kind'];
    const kind: SpanKind = (typeof kindTag === 'string' ? KINDS[kindTag.toLowerCase()] : undefined) ?? 'internal';
    const span = emptySpan({ source: 'app', origin: 'apm-api', observationPoint: observationPointForKind(kind) });
    span.traceId = traceId;
    span.spanId = spanId;
    span.parentSpanId = parentOf(raw, traceId);
    span.kind = kind;
    span.name = readString(raw.operationName);
    span.startTimeUnixNano = start;
    span.endTimeUnixNano = end;

    const statusTag = tags['otel.status_code'];
    if (statusTag === 'ERROR' || tags.error === true || tags.error === 'true') span.statusCode = 'error';
    else if (statusTag === 'OK') span.statusCode = 'ok';
    const desc = tags['otel.status_description'];
    if (typeof desc === 'string') span.statusMessage = desc;
    // An echo of Weft's own export: weft.* tags mark it; the converter caller skips it.
    if (tags[WEFT_SOURCE_KEY] !== undefined) span.source = 'sys';
    for (const k of ['span.kind', 'otel.status_code', 'otel.status_description', 'error']) delete tags[k];

    const proc = asObject(processes[readString(raw.processID)] ?? raw.process);
    span.service = readString(proc.serviceName);
    const resource = kvsToRecord(proc.tags);
    delete resource['service.name'];
    span.resource = resource;
    const pid = resource['process.pid'];

    for (const l of asArray(raw.logs)) {
      const lo = asObject(l);
      const t = readBigInt(lo.timestamp);
      const fields = kvsToRecord(lo.fields);
      const name = fields.event;
      if (typeof name === 'string') delete fields.event;
      span.events.push({ timeUnixNano: t === null ? 0n : t * NS_PER_US, name: typeof name === 'string' ? name : 'log', attributes: fields });
    }
    applySemanticConventions(span, tags);
    if (typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0) span.processId = pid;
    for (const w of asArray(raw.warnings)) if (typeof w === 'string') span.warnings.push(`jaeger: ${w}`);
    c.keep(span);
  }
}

/**
 * Jaeger `GET /api/traces/{id}` body → APP spans. Also accepts a bare Trace object (what some
 * tools save), since its shape is unambiguous.
 */
export function convertJaegerTrace(body: unknown): TraceApiResult {
  if (!isPlainObject(body)) return traceApiFailure('Jaeger body is not a JSON object');
  const c = new ConvertCollector();
  if (Array.isArray(body.spans)) {
    convertTrace(body, c);
  } else {
    const errors = asArray(body.errors).map(asObject);
    if (body.data === null || body.data === undefined) {
      // Jaeger answers "trace not found" as an envelope with errors and no data.
      if (errors.length > 0 && !errors.some((e) => e.code === 404)) {
        return traceApiFailure(`Jaeger error: ${readString(errors[0]?.msg) || JSON.stringify(errors[0]).slice(0, 200)}`);
      }
      return finishApiSpans(c.result(), () => false);
    }
    if (!Array.isArray(body.data)) return traceApiFailure('Jaeger body "data" is not an array');
    for (const t of body.data) {
      if (isPlainObject(t)) convertTrace(t, c);
      else c.reject('trace in "data" is not an object');
    }
  }
  return finishApiSpans(c.result(), (s) => s.source !== 'app');
}

export function parseJaegerTraceBody(text: string | Uint8Array): TraceApiResult {
  const p = parseJsonBody(text);
  return p.ok ? convertJaegerTrace(p.value) : traceApiFailure(p.error);
}
