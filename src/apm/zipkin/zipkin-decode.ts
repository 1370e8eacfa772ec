/**
 * @module Zipkin v2 JSON spans → SpanRecords.
 *
 * Ids are hex (64-bit trace ids are left-padded to 128 bits, as Zipkin does), times are
 * microseconds, tags are renamed where Zipkin's names differ from OTel's (`http.path`,
 * `error`, Envoy's `guid:x-request-id`) and then take the shared semantic-convention mapping.
 */
import { createHash } from 'node:crypto';
import { TracingError, emptySpan, normalizeHexId, observationPointForKind } from '../../model/index.js';
import type { AttributeValue, SpanKind, SpanRecord } from '../../model/index.js';
import { ConvertCollector, timeProblem } from '../convert-result.js';
import { parseJsonSteps } from '../json-steps.js';
import { runSteps } from '../steps.js';
import type { ConvertResult } from '../convert-result.js';
import { applySemanticConventions, ipVersionOf } from '../semconv.js';
import { asArray, asObject, readBigInt, readBool, readInt, readString, setOwn } from '../wire-values.js';

const NS_PER_US = 1000n;
const KINDS: Record<string, SpanKind> = { CLIENT: 'client', SERVER: 'server', PRODUCER: 'producer', CONSUMER: 'consumer' };

function malformed(message: string, cause?: unknown): TracingError {
  return new TracingError('TRC_INGEST_MALFORMED', message, { httpStatus: 400, cause });
}

function renameTag(key: string, value: string, out: Record<string, AttributeValue>): void {
  switch (key) {
    case 'http.path':
      setOwn(out, 'url.path', value);
      return;
    case 'http.status_code': {
      const n = Number(value);
      setOwn(out, 'http.response.status_code', Number.isInteger(n) ? n : value);
      return;
    }
    case 'guid:x-request-id':
    case 'x-request-id':
      setOwn(out, 'http.request.header.x-request-id', value);
      return;
    case 'sql.query':
      setOwn(out, 'db.statement', value);
      return;
    default:
      setOwn(out, key, value);
  }
}

/**
 * The span id a shared server half is stored under. B3 lets a server join its caller's span (same
 * id, `shared: true`); stored as is, the two halves collide and both hang under the caller's
 * parent. The id is derived (not random) so a retried batch gives the same id again.
 */
export function sharedServerSpanId(traceId: string, spanId: string): string {
  const id = createHash('sha256').update(`zipkin-shared:${traceId}:${spanId}`).digest('hex').slice(0, 16);
  // An all-zero id is invalid everywhere; astronomically unlikely, but keep the id valid.
  return id === '0000000000000000' ? '0000000000000001' : id;
}

/**
 * Hangs shared server halves under their client halves: the server half gets its own derived id
 * and the shared id as parent. Spans of the same batch that name the shared id as parent and come
 * from the server's own service were started inside the server half (B3 gives them the joined
 * id), so they move under it. A child in a later batch cannot be told apart from a sibling of
 * the server half and stays under the client half, one level up but in the trace.
 */
function splitSharedSpans(spans: SpanRecord[]): void {
  const moved = new Map<string, { newId: string; service: string }>();
  for (const s of spans) {
    if (s.attributes['zipkin.shared'] !== true || (s.kind !== 'server' && s.kind !== 'consumer')) continue;
    const newId = sharedServerSpanId(s.traceId, s.spanId);
    moved.set(`${s.traceId}/${s.spanId}`, { newId, service: s.service });
    s.attributes['zipkin.span_id'] = s.spanId;
    s.parentSpanId = s.spanId;
    s.spanId = newId;
  }
  if (moved.size === 0) return;
  for (const s of spans) {
    if (s.parentSpanId === '' || s.attributes['zipkin.shared'] === true) continue;
    const m = moved.get(`${s.traceId}/${s.parentSpanId}`);
    if (m && m.service === s.service) s.parentSpanId = m.newId;
  }
}

/** Converts parsed Zipkin v2 spans. */
export function convertZipkinSpans(spans: readonly unknown[]): ConvertResult {
  const c = new ConvertCollector();
  for (const raw of spans) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      c.reject('span is not an object');
      continue;
    }
    const z = raw as Record<string, unknown>;
    const rawId = readString(z.id);
    const label = `span ${JSON.stringify(rawId.slice(0, 40))}`;
    const traceId = normalizeHexId(readString(z.traceId), 32);
    const spanId = normalizeHexId(rawId, 16);
    const rawParent = readString(z.parentId);
    const parentSpanId = rawParent === '' ? '' : normalizeHexId(rawParent, 16);
    if (traceId === '') {
      c.reject(`${label}: traceId is not 16 or 32 hex characters`);
      continue;
    }
    if (spanId === '') {
      c.reject(`${label}: id is not 16 hex characters`);
      continue;
    }
    if (rawParent !== '' && parentSpanId === '') {
      c.reject(`${label}: parentId is not 16 hex characters`);
      continue;
    }
    const ts = readBigInt(z.timestamp);
    const dur = readBigInt(z.duration) ?? 0n;
    const start = ts === null ? 0n : ts * NS_PER_US;
    const end = start + (dur < 0n ? -1n : dur) * NS_PER_US;
    const bad = timeProblem(start, dur < 0n ? start - 1n : end);
    if (bad !== null) {
      c.reject(`${label}: ${bad}`);
      continue;
    }
    const kind = KINDS[readString(z.kind)] ?? 'internal';
    const span = emptySpan({ source: 'app', origin: 'zipkin', observationPoint: observationPointForKind(kind) });
    span.traceId = traceId;
    span.spanId = spanId;
    span.parentSpanId = parentSpanId;
    span.kind = kind;
    span.name = readString(z.name);
    span.startTimeUnixNano = start;
    span.endTimeUnixNano = end;

    const local = asObject(z.localEndpoint);
    const remote = asObject(z.remoteEndpoint);
    span.service = readString(local.serviceName);
    const attrs: Record<string, AttributeValue> = {};
    const tags = asObject(z.tags);
    let errorTag: string | null = null;
    for (const [k, v] of Object.entries(tags)) {
      const value = typeof v === 'string' ? v : JSON.stringify(v);
      if (k === 'error') errorTag = value;
      else renameTag(k, value, attrs);
    }
    if (errorTag !== null) {
      span.statusCode = 'error';
      span.statusMessage = errorTag === 'true' ? '' : errorTag;
    }
    const remoteService = readString(remote.serviceName);
    if (remoteService !== '') attrs['peer.service'] = remoteService;
    if (readBool(z.shared)) attrs['zipkin.shared'] = true;
    if (readBool(z.debug)) attrs['zipkin.debug'] = true;
    applySemanticConventions(span, attrs);

    const localIp = readString(local.ipv4) || readString(local.ipv6);
    const remoteIp = readString(remote.ipv4) || readString(remote.ipv6);
    const localPort = readInt(local.port) ?? 0;
    const remotePort = readInt(remote.port) ?? 0;
    const serverSide = kind === 'server' || kind === 'consumer';
    if (serverSide) {
      if (localIp !== '') span.serverIp = localIp;
      if (localPort !== 0) span.serverPort = localPort;
      if (remoteIp !== '') span.clientIp = remoteIp;
      if (remotePort !== 0) span.clientPort = remotePort;
    } else {
      if (localIp !== '') span.clientIp = localIp;
      if (localPort !== 0) span.clientPort = localPort;
      if (remoteIp !== '') span.serverIp = remoteIp;
      if (remotePort !== 0) span.serverPort = remotePort;
    }
    span.ipVersion = ipVersionOf(span.serverIp) || ipVersionOf(span.clientIp);
    if (span.requestDomain === '' && remoteService !== '' && !serverSide) span.requestDomain = remoteService;
    for (const a of asArray(z.annotations)) {
      const ao = asObject(a);
      const t = readBigInt(ao.timestamp);
      span.events.push({ timeUnixNano: t === null ? 0n : t * NS_PER_US, name: readString(ao.value), attributes: {} });
    }
    c.keep(span);
  }
  splitSharedSpans(c.spans);
  return c.result();
}

/** Parses a Zipkin v2 JSON body (an array of spans). Throws TRC_INGEST_MALFORMED on bad JSON. */
export function decodeZipkinJson(body: string | Uint8Array): ConvertResult {
  return runSteps(decodeZipkinJsonSteps(body));
}

/**
 * decodeZipkinJson in steps: the parse (json-steps.ts) in steps, the conversion in one (it pairs
 * shared client and server halves across the whole batch).
 */
export function* decodeZipkinJsonSteps(body: string | Uint8Array): Generator<void, ConvertResult, undefined> {
  let parsed: unknown;
  try {
    parsed = yield* parseJsonSteps(typeof body === 'string' ? Buffer.from(body) : body);
  } catch (err) {
    throw malformed(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  if (!Array.isArray(parsed)) throw malformed('Zipkin v2 expects a JSON array of spans');
  return convertZipkinSpans(parsed);
}
